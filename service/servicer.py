"""TaggerServicer: validate each request, score it with the model in service, build the reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.config import Settings
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.rollout import ModelSlot
from service.scoring import DeadlineExceeded, ScoringPool, tag_batch
from service.tagging import Options, Tags, document_tags
from service.validation import InvalidRequest, check_batch, check_document

# Every domain error and the status it becomes; tests check that the map is complete.
STATUS_CODES: dict[type[Exception], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
}


_DEFAULT_OPTIONS = Options()


class TaggerServicer(pb_grpc.TaggerServiceServicer):  # type: ignore[misc]
    """The tagger.v1.TaggerService RPCs."""

    def __init__(self, models: ModelSlot, settings: Settings, pool: ScoringPool | None = None) -> None:
        self._models = models
        self._settings = settings
        self._pool = pool

    async def TagParagraphs(
        self, request: pb.TagParagraphsRequest, context: grpc.aio.ServicerContext
    ) -> pb.TagParagraphsResponse:
        model = self._models.current
        texts = [paragraph.text for paragraph in request.paragraphs]
        try:
            options = _options(request.options if request.HasField("options") else None)
            check_batch(texts, options, self._settings)
            tags = await tag_batch(model, texts, options, _deadline(context), self._pool)
        except tuple(STATUS_CODES) as error:
            await _abort(context, error)
        ids = [paragraph.id or str(i) for i, paragraph in enumerate(request.paragraphs)]
        return pb.TagParagraphsResponse(results=_results(ids, tags), model_version=model.version)

    async def StreamTagParagraphs(
        self, requests: AsyncIterator[pb.StreamTagParagraphsRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamTagParagraphsResponse]:
        index = 0
        async for request in requests:
            model = self._models.current
            text = request.paragraph.text
            try:
                options = _options(request.options if request.HasField("options") else None)
                check_batch([text], options, self._settings)
                tags = await tag_batch(model, [text], options, None)
            except InvalidRequest as error:
                yield pb.StreamTagParagraphsResponse(error=_status(error), model_version=model.version)
            else:
                (result,) = _results([request.paragraph.id or str(index)], tags)
                yield pb.StreamTagParagraphsResponse(result=result, model_version=model.version)
            index += 1

    async def TagDocument(
        self, request: pb.TagDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.TagDocumentResponse:
        model = self._models.current
        try:
            options = _options(request.options if request.HasField("options") else None)
            paragraphs = check_document(request.text, options, self._settings)
            tags = await tag_batch(model, paragraphs, options, _deadline(context), self._pool)
        except tuple(STATUS_CODES) as error:
            await _abort(context, error)
        document = document_tags(model, tags)
        return pb.TagDocumentResponse(
            paragraphs=_results([str(i) for i in range(len(tags))], tags),
            document_labels=document.labels,
            document_scores=_scores(document),
            model_version=model.version,
        )

    async def GetModel(self, request: pb.GetModelRequest, context: grpc.aio.ServicerContext) -> pb.GetModelResponse:
        model, settings = self._models.current, self._settings
        return pb.GetModelResponse(
            model_version=model.version,
            labels=model.labels,
            thresholds=dict(zip(model.labels, model.thresholds, strict=True)),
            created=str(model.card.get("created", "")),
            data_sha256=str((model.card.get("data") or {}).get("sha256", "")),
            metrics=model.metrics(),
            limits=pb.Limits(
                max_text_chars=settings.max_text_chars,
                max_paragraphs=settings.max_paragraphs,
                max_document_chars=settings.max_document_chars,
                max_explain_terms=settings.max_explain_terms,
            ),
        )


def _options(options: pb.TagOptions | None) -> Options:
    if options is None:
        return _DEFAULT_OPTIONS
    threshold = options.threshold if options.HasField("threshold") else None
    return Options(threshold=threshold, top_k=options.top_k, explain_terms=options.explain_terms)


def _deadline(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else asyncio.get_running_loop().time() + remaining


def _results(ids: Sequence[str], tags: Sequence[Tags]) -> list[pb.ParagraphTags]:
    return [pb.ParagraphTags(id=i, labels=t.labels, scores=_scores(t)) for i, t in zip(ids, tags, strict=True)]


def _scores(tags: Tags) -> list[pb.LabelScore]:
    scores = [
        pb.LabelScore(label=s.label, score=s.score, threshold=s.threshold, assigned=s.assigned) for s in tags.scores
    ]
    for message, s in zip(scores, tags.scores, strict=True):
        if s.evidence:
            message.evidence.extend(pb.TermWeight(term=term, weight=weight) for term, weight in s.evidence)
    return scores


def _status(error: Exception) -> status_pb2.Status:
    code = STATUS_CODES[type(error)]
    status = status_pb2.Status(code=code.value[0], message=str(error))
    if isinstance(error, InvalidRequest):
        detail = any_pb2.Any()
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in error.violations
                ]
            )
        )
        status.details.append(detail)
    assert status.code != code_pb2.OK
    return status


async def _abort(context: grpc.aio.ServicerContext, error: Exception) -> None:
    status = rpc_status.to_status(_status(error))
    await context.abort(status.code, status.details, status.trailing_metadata)
