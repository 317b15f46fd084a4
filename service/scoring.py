"""Where a batch is scored: small ones inline on the event loop, large ones in worker processes on the other
cores, in chunks, with the call's deadline checked between chunks."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from service.artifact import ArtifactError
from service.model import Model, load_model
from service.tagging import Options, Tags, tag_texts

_LOGGER = logging.getLogger(__name__)
# Paragraphs per chunk: inline, the loop is yielded between chunks so that health checks and other calls are
# not held up; in workers, a chunk is one task. Batches up to _INLINE paragraphs are scored inline: handing
# them to a process costs more than scoring them.
_CHUNK = 64
_INLINE = 8

# The worker process's model and key, set by the pool's initializer.
_worker_model: Model | None = None
_worker_key = ""


class DeadlineExceeded(Exception):
    """The call's deadline passed before its batch was scored; the rest of the batch is not worked on."""


class ScoringPool:
    """Worker processes that each load and verify the model themselves (forkserver: nothing of gRPC is
    inherited) and tag chunks of large batches. A worker that holds another version than the call's reloads."""

    def __init__(self, workers: int, model_path: Path, key: str) -> None:
        context = multiprocessing.get_context("forkserver")
        self._executor = ProcessPoolExecutor(workers, context, initializer=_load, initargs=(model_path, key))
        self._workers = workers
        self._warm: list[Future[bool]] = []

    def start(self) -> None:
        """Start the workers (each loads the model); the pool is `ready` once they all have."""
        self._warm = [self._executor.submit(_ready) for _ in range(self._workers)]

    @property
    def ready(self) -> bool:
        """True once every worker has loaded the model; until then (or if they cannot) batches are scored inline."""
        if self._warm and all(future.done() and not future.exception() for future in self._warm):
            self._workers, self._warm = 0, []
        return self._workers == 0

    def submit(self, model: Model, texts: Sequence[str], options: Options) -> Future[list[Tags]]:
        """Tag `texts` in a worker with the model of version `model.version`."""
        return self._executor.submit(_tag, model.version, list(texts), options)

    def shutdown(self) -> None:
        """Stop the workers once their current tasks are done."""
        self._executor.shutdown(wait=True, cancel_futures=True)


async def tag_batch(
    model: Model, texts: Sequence[str], options: Options, deadline: float | None, pool: ScoringPool | None = None
) -> list[Tags]:
    """Tag `texts` with `model`; `deadline` is in loop.time() terms. Raises DeadlineExceeded."""
    if len(texts) <= _INLINE:
        return tag_texts(model, texts, options)
    chunks = [texts[start : start + _CHUNK] for start in range(0, len(texts), _CHUNK)]
    if pool is not None and pool.ready:
        return await _in_workers(pool, model, chunks, options, deadline)
    loop = asyncio.get_running_loop()
    tags: list[Tags] = []
    for done, chunk in enumerate(chunks):
        if deadline is not None and loop.time() > deadline:
            raise DeadlineExceeded(f"deadline exceeded after {done * _CHUNK} of {len(texts)} paragraphs")
        tags.extend(tag_texts(model, chunk, options))
        await asyncio.sleep(0)
    return tags


async def _in_workers(
    pool: ScoringPool, model: Model, chunks: list[Sequence[str]], options: Options, deadline: float | None
) -> list[Tags]:
    futures = [asyncio.wrap_future(pool.submit(model, chunk, options)) for chunk in chunks]
    remaining = None if deadline is None else max(deadline - asyncio.get_running_loop().time(), 0.0)
    try:
        results = await asyncio.wait_for(asyncio.gather(*futures), remaining)
    except TimeoutError:
        raise DeadlineExceeded(f"deadline exceeded while scoring {len(chunks)} chunks in workers") from None
    except ArtifactError as error:
        _LOGGER.warning("a worker could not load model %s (%s); scoring inline", model.version, error)
        return [tags for chunk in chunks for tags in tag_texts(model, chunk, options)]
    finally:
        for future in futures:
            future.cancel()
    return [tags for chunk_tags in results for tags in chunk_tags]


def _load(model_path: Path, key: str) -> None:
    global _worker_model, _worker_key
    _worker_model, _worker_key = load_model(model_path, key), key


def _ready() -> bool:
    return _worker_model is not None


def _tag(version: str, texts: list[str], options: Options) -> list[Tags]:
    global _worker_model  # noqa: PLW0603
    assert _worker_model is not None
    if _worker_model.version != version:
        _worker_model = load_model(_worker_model.path, _worker_key)
        if _worker_model.version != version:
            raise ArtifactError(f"worker loaded {_worker_model.version}, the call needs {version}")
    return tag_texts(_worker_model, texts, options)
