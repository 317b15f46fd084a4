"""TaggerServicer: validate each request, score it with the model in service, build the reply."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import grpc

from service.api import converters
from service.api.encoder import ParagraphsEncoder, encoder_of
from service.api.status import to_grpc_status, to_status
from service.config import Settings
from service.domain.errors import InvalidRequest, Overloaded, TaggerError
from service.domain.tagging import document_tags, with_document_context
from service.domain.validation import check_batch, check_document
from service.execution.dispatch import chunk_tags, tag_batch
from service.execution.pool import ScoringPool
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.model.loader import Model
from service.model.slot import ModelSlot
from service.observability.calls import Call, CallRecorder, begin


class TaggerServicer(pb_grpc.TaggerServiceServicer):  # type: ignore[misc]
    """The tagger.v1.TaggerService RPCs. Each call reads the model in service once and keeps it to the end.

    The in-flight cap is counted here, not by grpc.aio's `maximum_concurrent_rpcs`, whose bookkeeping (a task per
    call) cost as much as validating the request (make bench); health checks are not counted, so probes answer a
    busy server."""

    def __init__(
        self, models: ModelSlot, settings: Settings, pool: ScoringPool | None = None, calls: CallRecorder | None = None
    ) -> None:
        self._models = models
        self._limits = settings.limits
        self._pool = pool
        self._calls = calls or CallRecorder()
        # Every reply (errors too) names the replica that answered, so clients can see the spread and a roll.
        self._replica = (("tagger-replica", settings.replica),)
        self._max_in_flight = settings.max_concurrent
        self._in_flight = 0
        self._encoder = (models.current, encoder_of(models.current))

    async def TagParagraphs(self, request: pb.TagParagraphsRequest, context: grpc.aio.ServicerContext) -> bytes:
        """The TagParagraphsResponse's wire bytes (service.api.encoder), registered without a serializer."""
        context.set_trailing_metadata(self._replica)
        model = self._models.current
        ids, texts = converters.paragraphs_from(request.paragraphs)
        call = begin("TagParagraphs", len(texts), model.version)
        if self._in_flight >= self._max_in_flight:
            await self._refuse(context, call)
        self._in_flight += 1
        try:
            options = converters.options_from(request.options if request.HasField("options") else None)
            check_batch(texts, options, self._limits)
            results = self._encoder_of(model)
            chunks = await tag_batch(
                model, ids, texts, options, results.tag, seconds_left=context.time_remaining(), pool=self._pool
            )
        except TaggerError as error:
            await self._abort(context, error, call)
        finally:
            self._in_flight -= 1
        labels = (label for chunk in chunks for paragraph in chunk.labels for label in paragraph)
        self._calls.finished(call, "OK", labels)  # read only when metrics are served
        return results.reply(chunks)

    async def StreamTagParagraphs(
        self, requests: AsyncIterator[pb.StreamTagParagraphsRequest], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.StreamTagParagraphsResponse]:
        """One answer per message, in order; the stream holds one place in the in-flight cap while it is open."""
        context.set_trailing_metadata(self._replica)
        if self._in_flight >= self._max_in_flight:
            await self._refuse(context, begin("StreamTagParagraphs", 0, self._models.current.version))
        self._in_flight += 1
        try:
            index = 0
            async for request in requests:
                yield self._stream_answer(request, str(index))
                index += 1
        finally:
            self._in_flight -= 1

    async def TagDocument(
        self, request: pb.TagDocumentRequest, context: grpc.aio.ServicerContext
    ) -> pb.TagDocumentResponse:
        context.set_trailing_metadata(self._replica)
        model = self._models.current
        call = begin("TagDocument", 0, model.version)
        if self._in_flight >= self._max_in_flight:
            await self._refuse(context, call)
        self._in_flight += 1
        try:
            options = converters.options_from(request.options if request.HasField("options") else None)
            paragraphs = check_document(request.text, options, self._limits, request.context_weight)
            ids = [str(i) for i in range(len(paragraphs))]
            chunks = await tag_batch(
                model, ids, paragraphs, options, chunk_tags, seconds_left=context.time_remaining(), pool=self._pool
            )
        except TaggerError as error:
            await self._abort(context, error, call)
        finally:
            self._in_flight -= 1
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

    def _stream_answer(self, request: pb.StreamTagParagraphsRequest, default_id: str) -> pb.StreamTagParagraphsResponse:
        """A stream message's answer: its tags, or the error that message alone gets (the stream goes on)."""
        model = self._models.current
        text, paragraph_id = request.paragraph.text, request.paragraph.id or default_id
        call = begin("StreamTagParagraphs", 1, model.version)
        try:
            options = converters.options_from(request.options if request.HasField("options") else None)
            check_batch([text], options, self._limits)
        except InvalidRequest as error:
            self._calls.finished(call, "INVALID_ARGUMENT", detail=str(error))
            return pb.StreamTagParagraphsResponse(error=to_status(error), model_version=model.version)
        (tags,) = model.tag([text], options)  # one paragraph: scored inline, as tag_batch would
        self._calls.finished(call, "OK", tags.labels)
        answer = pb.StreamTagParagraphsResponse(model_version=model.version)
        converters.fill_tags(answer.result, paragraph_id, tags)
        return answer

    def _encoder_of(self, model: Model) -> ParagraphsEncoder:
        """The encoder of `model`, kept for the model in service."""
        held, encoder = self._encoder
        if held is not model:
            encoder = encoder_of(model)
            self._encoder = (model, encoder)
        return encoder

    async def _refuse(self, context: grpc.aio.ServicerContext, call: Call) -> None:
        """Abort with RESOURCE_EXHAUSTED: max_concurrent calls are in flight."""
        limit = f"{self._in_flight} calls in flight, at the limit of {self._max_in_flight} (max_concurrent)"
        await self._abort(context, Overloaded(limit), call)

    async def _abort(self, context: grpc.aio.ServicerContext, error: TaggerError, call: Call) -> None:
        status = to_grpc_status(error)
        self._calls.finished(call, status.code.name, detail=str(error))
        await context.abort(status.code, status.details, (*status.trailing_metadata, *self._replica))
