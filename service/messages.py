"""Conversions between tagger.v1 messages and the domain's options, tags and errors."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import any_pb2
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.gen import tagger_service_pb2 as pb
from service.tagging import Options, Tags
from service.validation import InvalidRequest

_DEFAULT_OPTIONS = Options()


def options(message: pb.TagOptions | None) -> Options:
    """The request's options; an absent TagOptions means the defaults."""
    if message is None:
        return _DEFAULT_OPTIONS
    threshold = message.threshold if message.HasField("threshold") else None
    return Options(threshold=threshold, top_k=message.top_k, explain_terms=message.explain_terms)


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
    for s in tags.scores:
        score = scores.add(label=s.label, score=s.score, threshold=s.threshold, assigned=s.assigned)
        for term, weight in s.evidence:
            score.evidence.add(term=term, weight=weight)


def status(error: Exception, code: grpc.StatusCode) -> status_pb2.Status:
    """The google.rpc.Status of a domain error; an InvalidRequest carries a BadRequest naming each field."""
    message = status_pb2.Status(code=code.value[0], message=str(error))
    if isinstance(error, InvalidRequest):
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ]
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=violations))
        message.details.append(detail)
    return message


def grpc_status(error: Exception, code: grpc.StatusCode) -> grpc.Status:
    """The same as a grpc.Status whose trailing metadata carries the details."""
    return rpc_status.to_status(status(error, code))
