"""The error hierarchy of the service: every error a call can end with derives from TaggerError, and the api maps
each class to one gRPC status code (service.api.status)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

# Violations spelled out in an error: the message and the BadRequest detail travel in response headers, which
# gRPC clients cap (8 KiB soft, 16 KiB hard by default), so a batch of 1,000 empty paragraphs names the first few.
MAX_REPORTED = 20
_MAX_IN_MESSAGE = 5


class TaggerError(Exception):
    """The base of every error the service raises on purpose."""


@dataclasses.dataclass(frozen=True)
class Violation:
    """One invalid field: its path in the request (`paragraphs[1].text`) and what is wrong with it."""

    field: str
    description: str


class InvalidRequest(TaggerError):
    """The request breaks one or more limits; `violations` names each field (the first MAX_REPORTED of them)."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        more = len(violations) - MAX_REPORTED
        self.violations = tuple(violations[:MAX_REPORTED]) + (
            (Violation(violations[MAX_REPORTED].field, f"and {more} more violation(s)"),) if more > 0 else ()
        )
        message = "; ".join(f"{v.field}: {v.description}" for v in violations[:_MAX_IN_MESSAGE])
        if len(violations) > _MAX_IN_MESSAGE:
            message += f"; and {len(violations) - _MAX_IN_MESSAGE} more violation(s)"
        super().__init__(message)


class DeadlineExceeded(TaggerError):
    """The call's deadline passed before its batch was scored; the rest of the batch is not worked on."""


class Overloaded(TaggerError):
    """The server has as many calls in flight as it takes (max_concurrent); retry later or on another replica."""


class ModelError(TaggerError):
    """A model is missing, altered, unsigned or incompatible; the message says which file and why."""


class ModelVersionMismatch(ModelError):
    """A worker process holds another model version than the call needs; the call's chunk is scored inline."""
