"""Fuzzing the real server over a real channel: arbitrary Unicode, ids, batch shapes, documents and options get OK
or INVALID_ARGUMENT (never UNKNOWN or INTERNAL), every OK answer keeps the invariants the proto documents, and the
server is still SERVING afterwards. TAGGER_FUZZ_EXAMPLES sets the examples per property (`make fuzz`: 10,000)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from service.cli.channel import SERVICE_CONFIG
from service.domain.document import split_paragraphs
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from tests.corpus import DEFENCE, ECONOMIC, MIXED, NONE, POLITICAL
from tests.harness import ServerThread, health_status

T = TypeVar("T")

# Hypothesis warns when it prints a 200,000-character document; that is the size limit under test, not a problem.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

FUZZ = settings(
    max_examples=int(os.environ.get("TAGGER_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# A call still unanswered after this long is a failure of its own, not a deadline the server should honour.
TIMEOUT = 120.0
INVALID_ARGUMENT = grpc.StatusCode.INVALID_ARGUMENT.value[0]

# Every code point a protobuf string can hold: all but the surrogates, so NUL and control characters too.
CHARACTERS = st.characters(exclude_categories=["Cs"])
SENTENCES = DEFENCE + ECONOMIC + POLITICAL + NONE + tuple(text for text, _ in MIXED)
# Bidi marks and overrides, BOM, zero-width characters, NUL, DEL and the replacement character.
ODD = tuple("\u200f\u202e\u200e\u202c\u2066\u2069\ufeff\u200b\u200d\x00\x7f\ufffd")
EMOJI = ("\U0001f600", "\U0001f680\U0001f525", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f1ec\U0001f1e7")
# Mixed scripts, and letters whose case mapping changes their length.
WORDS = ("army", "Parliament", "парламент", "البرلمان", "議会", "संसद", "ΑΘΗΝΑ", "שלום", "Straße", "İSTANBUL", "ǅ", "ﬁ")
# What Python counts as whitespace (and line breaks, for documents): ASCII, C0 separators, NEL, NBSP, wide spaces.
WHITESPACE = ("\r\n", *" \t\n\r\x0b\x0c\x1c\x1e\x85\xa0\u2000\u2028\u3000")
HTML = (
    "<p>",
    "</p>",
    "<br>",
    "<br/>",
    "<div class='a'>",
    "</div>",
    "<h1>",
    "<li>",
    "<table><tr>",
    "<script>var army = 1;</script>",
    "<style>p { color: red }</style>",
    "<!-- army -->",
    "<!--",
    "-->",
    "<template>",
    "<head>",
    "<",
    ">",
    "<<>>",
    "<p",
    "&amp;",
    "&lt;p&gt;",
    "&nbsp;",
    "&#0;",
    "&#xD800;",
    "&#x110000;",
    "&#99999999999;",
    "&#" + "1" * 5_000 + ";",
    "&#x" + "f" * 5_000 + ";",
    "&notanentity;",
    "&",
    "&#",
)


def weighted(*choices: tuple[int, st.SearchStrategy[T]]) -> st.SearchStrategy[T]:
    """One of the strategies, each `weight` times as likely as a strategy of weight 1 (shrinking towards the first)."""
    return st.sampled_from([strategy for weight, strategy in choices for _ in range(weight)]).flatmap(lambda s: s)


def repeat_to(unit: str, length: int) -> str:
    """`unit` repeated and cut to `length` code points."""
    return (unit * (length // len(unit) + 1))[:length]


# Pieces a text is made of: arbitrary text, and the kinds of input a tokenizer or a length check trips on, among
# them single tokens up to 25,000 code points (over max_text_chars from 20,001) and long runs of whitespace.
PIECES = weighted(
    (3, st.text(CHARACTERS, max_size=40)),
    (3, st.sampled_from(SENTENCES)),
    (3, st.sampled_from(ODD + EMOJI + WORDS)),
    (3, st.text(st.characters(categories=("Mn", "Mc", "Me")), min_size=1, max_size=30)),
    (1, st.builds(repeat_to, st.text(CHARACTERS, min_size=1, max_size=3), st.integers(1, 25_000))),
    (1, st.builds(repeat_to, st.sampled_from(WORDS), st.integers(19_990, 20_010))),
    (1, st.builds(repeat_to, st.sampled_from(WHITESPACE), st.integers(1, 25_000))),
)
TEXTS = weighted((1, st.text(CHARACTERS)), (4, st.lists(PIECES, min_size=1, max_size=6).map("".join)))
# Short texts for long batches, mostly valid so that a long batch is sometimes valid as a whole; and bad ones.
SHORT_TEXTS = weighted(
    (4, st.sampled_from(SENTENCES)),
    (4, st.text(CHARACTERS, min_size=1, max_size=30)),
    (4, st.sampled_from(ODD + EMOJI + WORDS)),
    (1, st.sampled_from(("", *WHITESPACE))),
)
BAD_TEXTS = st.one_of(st.sampled_from(("", *WHITESPACE)), st.builds(repeat_to, st.sampled_from(WORDS), st.just(20_001)))
IDS = st.one_of(st.just(""), st.text(CHARACTERS, max_size=30))


def paragraph(text: st.SearchStrategy[str]) -> st.SearchStrategy[pb.Paragraph]:
    return st.builds(pb.Paragraph, id=IDS, text=text)


def cycled(base: list[pb.Paragraph], size: int) -> list[pb.Paragraph]:
    """A batch of `size` paragraphs that repeats `base`: a large batch that is quick to draw."""
    return [base[i % len(base)] for i in range(size)]


# Batch shapes: mostly up to 8 paragraphs (scored inline), sometimes a few chunks, rarely 900-1,100 short ones.
BATCHES = weighted(
    (16, st.lists(paragraph(TEXTS), max_size=8)),
    (4, st.lists(paragraph(SHORT_TEXTS), min_size=9, max_size=150)),
    (
        2,
        st.builds(
            cycled,
            st.lists(paragraph(weighted((2, SHORT_TEXTS), (1, BAD_TEXTS))), min_size=1, max_size=4),
            st.integers(900, 1_100),
        ),
    ),
)


def tag_options(threshold: float | None, top_k: int, explain_terms: int) -> pb.TagOptions:
    options = pb.TagOptions(top_k=top_k, explain_terms=explain_terms)
    if threshold is not None:
        options.threshold = threshold
    return options


OPTIONS = st.one_of(
    st.none(),
    st.builds(
        tag_options,
        threshold=st.one_of(
            st.none(),
            st.floats(0, 1),
            st.floats(),
            st.sampled_from([0.0, -0.0, 1.0, 1.0000001, -1e-46, 5e-324, math.nan, math.inf, -math.inf, 1e300]),
        ),
        top_k=st.one_of(st.integers(0, 4), st.integers(0, 2**32 - 1)),
        explain_terms=st.one_of(st.integers(0, 5), st.integers(0, 60), st.integers(0, 2**32 - 1)),
    ),
)


def tag_paragraphs_request(paragraphs: list[pb.Paragraph], options: pb.TagOptions | None) -> pb.TagParagraphsRequest:
    return pb.TagParagraphsRequest(paragraphs=paragraphs, options=options)


def stream_request(paragraph: pb.Paragraph | None, options: pb.TagOptions | None) -> pb.StreamTagParagraphsRequest:
    return pb.StreamTagParagraphsRequest(paragraph=paragraph, options=options)


# Documents: HTML-ish fragments among the pieces, and sometimes a fragment repeated to 150,000-210,000 code points
# (over max_document_chars from 200,001).
FRAGMENTS = st.one_of(PIECES, st.sampled_from(HTML), st.sampled_from(SENTENCES), st.sampled_from(WHITESPACE))
DOCUMENTS = weighted(
    (2, st.text(CHARACTERS)),
    (7, st.lists(FRAGMENTS, max_size=30).map("".join)),
    (
        1,
        st.builds(
            repeat_to,
            st.lists(
                st.one_of(st.sampled_from(SENTENCES), st.sampled_from(HTML), st.just("\n")), min_size=1, max_size=6
            ).map("".join),
            st.integers(150_000, 210_000),
        ),
    ),
)


@pytest.fixture(scope="module")
def fuzz_stub(grpc_server: ServerThread) -> Iterator[Any]:
    """A stub whose channel takes any response message the server may send (a client's default is 4 MB) and
    retries UNAVAILABLE as long-lived clients should (the server recycles connections after
    max_connection_age); its metadata limits stay gRPC's defaults, which every client has."""
    options = [
        ("grpc.max_receive_message_length", 4 * grpc_server.settings.max_message_bytes),
        ("grpc.service_config", SERVICE_CONFIG),
    ]
    with grpc.insecure_channel(grpc_server.address, options=options) as channel:
        yield pb_grpc.TaggerServiceStub(channel)


@pytest.fixture(scope="module")
def model(fuzz_stub: Any) -> pb.GetModelResponse:
    """The model in service: labels, thresholds, version and limits."""
    response: pb.GetModelResponse = fuzz_stub.GetModel(pb.GetModelRequest(), timeout=TIMEOUT)
    return response


@pytest.fixture(autouse=True)
def still_serving(grpc_server: ServerThread) -> Iterator[None]:
    """After each property, the server still answers health checks with SERVING."""
    yield
    assert health_status(grpc_server.address) == health_pb2.HealthCheckResponse.SERVING


def options_valid(options: pb.TagOptions | None, limits: pb.Limits) -> bool:
    """Whether options pass: the threshold (as the float32 the server gets) a number in [0, 1], explain_terms
    within its limit."""
    if options is None:
        return True
    threshold_ok = not options.HasField("threshold") or (
        math.isfinite(options.threshold) and 0 <= options.threshold <= 1
    )
    return threshold_ok and options.explain_terms <= limits.max_explain_terms


def text_valid(text: str, limits: pb.Limits) -> bool:
    return bool(text.strip()) and len(text) <= limits.max_text_chars


def check_bad_request(status: status_pb2.Status) -> None:
    """An INVALID_ARGUMENT status says what is wrong, in its message and in a google.rpc.BadRequest."""
    assert status.code == INVALID_ARGUMENT and status.message
    details = error_details_pb2.BadRequest()
    assert status.details and status.details[0].Unpack(details)
    assert details.field_violations and all(v.field and v.description for v in details.field_violations)


def check_refusal(error: grpc.RpcError, request: Any, max_message_bytes: int) -> bool:
    """A refused call is INVALID_ARGUMENT with details, or RESOURCE_EXHAUSTED for a message over gRPC's limit;
    returns whether it was INVALID_ARGUMENT."""
    code = error.code()
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and request.ByteSize() > max_message_bytes:
        return False
    assert code is grpc.StatusCode.INVALID_ARGUMENT, f"{code}: {error.details()}"
    assert error.details()
    status = rpc_status.from_call(error)
    assert status is not None
    check_bad_request(status)
    return True


def check_evidence(score: pb.LabelScore, explain_terms: int) -> None:
    assert len(score.evidence) <= explain_terms
    weights = [term.weight for term in score.evidence]
    assert all(weight > 0 for weight in weights) and weights == sorted(weights, reverse=True)
    assert all(term.term and term.term == term.term.lower() for term in score.evidence)


def check_tags(tags: pb.ParagraphTags, model: pb.GetModelResponse, options: pb.TagOptions | None) -> None:
    """The invariants of one paragraph's tagging under `options`."""
    top_k = options.top_k if options is not None else 0
    explain_terms = options.explain_terms if options is not None else 0
    override = options.threshold if options is not None and options.HasField("threshold") else None
    assert [s.label for s in tags.scores] == list(model.labels)
    by_label = {s.label: s for s in tags.scores}
    for score in tags.scores:
        assert 0.0 <= score.score <= 1.0
        assert score.threshold == (model.thresholds[score.label] if override is None else override)
        check_evidence(score, explain_terms)
    assert len(set(tags.labels)) == len(tags.labels)
    assert set(tags.labels) == {s.label for s in tags.scores if s.assigned}
    ranked = [by_label[label].score for label in tags.labels]
    assert ranked == sorted(ranked, reverse=True)
    if top_k:
        assert len(tags.labels) <= top_k
    for score in tags.scores:
        if score.assigned:
            assert score.score >= score.threshold
        elif score.score > score.threshold:
            # Over its threshold yet not assigned: only top_k may have cut it, below every assigned label. (A score
            # equal to its threshold may be unassigned: a score just under it can round to it as a float32.)
            assert top_k and len(tags.labels) == top_k
            assert all(score.score <= s for s in ranked)


@FUZZ
@given(request=st.builds(tag_paragraphs_request, BATCHES, OPTIONS))
@example(request=pb.TagParagraphsRequest(paragraphs=[pb.Paragraph()] * 1_000))
@example(
    request=pb.TagParagraphsRequest(
        paragraphs=[pb.Paragraph(text=text) for text in SENTENCES * 20][:1_000],
        options=pb.TagOptions(threshold=0.0, top_k=2, explain_terms=50),
    )
)
def test_tag_paragraphs_answers_ok_or_invalid_argument_with_the_documented_invariants(
    fuzz_stub, grpc_server, model, request
):
    limits = model.limits
    options = request.options if request.HasField("options") else None
    valid = (
        options_valid(options, limits)
        and 1 <= len(request.paragraphs) <= limits.max_paragraphs
        and all(text_valid(p.text, limits) for p in request.paragraphs)
    )
    try:
        response = fuzz_stub.TagParagraphs(request, timeout=TIMEOUT)
    except grpc.RpcError as error:
        if check_refusal(error, request, grpc_server.settings.max_message_bytes):
            assert not valid, f"a valid request was refused: {error.details()}"
        return
    assert valid, "an invalid request was answered"
    assert response.model_version == model.model_version
    assert [r.id for r in response.results] == [p.id or str(i) for i, p in enumerate(request.paragraphs)]
    for result in response.results:
        check_tags(result, model, options)


def expected_paragraphs(text: str, limits: pb.Limits) -> list[str] | None:
    """The paragraphs service.document finds in a document within max_document_chars (none in a longer one), or
    None when it cannot split the text: then only the status code and the invariants are checked."""
    if len(text) > limits.max_document_chars:
        return []
    try:
        return split_paragraphs(text)
    except ValueError:
        return None


@FUZZ
@given(text=DOCUMENTS, options=OPTIONS)
@example(text="<p>army &#" + "1" * 5_000 + ";</p>", options=None)
@example(
    text=repeat_to("<p>" + "</p>\n<p>".join(SENTENCES) + "</p>\n", 200_000), options=pb.TagOptions(explain_terms=50)
)
def test_tag_document_answers_ok_or_invalid_argument_with_the_documented_invariants(
    fuzz_stub, grpc_server, model, text, options
):
    limits = model.limits
    request = pb.TagDocumentRequest(text=text, options=options)
    paragraphs = expected_paragraphs(text, limits)
    valid = (
        options_valid(options, limits)
        and bool(paragraphs)
        and all(len(p) <= limits.max_text_chars for p in paragraphs or ())
    )
    try:
        response = fuzz_stub.TagDocument(request, timeout=TIMEOUT)
    except grpc.RpcError as error:
        if check_refusal(error, request, grpc_server.settings.max_message_bytes):
            assert not valid, f"a valid document was refused: {error.details()}"
        return
    assert valid or paragraphs is None, "an invalid document was answered"
    assert response.model_version == model.model_version
    assert response.paragraphs
    assert [p.id for p in response.paragraphs] == [str(i) for i in range(len(response.paragraphs))]
    assert paragraphs is None or len(response.paragraphs) == len(paragraphs)
    for result in response.paragraphs:
        check_tags(result, model, options)
    assigned = {label for p in response.paragraphs for label in p.labels}
    assert [s.label for s in response.document_scores] == list(model.labels)
    for i, score in enumerate(response.document_scores):
        assert score.score == max(p.scores[i].score for p in response.paragraphs)
        assert score.assigned == (score.label in assigned)
        check_evidence(score, options.explain_terms if options is not None else 0)
    by_label = {s.label: s.score for s in response.document_scores}
    assert set(response.document_labels) == assigned and len(response.document_labels) == len(assigned)
    ranked = [by_label[label] for label in response.document_labels]
    assert ranked == sorted(ranked, reverse=True)


def stream_messages_valid(requests: Sequence[pb.StreamTagParagraphsRequest], limits: pb.Limits) -> list[bool]:
    return [
        options_valid(r.options if r.HasField("options") else None, limits) and text_valid(r.paragraph.text, limits)
        for r in requests
    ]


@FUZZ
@given(
    requests=st.lists(
        st.builds(stream_request, st.one_of(paragraph(TEXTS), paragraph(SHORT_TEXTS), st.none()), OPTIONS),
        max_size=20,
    )
)
@example(requests=[])
@example(
    requests=[
        stream_request(pb.Paragraph(id=str(i % 3), text=text), pb.TagOptions(explain_terms=3 * i))
        for i, text in enumerate(["", *SENTENCES[:19]])
    ]
)
def test_stream_answers_each_message_in_order_with_a_result_or_an_invalid_argument_error(
    fuzz_stub, grpc_server, model, requests
):
    try:
        responses = list(fuzz_stub.StreamTagParagraphs(iter(requests), timeout=TIMEOUT))
    except grpc.RpcError as error:
        too_big = any(r.ByteSize() > grpc_server.settings.max_message_bytes for r in requests)
        assert too_big and error.code() is grpc.StatusCode.RESOURCE_EXHAUSTED, f"{error.code()}: {error.details()}"
        return
    assert len(responses) == len(requests)
    for i, (request, response, valid) in enumerate(
        zip(requests, responses, stream_messages_valid(requests, model.limits), strict=True)
    ):
        assert response.model_version == model.model_version
        if valid:
            assert response.HasField("result") and not response.HasField("error")
            assert response.result.id == (request.paragraph.id or str(i))
            check_tags(response.result, model, request.options if request.HasField("options") else None)
        else:
            assert response.HasField("error") and not response.HasField("result")
            check_bad_request(response.error)
