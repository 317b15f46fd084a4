"""Accounting for finished calls: a log line for each failure (every call at DEBUG), and the metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # prometheus_client is imported only by a server that serves metrics
    from service.observability.metrics import Metrics

_LOGGER = logging.getLogger("service.calls")
_DEBUG, _WARNING = logging.DEBUG, logging.WARNING
_NEW = tuple.__new__


class Call(NamedTuple):
    """One call being accounted for: its RPC, when it began (time.perf_counter()), its size and model version."""

    rpc: str
    started: float
    paragraphs: int
    version: str


def begin(rpc: str, paragraphs: int, version: str) -> Call:
    """A call of `rpc` starting now. Built by tuple.__new__, as NamedTuple._make does: the generated constructor
    costs a Python frame, and this runs for every call."""
    return _NEW(Call, (rpc, time.perf_counter(), paragraphs, version))


class CallRecorder:
    """Records each call's RPC, status, duration, paragraph count and model version; never the text."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics

    def finished(self, call: Call, code: str, labels: Iterable[str] = (), detail: str = "") -> None:
        """Count `call`, which ended with the gRPC status `code` and assigned `labels` (with repeats)."""
        rpc, started, paragraphs, version = call
        seconds = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.observe(rpc, code, seconds, paragraphs, labels)
        level = _DEBUG if code == "OK" else _WARNING
        if _LOGGER.isEnabledFor(level):
            fields = {
                "rpc": rpc,
                "code": code,
                "duration_ms": round(seconds * 1000, 3),
                "paragraphs": paragraphs,
                "model_version": version,
            }
            _LOGGER.log(
                level,
                "%s %s %.1f ms %d paragraph(s) %s",
                rpc,
                code,
                seconds * 1000,
                paragraphs,
                detail or version,
                extra=fields,
            )
