"""Conversions between tagger.v1 messages and the domain: paragraphs and options in, tags and the model's description
out. TagParagraphs' results are written by service.api.encoder, which falls back to results_reply here."""

from __future__ import annotations

from collections.abc import Sequence

from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

from service.domain.limits import Limits
from service.domain.tags import Options, Tags
from service.gen import tagger_service_pb2 as pb
from service.model.loader import Model

_DEFAULT_OPTIONS = Options()


def options_from(message: pb.TagOptions | None) -> Options:
    """The request's options; an absent TagOptions means the defaults."""
    if message is None:
        return _DEFAULT_OPTIONS
    threshold = message.threshold if message.HasField("threshold") else None
    return Options(threshold=threshold, top_k=message.top_k, explain_terms=message.explain_terms)


def paragraphs_from(paragraphs: RepeatedCompositeFieldContainer[pb.Paragraph]) -> tuple[list[str], list[str]]:
    """The paragraphs' ids (a missing id is the paragraph's index) and texts. Iterating the field itself goes by
    index until IndexError, so a lone paragraph (most requests) is read by index, more by a slice, which is a list."""
    if len(paragraphs) == 1:
        paragraph = paragraphs[0]
        return [paragraph.id or "0"], [paragraph.text]
    ids, texts = [], []
    for i, paragraph in enumerate(paragraphs[:]):
        ids.append(paragraph.id or str(i))
        texts.append(paragraph.text)
    return ids, texts


def results_reply(ids: Sequence[str], tags: Sequence[Tags]) -> pb.TagParagraphsResponse:
    """A TagParagraphsResponse holding only the `results` of these paragraphs."""
    response = pb.TagParagraphsResponse()
    add_results(response.results, ids, tags)
    return response


def add_results(
    results: RepeatedCompositeFieldContainer[pb.ParagraphTags], ids: Sequence[str], tags: Sequence[Tags]
) -> None:
    """Append one ParagraphTags per paragraph to the repeated field `results`. Messages are built in place:
    passing finished sub-messages to a constructor would copy each of them."""
    for paragraph_id, paragraph_tags in zip(ids, tags, strict=True):
        fill_tags(results.add(), paragraph_id, paragraph_tags)


def fill_tags(message: pb.ParagraphTags, paragraph_id: str, tags: Tags) -> None:
    """Set one paragraph's id, assigned labels and every label's score."""
    message.id = paragraph_id
    message.labels.extend(tags.labels)
    add_scores(message.scores, tags)


def add_scores(scores: RepeatedCompositeFieldContainer[pb.LabelScore], tags: Tags) -> None:
    """Append every label's LabelScore, in the model's order, with evidence when there is any."""
    add = scores.add
    for s in tags.scores:
        score = add(label=s.label, score=s.score, threshold=s.threshold, assigned=s.assigned)
        if s.evidence:
            add_evidence = score.evidence.add
            for term, weight in s.evidence:
                add_evidence(term=term, weight=weight)


def model_reply(model: Model, limits: Limits) -> pb.GetModelResponse:
    """GetModel's answer: the model's identity, labels, thresholds, creation, data digest, metrics and limits."""
    card = model.card
    return pb.GetModelResponse(
        model_version=model.version,
        labels=model.labels,
        thresholds=dict(zip(model.labels, model.thresholds, strict=True)),
        created=card.created,
        data_sha256=str(card.data.get("sha256", "")),
        metrics=card.flat_metrics(),
        limits=pb.Limits(
            max_text_chars=limits.max_text_chars,
            max_paragraphs=limits.max_paragraphs,
            max_document_chars=limits.max_document_chars,
            max_explain_terms=limits.max_explain_terms,
        ),
    )
