"""Domain errors as gRPC statuses: the one map from error class to status code, and the rich google.rpc.Status
(with a BadRequest naming each field) that an error becomes."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from service.domain.errors import (
    DeadlineExceeded,
    InvalidRequest,
    ModelError,
    ModelVersionMismatch,
    Overloaded,
    TaggerError,
)

# Every domain error and the status it becomes; a test walks the TaggerError hierarchy so none is forgotten. A
# model error reaching a call is the server's fault and retryable on another replica or after a reload.
STATUS_CODES: dict[type[TaggerError], grpc.StatusCode] = {
    InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    Overloaded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ModelError: grpc.StatusCode.UNAVAILABLE,
    ModelVersionMismatch: grpc.StatusCode.UNAVAILABLE,
}


def to_status(error: TaggerError) -> status_pb2.Status:
    """The google.rpc.Status of a domain error; an InvalidRequest carries a BadRequest naming each field."""
    message = status_pb2.Status(code=STATUS_CODES[type(error)].value[0], message=str(error))
    if isinstance(error, InvalidRequest):
        violations = [
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations
        ]
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.BadRequest(field_violations=violations))
        message.details.append(detail)
    return message


def to_grpc_status(error: TaggerError) -> grpc.Status:
    """The same as a grpc.Status whose trailing metadata carries the details."""
    return rpc_status.to_status(to_status(error))
