"""Where a batch is scored: small ones inline on the event loop, large ones in worker processes on the other
cores, in chunks, with the call's deadline checked between chunks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from concurrent.futures import Future
from typing import TypeVar

from service.artifact import ArtifactError
from service.model import Model
from service.tagging import Options, Tags, tag_texts
from service.workers import ScoringPool

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
# Paragraphs per chunk: inline, the loop is yielded between chunks so that health checks and other calls are
# not held up; in workers, a chunk is one task. Batches up to INLINE paragraphs are scored inline: handing
# them to a process costs more than scoring them.
_CHUNK = 64
INLINE = 8


class DeadlineExceeded(Exception):
    """The call's deadline passed before its batch was scored; the rest of the batch is not worked on."""


def use_workers(pool: ScoringPool | None, paragraphs: int) -> bool:
    """Whether a batch of this size goes to the worker processes."""
    return pool is not None and paragraphs > INLINE and pool.ready


async def tag_batch(
    model: Model, texts: Sequence[str], options: Options, deadline: float | None, pool: ScoringPool | None = None
) -> list[Tags]:
    """Tag `texts` with `model`; `deadline` is in loop.time() terms. Raises DeadlineExceeded."""
    if len(texts) <= INLINE:
        return tag_texts(model, texts, options)
    chunks = [texts[start : start + _CHUNK] for start in range(0, len(texts), _CHUNK)]
    if pool is not None and use_workers(pool, len(texts)):
        try:
            results = await _gather([pool.tag(model, chunk, options) for chunk in chunks], deadline)
            return [tags for chunk_tags in results for tags in chunk_tags]
        except ArtifactError as error:
            _LOGGER.warning("a worker could not load model %s (%s); scoring inline", model.version, error)
    loop = asyncio.get_running_loop()
    tags: list[Tags] = []
    for done, chunk in enumerate(chunks):
        if deadline is not None and loop.time() > deadline:
            raise DeadlineExceeded(f"deadline exceeded after {done * _CHUNK} of {len(texts)} paragraphs")
        tags.extend(tag_texts(model, chunk, options))
        await asyncio.sleep(0)
    return tags


async def encode_batch(
    pool: ScoringPool,
    model: Model,
    ids: Sequence[str],
    texts: Sequence[str],
    options: Options,
    *,
    deadline: float | None,
) -> bytes:
    """The serialised `results` of a TagParagraphsResponse for `texts`, encoded by the workers chunk by chunk."""
    spans = range(0, len(texts), _CHUNK)
    futures = [pool.encode(model, ids[i : i + _CHUNK], texts[i : i + _CHUNK], options) for i in spans]
    chunks: list[bytes] = await _gather(futures, deadline)
    return b"".join(chunks)


async def _gather(futures: list[Future[T]], deadline: float | None) -> list[T]:
    waiting: list[Awaitable[T]] = [asyncio.wrap_future(future) for future in futures]
    remaining = None if deadline is None else max(deadline - asyncio.get_running_loop().time(), 0.0)
    try:
        return list(await asyncio.wait_for(asyncio.gather(*waiting), remaining))
    except TimeoutError:
        raise DeadlineExceeded(f"deadline exceeded while {len(futures)} chunks were scored in workers") from None
    finally:
        for future in futures:
            future.cancel()
