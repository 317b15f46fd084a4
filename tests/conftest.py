"""Fixtures: a throwaway model trained on the tiny corpus, and the real server on port 0 in this process."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest

from service.config import Settings
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.server import start
from tests.corpus import rows
from training.__main__ import train
from training.card import copy_model as copy_files

T = TypeVar("T")
# A client retry policy for UNAVAILABLE, as long-lived clients of a server that recycles connections should have.
RETRY_UNAVAILABLE = json.dumps(
    {
        "methodConfig": [
            {
                "name": [{"service": "tagger.v1.TaggerService"}],
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


def write_corpus(path: Path, data: list[tuple[str, tuple[str, ...]]] | None = None) -> Path:
    """Write `data` (default: the tiny corpus) as JSONL."""
    lines = [json.dumps({"text": text, "labels": list(labels)}) for text, labels in data or rows()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained with the real training code on the tiny corpus, in a temporary folder."""
    folder = tmp_path_factory.mktemp("model")
    train([write_corpus(folder / "corpus.jsonl")], folder / "tagger.joblib", None, jobs=1)
    return folder / "tagger.joblib"


def copy_model(bundle_path: Path, folder: Path) -> Path:
    """A copy of the model at `bundle_path` (all its files) in `folder`, under the same name."""
    copy_files(bundle_path, folder / bundle_path.name)
    return folder / bundle_path.name


class ServerThread:
    """The real aio server (service.server.start) on its own event loop in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.running = self.call(start(settings))
        self.models, self.health, self.port = self.running.models, self.running.health, self.running.port

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, grace: float | None = None) -> None:
        self.call(self.running.stop(grace))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def start_server(model_path: Path, **overrides: Any) -> ServerThread:
    """Start a server for `model_path`; `overrides` replace Settings fields."""
    settings = dataclasses.replace(Settings(address="127.0.0.1:0", model_path=model_path, workers=1), **overrides)
    return ServerThread(settings)


@pytest.fixture(scope="session")
def grpc_server(bundle_path: Path) -> Iterator[ServerThread]:
    """One server with default limits, shared by the tests that only call it."""
    server = start_server(bundle_path)
    yield server
    server.stop()


@pytest.fixture
def stub(grpc_server: ServerThread) -> Iterator[pb_grpc.TaggerServiceStub]:
    """A TaggerService stub over a real channel to the shared server."""
    with grpc.insecure_channel(grpc_server.address) as channel:
        yield pb_grpc.TaggerServiceStub(channel)
