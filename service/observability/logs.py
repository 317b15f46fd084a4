"""Logging set-up: plain lines, or one JSON object per line (TAGGER_LOG_FORMAT=json)."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

# Fields a call's log record may carry (logger.info(..., extra={...})); never the paragraphs' text.
_EXTRA = ("rpc", "code", "duration_ms", "paragraphs", "model_version")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the call fields that are present."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({name: getattr(record, name) for name in _EXTRA if hasattr(record, name)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send logs to stderr as text lines or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
