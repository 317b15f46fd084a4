"""Fixtures: a throwaway model trained on the tiny corpus, and the real server on port 0 in this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from service.gen import tagger_service_pb2_grpc as pb_grpc
from tests.harness import ServerThread, start_server, write_corpus
from training.__main__ import train


@pytest.fixture(scope="session")
def bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model trained with the real training code on the tiny corpus, in a temporary folder."""
    folder = tmp_path_factory.mktemp("model")
    train([write_corpus(folder / "corpus.jsonl")], folder / "tagger.joblib", None, jobs=1)
    return folder / "tagger.joblib"


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
