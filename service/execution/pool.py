"""Worker processes for large batches. Each worker loads and verifies the model itself, is told to load the new one
when the slot swaps, and scores only chunks of the version it holds; the server's event loop only joins results."""

from __future__ import annotations

import dataclasses
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

from service.domain.errors import ModelVersionMismatch
from service.domain.tags import Options
from service.model.loader import Model, load_model
from service.model.scorer import Implementation

T = TypeVar("T")
# What a chunk becomes: (model, ids, texts, options) -> result, the chunk tagged and put in the form the call
# answers with. It runs in the worker process too, so it must pickle: a module-level function, or a method of an
# object that pickles (service.api.encoder.ParagraphsEncoder pickles as its model's identity).
Finish = Callable[[Model, Sequence[str], Sequence[str], Options], T]

# The worker process's model, loaded by the pool's switch().
_worker_model: Model | None = None


@dataclasses.dataclass
class _Worker:
    """One worker process (an executor of one), the version it was last told to hold and its load in progress."""

    executor: ProcessPoolExecutor
    wanted: str
    loaded: Future[str]


class ScoringPool:
    """`workers` processes started with forkserver (nothing of gRPC is inherited). Every worker has an executor of
    its own, so that each can be told to load a model and chunks go only to workers holding the call's version."""

    def __init__(self, workers: int, model_path: Path, key: str, implementation: Implementation = "auto") -> None:
        context = multiprocessing.get_context("forkserver")
        self._source = (model_path, key, implementation)
        self._workers = [_Worker(ProcessPoolExecutor(1, context), "", Future()) for _ in range(workers)]
        self._turn = 0

    def switch(self, model: Model) -> None:
        """Have every worker load the model now at the model path (at start, and whenever the slot swaps); until
        a worker has loaded `model.version`, chunks of that version are not sent to it."""
        for worker in self._workers:
            worker.wanted, worker.loaded = model.version, worker.executor.submit(_reload, *self._source)

    def ready(self, version: str) -> list[int]:
        """The workers that hold `version` and have been told nothing newer since."""
        return [
            i
            for i, worker in enumerate(self._workers)
            if worker.wanted == version
            and worker.loaded.done()
            and worker.loaded.exception() is None
            and worker.loaded.result() == version
        ]

    def submit(
        self,
        workers: Sequence[int],
        version: str,
        finish: Finish[T],
        *,
        ids: Sequence[str],
        texts: Sequence[str],
        options: Options,
    ) -> Future[T]:
        """Run `finish` on the chunk with model `version` in the next of `workers` (round robin). The
        future raises ModelVersionMismatch if that worker has moved on to another version meanwhile."""
        self._turn += 1
        worker = self._workers[workers[self._turn % len(workers)]]
        return worker.executor.submit(_tag, version, finish, list(ids), list(texts), options)

    def shutdown(self) -> None:
        """Stop the workers once their current tasks are done."""
        for worker in self._workers:
            worker.executor.shutdown(wait=True, cancel_futures=True)


def _reload(model_path: Path, key: str, implementation: Implementation) -> str:
    global _worker_model  # noqa: PLW0603 - the one model a worker process holds
    _worker_model = None  # the old model is freed before the new one is built
    _worker_model = load_model(model_path, key, implementation)
    return _worker_model.version


def _tag(version: str, finish: Finish[T], ids: list[str], texts: list[str], options: Options) -> T:
    if _worker_model is None or _worker_model.version != version:
        held = _worker_model.version if _worker_model else "none"
        raise ModelVersionMismatch(f"the worker holds model {held}, the call needs {version}")
    return finish(_worker_model, ids, texts, options)
