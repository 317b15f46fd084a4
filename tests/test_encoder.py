"""TagParagraphs replies written from score rows: byte for byte what protobuf's SerializeToString writes for the
message built from decide(), for any labels, thresholds, scores, ids and options; and the encoder travels to worker
processes as its model's identity."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.api import converters
from service.api import encoder as encoder_module
from service.api.encoder import ParagraphsEncoder, Results, encoder_of
from service.domain.tagging import decide
from service.domain.tags import Options
from service.model.loader import load_model

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=140)  # past 127 bytes lengths take two
# Scores and thresholds where the wire differs: 0.0 (left out), -0.0 (kept), tiny values that round to 0.0 as
# 32-bit floats, ties and values that only differ beyond 32 bits.
SCORE = st.one_of(
    st.floats(min_value=0.0, max_value=1.0),
    st.sampled_from([0.0, 1e-50, 1e-45, 2.0**-126, 0.5, 0.5 + 1e-12, 1.0]),
)
THRESHOLD = st.one_of(SCORE, st.just(-0.0))
REPLIES = settings(max_examples=400, deadline=None)
# Each encoder in turn: Python's, and the compiled packer (service/model/_records.c) where it was built.
COMPILED = [
    pytest.param(False, id="python"),
    pytest.param(True, id="compiled", marks=pytest.mark.skipif(not encoder_module.COMPILED, reason="not built")),
]


def protobuf_reply(
    labels: list[str], tuned: list[float], version: str, *, ids: list[str], rows: list[list[float]], options: Options
) -> bytes:
    """The same reply built as protobuf messages from decide()'s tags."""
    tags = [decide(labels, tuned, row, options) for row in rows]
    response = converters.results_reply(ids, tags)
    response.model_version = version
    return response.SerializeToString()


@pytest.mark.parametrize("compiled", COMPILED)
@REPLIES
@given(
    labels=st.lists(TEXT.filter(bool), min_size=1, max_size=5, unique=True),
    ids=st.lists(TEXT, min_size=1, max_size=4),
    options=st.builds(Options, threshold=st.none() | THRESHOLD, top_k=st.integers(0, 6)),
    data=st.data(),
)
def test_encoded_reply_is_protobufs_bytes(compiled, labels, ids, options, data):
    version = data.draw(TEXT)
    tuned = data.draw(st.lists(THRESHOLD, min_size=len(labels), max_size=len(labels)))
    row = st.lists(SCORE, min_size=len(labels), max_size=len(labels))
    rows = data.draw(st.lists(row, min_size=len(ids), max_size=len(ids)))
    encoder = ParagraphsEncoder(version, tuple(labels), tuple(tuned), compiled)
    results = encoder.encode(ids, rows, options)  # makes the layouts it lacks
    assert encoder.encode(ids, rows, options) == results  # compiled: now packed in C from them
    if min(map(min, rows)) < 2.0**-126:  # a score that may round to 0.0 is left to the messages
        assert results is None
        return
    assert results is not None
    assert encoder.reply([results]) == protobuf_reply(labels, tuned, version, ids=ids, rows=rows, options=options)
    assert results.labels == [decide(labels, tuned, row, options).labels for row in rows]


@pytest.mark.skipif(not encoder_module.COMPILED, reason="the compiled packer is not built")
def test_the_compiled_packer_writes_what_python_writes_once_it_has_the_layouts():
    from service.model._speedups import pack_records  # noqa: PLC0415 - built where a C compiler is

    python = ParagraphsEncoder("v1", ("a", "b", "c"), (0.5, 0.4, 0.3))
    rows = [[0.9, 0.1, 0.2], [0.6, 0.7, 0.8], [0.5, 0.4, 0.3], [0.1, 0.2, 0.25]]
    ids = ["0", "", "é" * 100, "3"]
    expected = python.encode(ids, rows, Options())
    layouts = python._layouts  # every assignment of these rows, made by the Python encoder
    packed = pack_records(b"\x0a", b"\x0a", ids, rows, (0.5, 0.4, 0.3), 0, layouts)
    assert packed is not None and Results(*packed) == expected
    assert pack_records(b"\x0a", b"\x0a", ids, rows, (0.5, 0.4, 0.3), 0, {}) is None  # no layouts
    assert pack_records(b"\x0a", b"\x0a", ids, [[0.9, 1e-40, 0.2]] * 4, (0.5,) * 3, 0, layouts) is None
    with pytest.raises(ValueError, match="one id per row"):
        pack_records(b"\x0a", b"\x0a", ids[:1], rows, (0.5, 0.4, 0.3), 0, layouts)


def test_chunks_join_into_one_reply():
    encoder = ParagraphsEncoder("v1", ("a", "b"), (0.5, 0.5))
    rows = [[0.9, 0.1], [0.2, 0.7], [0.6, 0.8]]
    chunks = [encoder.encode(["0", "1"], rows[:2], Options()), encoder.encode(["2"], rows[2:], Options())]
    assert all(isinstance(chunk, Results) for chunk in chunks)
    whole = protobuf_reply(["a", "b"], [0.5, 0.5], "v1", ids=["0", "1", "2"], rows=rows, options=Options())
    assert encoder.reply(chunks) == whole  # type: ignore[arg-type]


def test_many_request_thresholds_keep_a_bounded_cache():
    encoder = ParagraphsEncoder("v1", ("a", "b"), (0.5, 0.5))
    for i in range(200):
        options = Options(threshold=i / 200)
        results = encoder.encode(["x"], [[0.3, 0.6]], options)
        assert results is not None
        assert encoder.reply([results]) == protobuf_reply(
            ["a", "b"], [0.5, 0.5], "v1", ids=["x"], rows=[[0.3, 0.6]], options=options
        )
    assert len(encoder._overrides) <= 32


def test_tag_scores_explains_and_falls_back_like_the_messages(bundle_path, implementation):
    model = load_model(bundle_path, implementation=implementation)
    encoder = encoder_of(model)
    texts = ["The army moved tanks to the border.", "Parliament passed the budget and taxes rose.", "Weather."]
    ids = ["a", "", "c"]
    for options in (Options(), Options(top_k=1), Options(threshold=0.0), Options(explain_terms=3)):
        results = encoder.tag(model, ids, texts, options)
        expected = converters.results_reply(ids, model.tag(texts, options))
        expected.model_version = model.version
        assert encoder.reply([results]) == expected.SerializeToString()


def test_an_encoder_unpickles_as_its_models_encoder(bundle_path):
    model = load_model(bundle_path)
    encoder = encoder_of(model)
    copy = pickle.loads(pickle.dumps(encoder.tag))
    assert copy.__self__ is encoder  # in a worker: the one encoder of that model, its layouts kept across chunks
    assert pickle.loads(pickle.dumps(encoder)) is encoder
