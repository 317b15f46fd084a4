"""Worker processes for large batches: each loads and verifies the model itself, then tags chunks of paragraphs
and hands back the encoded results, so the server's event loop only joins bytes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from service import messages
from service.artifact import ArtifactError
from service.gen import tagger_service_pb2 as pb
from service.model import Model, load_model
from service.tagging import Options, Tags, tag_texts

# The worker process's model and key, set by the pool's initializer.
_worker_model: Model | None = None
_worker_key = ""


class ScoringPool:
    """Worker processes started with forkserver (nothing of gRPC is inherited). A worker holding another model
    version than the call's loads the model again, verified, before it scores."""

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

    def tag(self, model: Model, texts: Sequence[str], options: Options) -> Future[list[Tags]]:
        """Tag `texts` in a worker with the model of version `model.version`."""
        return self._executor.submit(_tag, model.version, list(texts), options)

    def encode(self, model: Model, ids: Sequence[str], texts: Sequence[str], options: Options) -> Future[bytes]:
        """Tag `texts` in a worker and return a serialised TagParagraphsResponse holding only their `results`."""
        return self._executor.submit(_encode, model.version, list(ids), list(texts), options)

    def shutdown(self) -> None:
        """Stop the workers once their current tasks are done."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def _load(model_path: Path, key: str) -> None:
    global _worker_model, _worker_key
    _worker_model, _worker_key = load_model(model_path, key), key


def _ready() -> bool:
    return _worker_model is not None


def _model(version: str) -> Model:
    global _worker_model  # noqa: PLW0603
    assert _worker_model is not None
    if _worker_model.version != version:
        _worker_model = load_model(_worker_model.path, _worker_key)
        if _worker_model.version != version:
            raise ArtifactError(f"worker loaded {_worker_model.version}, the call needs {version}")
    return _worker_model


def _tag(version: str, texts: list[str], options: Options) -> list[Tags]:
    return tag_texts(_model(version), texts, options)


def _encode(version: str, ids: list[str], texts: list[str], options: Options) -> bytes:
    tags = _tag(version, texts, options)
    response = pb.TagParagraphsResponse()
    messages.add_results(response.results, ids, tags)
    return bytes(response.SerializeToString())
