"""Conversions between tagger.v1 messages and the domain's options, tags and errors."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.gen import tagger_service_pb2 as pb
from service.tagging import Options, Tags
from service.validation import InvalidRequest

_DEFAULT_OPTIONS = Options()


def options(message: pb.TagOptions | None) -> Options:
    """The request's options; an absent TagOptions means the defaults."""
    if message is None:
        return _DEFAULT_OPTIONS
    threshold = message.threshold if message.HasField("threshold") else None
    return Options(threshold=threshold, top_k=message.top_k, explain_terms=message.explain_terms)


def results(ids: Sequence[str], tags: Sequence[Tags]) -> list[pb.ParagraphTags]:
    """One ParagraphTags per paragraph."""
    return [pb.ParagraphTags(id=i, labels=t.labels, scores=scores(t)) for i, t in zip(ids, tags, strict=True)]


def scores(tags: Tags) -> list[pb.LabelScore]:
    """Every label's LabelScore, in the model's order, with evidence when there is any."""
    messages = [
        pb.LabelScore(label=s.label, score=s.score, threshold=s.threshold, assigned=s.assigned) for s in tags.scores
    ]
    for message, s in zip(messages, tags.scores, strict=True):
        if s.evidence:
            message.evidence.extend(pb.TermWeight(term=term, weight=weight) for term, weight in s.evidence)
    return messages


def status(error: Exception, code: grpc.StatusCode) -> status_pb2.Status:
    """The google.rpc.Status of a domain error; an InvalidRequest carries a BadRequest naming each field."""
    message = status_pb2.Status(code=code.value[0], message=str(error))
    if isinstance(error, InvalidRequest):
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ]
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=violations))
        message.details.append(detail)
    return message


def grpc_status(error: Exception, code: grpc.StatusCode) -> grpc.Status:
    """The same as a grpc.Status whose trailing metadata carries the details."""
    return rpc_status.to_status(status(error, code))
