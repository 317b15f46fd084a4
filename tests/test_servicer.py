"""TaggerService over a real channel to the real server: every RPC, every error, the label semantics."""

from __future__ import annotations

import math

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from service.api.status import STATUS_CODES
from service.domain.errors import TaggerError
from service.gen import tagger_service_pb2 as pb
from tests.corpus import DEFENCE, ECONOMIC, NONE, POLITICAL

ARTICLE = "\n".join(
    [
        "<h1>Ministers agree budget</h1>",
        "<p>" + ECONOMIC[0] + "</p>",
        "",
        "   ",
        POLITICAL[0] + " &amp; more",
        DEFENCE[0],
    ]
)


def paragraphs(*texts: str, ids: tuple[str, ...] = ()) -> list[pb.Paragraph]:
    return [pb.Paragraph(id=ids[i] if i < len(ids) else "", text=t) for i, t in enumerate(texts)]


def field_violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)
    assert status is not None
    details = error_details_pb2.BadRequest()
    assert status.details[0].Unpack(details)
    return [v.field for v in details.field_violations]


def test_get_model_describes_labels_thresholds_metrics_and_limits(stub):
    response = stub.GetModel(pb.GetModelRequest())
    assert list(response.labels) == ["defence", "economic", "political"]
    assert set(response.thresholds) == set(response.labels)
    assert all(0 <= t <= 1 for t in response.thresholds.values())
    assert len(response.model_version) == 16 and response.created.endswith("Z")
    assert len(response.data_sha256) == 64
    assert "cv.micro_f1" in response.metrics and "cv.f1.defence" in response.metrics
    assert response.limits.max_text_chars == 20_000 and response.limits.max_paragraphs == 1_000
    assert response.limits.max_document_chars == 200_000 and response.limits.max_explain_terms == 50


def test_tag_paragraphs_keeps_order_ids_and_labels(stub):
    texts = (DEFENCE[0], ECONOMIC[1], POLITICAL[2], NONE[4])
    response = stub.TagParagraphs(pb.TagParagraphsRequest(paragraphs=paragraphs(*texts, ids=("a", "a", ""))))
    assert [r.id for r in response.results] == ["a", "a", "2", "3"]
    assert [list(r.labels) for r in response.results] == [["defence"], ["economic"], ["political"], []]
    for result in response.results:
        assert [s.label for s in result.scores] == ["defence", "economic", "political"]
        assert [s.label for s in result.scores if s.assigned] == sorted(result.labels)
        for score in result.scores:
            assert score.assigned == (score.score >= score.threshold)
    assert response.model_version == stub.GetModel(pb.GetModelRequest()).model_version


def test_tag_paragraphs_threshold_override_and_top_k(stub):
    request = pb.TagParagraphsRequest(paragraphs=paragraphs(NONE[0]), options=pb.TagOptions(threshold=0.0))
    (result,) = stub.TagParagraphs(request).results
    assert len(result.labels) == 3 and all(s.threshold == 0.0 for s in result.scores)
    scores = [s.score for s in result.scores]
    assert list(result.labels) == [result.scores[i].label for i in sorted(range(3), key=lambda i: -scores[i])]
    request.options.top_k = 1
    (result,) = stub.TagParagraphs(request).results
    assert list(result.labels) == [max(result.scores, key=lambda s: s.score).label]
    request.options.threshold = 1.0
    assert list(stub.TagParagraphs(request).results[0].labels) == []


def test_tag_paragraphs_evidence_terms_come_from_the_text(stub):
    text = DEFENCE[1]
    request = pb.TagParagraphsRequest(paragraphs=paragraphs(text), options=pb.TagOptions(explain_terms=3))
    (result,) = stub.TagParagraphs(request).results
    defence = result.scores[0]
    assert 0 < len(defence.evidence) <= 3
    weights = [e.weight for e in defence.evidence]
    assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
    assert all(e.term in text.lower() for e in defence.evidence)
    plain = stub.TagParagraphs(pb.TagParagraphsRequest(paragraphs=paragraphs(text))).results[0]
    assert all(not s.evidence for s in plain.scores)


def test_tag_document_strips_html_and_takes_the_union_of_labels(stub):
    response = stub.TagDocument(pb.TagDocumentRequest(text=ARTICLE))
    assert [p.id for p in response.paragraphs] == ["0", "1", "2", "3"]
    assert set(response.document_labels) == {label for p in response.paragraphs for label in p.labels}
    assert {"defence", "economic", "political"} <= set(response.document_labels)
    for i, score in enumerate(response.document_scores):
        assert math.isclose(score.score, max(p.scores[i].score for p in response.paragraphs), rel_tol=1e-6)


def test_document_context_leans_each_paragraph_toward_the_length_weighted_document_scores(stub):
    alone = stub.TagDocument(pb.TagDocumentRequest(text=ARTICLE))
    assert stub.TagDocument(pb.TagDocumentRequest(text=ARTICLE, context_weight=0.0)) == alone
    lengths = [len(line) for line in (ECONOMIC[0], POLITICAL[0] + " & more", DEFENCE[0])]
    lengths.insert(0, len("Ministers agree budget"))
    half = stub.TagDocument(pb.TagDocumentRequest(text=ARTICLE, context_weight=0.5))
    for i in range(len(alone.document_scores)):
        document = sum(p.scores[i].score * n for p, n in zip(alone.paragraphs, lengths, strict=True)) / sum(lengths)
        for before, after in zip(alone.paragraphs, half.paragraphs, strict=True):
            assert math.isclose(after.scores[i].score, 0.5 * before.scores[i].score + 0.5 * document, rel_tol=1e-6)
            score = after.scores[i]
            assert (score.label in after.labels) == (score.score >= score.threshold)
    whole = stub.TagDocument(pb.TagDocumentRequest(text=ARTICLE, context_weight=1.0))
    assert len({tuple(p.labels) for p in whole.paragraphs}) == 1  # every paragraph carries the document's topics


@pytest.mark.parametrize("weight", [-0.1, 1.5, math.nan])
def test_a_context_weight_outside_zero_to_one_is_invalid_argument(stub, weight):
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.TagDocument(pb.TagDocumentRequest(text=ARTICLE, context_weight=weight))
    assert excinfo.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field_violations(excinfo.value) == ["context_weight"]


def test_stream_answers_fifty_paragraphs_in_order_and_survives_a_bad_one(stub):
    texts = [(DEFENCE + ECONOMIC + POLITICAL + NONE)[i % 44] + f" #{i}" for i in range(50)]
    texts[7] = "   "
    requests = [pb.StreamTagParagraphsRequest(paragraph=pb.Paragraph(text=t)) for t in texts]
    requests[9].options.threshold = 0.0
    responses = list(stub.StreamTagParagraphs(iter(requests)))
    assert len(responses) == 50
    assert [r.result.id for r in responses if r.HasField("result")] == [str(i) for i in range(50) if i != 7]
    assert responses[7].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "paragraphs[0].text" in responses[7].error.message
    assert len(responses[9].result.labels) == 3


@pytest.mark.parametrize(
    ("request_message", "field", "words"),
    [
        (pb.TagParagraphsRequest(), "paragraphs", "at least one"),
        (pb.TagParagraphsRequest(paragraphs=paragraphs("ok", " \n\t")), "paragraphs[1].text", "empty"),
        (pb.TagParagraphsRequest(paragraphs=paragraphs("x" * 20_001)), "paragraphs[0].text", "20000"),
        (pb.TagParagraphsRequest(paragraphs=paragraphs(*["p"] * 1_001)), "paragraphs", "1000"),
        (
            pb.TagParagraphsRequest(paragraphs=paragraphs("ok"), options=pb.TagOptions(threshold=1.5)),
            "options.threshold",
            "[0, 1]",
        ),
        (
            pb.TagParagraphsRequest(paragraphs=paragraphs("ok"), options=pb.TagOptions(threshold=math.nan)),
            "options.threshold",
            "[0, 1]",
        ),
        (
            pb.TagParagraphsRequest(paragraphs=paragraphs("ok"), options=pb.TagOptions(explain_terms=51)),
            "options.explain_terms",
            "50",
        ),
        (pb.TagDocumentRequest(text="x" * 200_001), "text", "200000"),
        (pb.TagDocumentRequest(text="<p> </p>\n\n"), "text", "no paragraph"),
        (pb.TagDocumentRequest(text="ok\n" + "y" * 20_001), "text", "20000"),
    ],
)
def test_bad_input_is_invalid_argument_naming_the_field(stub, request_message, field, words):
    call = stub.TagDocument if isinstance(request_message, pb.TagDocumentRequest) else stub.TagParagraphs
    with pytest.raises(grpc.RpcError) as excinfo:
        call(request_message)
    assert excinfo.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in excinfo.value.details() and words in excinfo.value.details()
    assert field in field_violations(excinfo.value)


def test_control_characters_and_odd_unicode_are_scored(stub):
    texts = ("\x00\x01 army \u202e tanks \U0001f600", "e\u0301\u0301 " * 50, "\u0627\u0644\u062c\u064a\u0634")
    response = stub.TagParagraphs(pb.TagParagraphsRequest(paragraphs=paragraphs(*texts)))
    assert len(response.results) == 3


def test_message_over_grpc_size_limit_is_resource_exhausted(grpc_server, stub):
    size = grpc_server.settings.max_message_bytes + 1
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.TagDocument(pb.TagDocumentRequest(text="a" * size))
    assert excinfo.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED


def subclasses(base: type) -> set[type]:
    found: set[type] = set()
    subs: list[type] = base.__subclasses__()
    for sub in subs:
        found |= {sub} | subclasses(sub)
    return found


def test_status_map_covers_every_domain_error():
    assert subclasses(TaggerError) and set(STATUS_CODES) == subclasses(TaggerError)
    assert all(code not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL) for code in STATUS_CODES.values())


def test_a_thousand_bad_paragraphs_fit_in_the_error_headers(stub):
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.TagParagraphs(pb.TagParagraphsRequest(paragraphs=[pb.Paragraph()] * 1000))
    assert excinfo.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "and 995 more" in excinfo.value.details()
    violations = field_violations(excinfo.value)
    assert len(violations) == 21 and violations[0] == "paragraphs[0].text"


def test_a_document_with_an_absurd_character_reference_is_tagged(stub):
    response = stub.TagDocument(pb.TagDocumentRequest(text="<p>army &#" + "1" * 5000 + ";</p>"))
    assert len(response.paragraphs) == 1
