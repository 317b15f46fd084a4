"""Fixtures: a throwaway model trained on the tiny corpus, and the real server on port 0 in this process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.model.bundle import compile_pipeline
from service.model.scorer import COMPILED, FastScorer
from tests.harness import ServerThread, start_server, write_corpus
from training.__main__ import train
from training.data import SHIPPED_TEST, SHIPPED_TRAIN, label_matrix, read_examples
from training.estimator import build_pipeline


@pytest.fixture(
    scope="module",
    params=[
        "python",
        pytest.param("compiled", marks=pytest.mark.skipif(not COMPILED, reason="the compiled scorer is not built")),
    ],
)
def implementation(request: pytest.FixtureRequest) -> str:
    """Each scorer implementation in turn (as MarkupSafe's tests run against both of its implementations); the
    compiled one is skipped where it was not built."""
    return str(request.param)


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


@pytest.fixture(scope="module")
def shipped_corpus_fit():
    """A pipeline fitted on the shipped corpus (not the shipped model: its vocabulary is the widest real one at
    hand), every corpus text, and the pipeline's tables."""
    examples = read_examples([SHIPPED_TRAIN, SHIPPED_TEST])
    labels = sorted({label for e in examples for label in e.labels})
    texts = [e.text for e in examples]
    pipeline = build_pipeline(ngram_max=2, min_df=1).fit(texts, label_matrix(examples, labels))
    return pipeline, texts, compile_pipeline(pipeline)


@pytest.fixture(scope="module")
def shipped_corpus_pipeline(shipped_corpus_fit, implementation):
    """The shipped-corpus pipeline, its texts and the fast scorer over its tables, once per implementation."""
    pipeline, texts, tables = shipped_corpus_fit
    fast = FastScorer(tables, implementation)
    assert fast.compiled == (implementation == "compiled")
    return pipeline, texts, fast
