"""Where a batch is scored: the one inline-or-pool decision. Small batches are scored inline on the event loop;
large ones go in chunks to the worker processes that hold the call's model version, and any chunk a worker cannot
score (another version, a lost worker) is scored inline, so a rollout never fails a call. The call's deadline is
checked between chunks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from service.domain.errors import DeadlineExceeded, ModelError
from service.domain.tags import Options, Tags
from service.execution.pool import Finish, ScoringPool
from service.model.loader import Model

_LOGGER = logging.getLogger(__name__)
T = TypeVar("T")
# Paragraphs per chunk: inline, the loop is yielded between chunks so that health checks and other calls are
# not held up; in workers, a chunk is one task. Batches up to INLINE paragraphs are scored inline: handing
# them to a process costs more than scoring them.
CHUNK = 64
INLINE = 8


async def tag_batch(
    model: Model,
    ids: Sequence[str],
    texts: Sequence[str],
    options: Options,
    finish: Finish[T],
    *,
    seconds_left: float | None,
    pool: ScoringPool | None,
) -> list[T]:
    """`finish(model, ids, texts, options)` of each chunk of the batch, in order. `seconds_left` is the call's
    time to its deadline (None: no deadline); raises DeadlineExceeded when it passes."""
    workers = pool.ready(model.version) if pool is not None and len(texts) > INLINE else []
    if not workers and len(texts) <= CHUNK:  # one chunk, scored inline: most calls, so the short way
        if seconds_left is not None and seconds_left <= 0:
            raise DeadlineExceeded(f"deadline exceeded before scoring {len(texts)} paragraphs")
        return [finish(model, ids, texts, options)]
    loop = asyncio.get_running_loop()
    deadline = None if seconds_left is None else loop.time() + seconds_left
    spans = [slice(start, start + CHUNK) for start in range(0, len(texts), CHUNK)]
    results: list[T | None] = [None] * len(spans)
    if pool is not None and workers:
        futures = [
            pool.submit(workers, model.version, finish, ids=ids[s], texts=texts[s], options=options) for s in spans
        ]
        settled = await _settle(futures, deadline)
        for i, outcome in enumerate(settled):
            if not isinstance(outcome, BaseException):
                results[i] = outcome
            elif isinstance(outcome, ModelError | BrokenProcessPool):
                _LOGGER.warning("a worker could not score model %s (%s); scoring inline", model.version, outcome)
            else:
                raise outcome
    for i, span in enumerate(spans):
        if results[i] is not None:
            continue
        if deadline is not None and loop.time() > deadline:
            raise DeadlineExceeded(f"deadline exceeded after {i * CHUNK} of {len(texts)} paragraphs")
        results[i] = finish(model, ids[span], texts[span], options)
        if len(spans) > 1:
            await asyncio.sleep(0)
    return [result for result in results if result is not None]


def chunk_tags(model: Model, ids: Sequence[str], texts: Sequence[str], options: Options) -> list[Tags]:
    """The plain finish: the chunk's tags."""
    return model.tag(texts, options)


async def _settle(futures: list[Future[T]], deadline: float | None) -> list[T | BaseException]:
    """Each future's result or exception; raises DeadlineExceeded (cancelling what has not started) if the
    deadline passes first."""
    waiting = [asyncio.wrap_future(future) for future in futures]
    remaining = None if deadline is None else max(deadline - asyncio.get_running_loop().time(), 0.0)
    try:
        return list(await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), remaining))
    except TimeoutError:
        raise DeadlineExceeded(f"deadline exceeded while {len(futures)} chunks were scored in workers") from None
    finally:
        for future in futures:
            future.cancel()
