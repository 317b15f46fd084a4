"""TaggerServicer: validate each request, score it with the model in service, build the reply."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import grpc

from service.api import converters
from service.api.status import to_grpc_status, to_status
from service.config import Settings
from service.domain.errors import InvalidRequest, TaggerError
from service.domain.tagging import document_tags, with_document_context
from service.domain.validation import check_batch, check_document
from service.execution.dispatch import tag_batch
from service.execution.pool import ScoringPool
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.model.slot import ModelSlot
from service.observability.calls import Call, CallRecorder


class TaggerServicer(pb_grpc.TaggerServiceServicer):  # type: ignore[misc]
    """The tagger.v1.TaggerService RPCs. Each call reads the model in service once and keeps it to the end."""

    def __init__(
        self, models: ModelSlot, settings: Settings, pool: ScoringPool | None = None, calls: CallRecorder | None = None
    ) -> None:
        self._models = models
        self._limits = settings.limits
        self._pool = pool
        self._calls = calls or CallRecorder()
        # Every reply (errors too) names the replica that answered, so clients can see the spread and a roll.
        self._replica = (("tagger-replica", settings.replica),)

    async def TagParagraphs(
        self, request: pb.TagParagraphsRequest, context: grpc.aio.ServicerContext
    ) -> pb.TagParagraphsResponse:
        context.set_trailing_metadata(self._replica)
        model = self._models.current
        paragraphs = request.paragraphs
        texts = [paragraph.text for paragraph in paragraphs]
        call = Call("TagParagraphs", time.perf_counter(), len(texts), model.version)
        try:
            options = converters.options_from(request.options if request.HasField("options") else None)
            check_batch(texts, options, self._limits)
            ids = [paragraph.id or str(i) for i, paragraph in enumerate(paragraphs)]
            chunks = await tag_batch(
                model, ids, texts, options, converters.results_reply, deadline=_deadline(context), pool=self._pool
            )
        except TaggerError as error:
            await self._abort(context, error, call)
        response = chunks[0]
        for chunk in chunks[1:]:
            response.MergeFrom(chunk)  # appends its results
        response.model_version = model.version
        self._calls.finished(call, "OK", (label for result in response.results for label in result.labels))
        return response

    async def StreamTagParagraphs(
        self, requests: AsyncIterator[pb.StreamTagParagraphsRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamTagParagraphsResponse]:
        context.set_trailing_metadata(self._replica)
        index = 0
        async for request in requests:
            model = self._models.current
            text, paragraph_id = request.paragraph.text, request.paragraph.id or str(index)
            call = Call("StreamTagParagraphs", time.perf_counter(), 1, model.version)
            try:
                options = converters.options_from(request.options if request.HasField("options") else None)
                check_batch([text], options, self._limits)
                (tags,) = await tag_batch(
                    model, [paragraph_id], [text], options, converters.tags_of, deadline=None, pool=None
                )
            except InvalidRequest as error:
                self._calls.finished(call, "INVALID_ARGUMENT", detail=str(error))
                yield pb.StreamTagParagraphsResponse(error=to_status(error), model_version=model.version)
            else:
                self._calls.finished(call, "OK", tags[0].labels)
                answer = pb.StreamTagParagraphsResponse(model_version=model.version)
                converters.fill_tags(answer.result, paragraph_id, tags[0])
                yield answer
            index += 1

    async def TagDocument(
        self, request: pb.TagDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.TagDocumentResponse:
        context.set_trailing_metadata(self._replica)
        model = self._models.current
        call = Call("TagDocument", time.perf_counter(), 0, model.version)
        try:
            options = converters.options_from(request.options if request.HasField("options") else None)
            paragraphs = check_document(request.text, options, self._limits, request.context_weight)
            ids = [str(i) for i in range(len(paragraphs))]
            chunks = await tag_batch(
                model, ids, paragraphs, options, converters.tags_of, deadline=_deadline(context), pool=self._pool
            )
        except TaggerError as error:
            await self._abort(context, error, call)
        tags = list(itertools.chain.from_iterable(chunks))
        if request.context_weight:
            lengths = [len(paragraph) for paragraph in paragraphs]
            tags = with_document_context(model.labels, tags, lengths, request.context_weight, options)
        document = document_tags(model.labels, tags)
        self._calls.finished(call._replace(paragraphs=len(tags)), "OK", document.labels)
        response = pb.TagDocumentResponse(document_labels=document.labels, model_version=model.version)
        converters.add_results(response.paragraphs, ids, tags)
        converters.add_scores(response.document_scores, document)
        return response

    async def GetModel(self, request: pb.GetModelRequest, context: grpc.aio.ServicerContext) -> pb.GetModelResponse:
        context.set_trailing_metadata(self._replica)
        return converters.model_reply(self._models.current, self._limits)

    async def _abort(self, context: grpc.aio.ServicerContext, error: TaggerError, call: Call) -> None:
        status = to_grpc_status(error)
        self._calls.finished(call, status.code.name, detail=str(error))
        await context.abort(status.code, status.details, (*status.trailing_metadata, *self._replica))


def _deadline(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else asyncio.get_running_loop().time() + remaining
