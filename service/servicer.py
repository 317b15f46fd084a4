"""TaggerServicer: validate each request, score it with the model in service, build the reply."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable

import grpc

from service import messages
from service.calls import Call, CallRecorder
from service.config import Settings
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.rollout import ModelSlot
from service.scoring import DeadlineExceeded, encode_batch, tag_batch, use_workers
from service.tagging import document_tags
from service.validation import InvalidRequest, check_batch, check_document
from service.workers import ScoringPool

# Every domain error and the status it becomes; tests check that the map is complete.
STATUS_CODES: dict[type[Exception], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
}
_ERRORS = tuple(STATUS_CODES)


class TaggerServicer(pb_grpc.TaggerServiceServicer):  # type: ignore[misc]
    """The tagger.v1.TaggerService RPCs. Each call reads the model in service once and keeps it to the end."""

    def __init__(
        self, models: ModelSlot, settings: Settings, pool: ScoringPool | None = None, calls: CallRecorder | None = None
    ) -> None:
        self._models = models
        self._settings = settings
        self._pool = pool
        self._calls = calls or CallRecorder()

    async def TagParagraphs(
        self, request: pb.TagParagraphsRequest, context: grpc.aio.ServicerContext
    ) -> pb.TagParagraphsResponse:
        model = self._models.current
        paragraphs = request.paragraphs
        texts = [paragraph.text for paragraph in paragraphs]
        call = Call("TagParagraphs", time.perf_counter(), len(texts), model.version)
        ids = [paragraph.id or str(i) for i, paragraph in enumerate(paragraphs)]
        try:
            options = messages.options(request.options if request.HasField("options") else None)
            check_batch(texts, options, self._settings)
            if self._pool is not None and use_workers(self._pool, len(texts)):
                encoded = await encode_batch(self._pool, model, ids, texts, options, deadline=_deadline(context))
                response = pb.TagParagraphsResponse.FromString(encoded)
                labels: Iterable[str] = (label for result in response.results for label in result.labels)
            else:
                tags = await tag_batch(model, texts, options, _deadline(context), self._pool)
                response = pb.TagParagraphsResponse()
                messages.add_results(response.results, ids, tags)
                labels = (label for paragraph_tags in tags for label in paragraph_tags.labels)
        except _ERRORS as error:
            await self._abort(context, error, call)
        response.model_version = model.version
        self._calls.finished(call, "OK", labels)
        return response

    async def StreamTagParagraphs(
        self, requests: AsyncIterator[pb.StreamTagParagraphsRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamTagParagraphsResponse]:
        index = 0
        async for request in requests:
            model = self._models.current
            text = request.paragraph.text
            call = Call("StreamTagParagraphs", time.perf_counter(), 1, model.version)
            try:
                options = messages.options(request.options if request.HasField("options") else None)
                check_batch([text], options, self._settings)
                tags = await tag_batch(model, [text], options, None)
            except InvalidRequest as error:
                self._calls.finished(call, "INVALID_ARGUMENT", detail=str(error))
                status = messages.status(error, STATUS_CODES[InvalidRequest])
                yield pb.StreamTagParagraphsResponse(error=status, model_version=model.version)
            else:
                self._calls.finished(call, "OK", tags[0].labels)
                answer = pb.StreamTagParagraphsResponse(model_version=model.version)
                messages.fill_tags(answer.result, request.paragraph.id or str(index), tags[0])
                yield answer
            index += 1

    async def TagDocument(
        self, request: pb.TagDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.TagDocumentResponse:
        model = self._models.current
        call = Call("TagDocument", time.perf_counter(), 0, model.version)
        try:
            options = messages.options(request.options if request.HasField("options") else None)
            paragraphs = check_document(request.text, options, self._settings)
            tags = await tag_batch(model, paragraphs, options, _deadline(context), self._pool)
        except _ERRORS as error:
            await self._abort(context, error, call)
        document = document_tags(model, tags)
        self._calls.finished(call._replace(paragraphs=len(tags)), "OK", document.labels)
        response = pb.TagDocumentResponse(document_labels=document.labels, model_version=model.version)
        messages.add_results(response.paragraphs, [str(i) for i in range(len(tags))], tags)
        messages.add_scores(response.document_scores, document)
        return response

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

    async def _abort(self, context: grpc.aio.ServicerContext, error: Exception, call: Call) -> None:
        status = messages.grpc_status(error, STATUS_CODES[type(error)])
        self._calls.finished(call, status.code.name, detail=str(error))
        await context.abort(status.code, status.details, status.trailing_metadata)


def _deadline(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else asyncio.get_running_loop().time() + remaining
