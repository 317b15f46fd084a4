"""Settings: read once from TAGGER_* environment variables and command-line flags into a frozen object."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

_PREFIX = "TAGGER_"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable or flag."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the server needs to know; flags override TAGGER_<FIELD> variables, which override defaults."""

    address: str = "127.0.0.1:50051"
    model_path: Path = Path("models/tagger.joblib")
    workers: int = dataclasses.field(default_factory=lambda: os.cpu_count() or 1)
    max_text_chars: int = 20_000
    max_paragraphs: int = 1_000
    max_document_chars: int = 200_000
    max_explain_terms: int = 50
    max_concurrent: int = 256
    grace_seconds: float = 10.0
    reload_seconds: float = 5.0
    keepalive_seconds: float = 60.0
    max_connection_age_seconds: float = 1800.0
    model_key: str = dataclasses.field(default="", repr=False)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    log_format: str = "text"
    metrics_address: str = ""

    def __post_init__(self) -> None:
        for name in ("workers", "max_text_chars", "max_paragraphs", "max_document_chars", "max_concurrent"):
            if getattr(self, name) < 1:
                raise SettingsError(f"{_PREFIX}{name.upper()} must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.max_explain_terms <= 50:
            raise SettingsError(f"{_PREFIX}MAX_EXPLAIN_TERMS must be in [0, 50], got {self.max_explain_terms}")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"{_PREFIX}LOG_FORMAT must be 'text' or 'json', got {self.log_format!r}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError(f"{_PREFIX}TLS_CERT and {_PREFIX}TLS_KEY must be given together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise SettingsError(f"{_PREFIX}TLS_CLIENT_CA needs {_PREFIX}TLS_CERT and {_PREFIX}TLS_KEY")

    @property
    def max_message_bytes(self) -> int:
        """The gRPC message size that fits the largest valid request (4 bytes per code point, plus framing)."""
        batch = self.max_paragraphs * (4 * self.max_text_chars + 64)
        return max(batch, 4 * self.max_document_chars) + 4096

    @classmethod
    def from_env(cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default os.environ) and then `argv` flags such as `--max-paragraphs`."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        parser = argparse.ArgumentParser(prog="python -m service", description="Serve the tagger over gRPC.")
        for field in dataclasses.fields(cls):
            convert = _converter(field.type)
            env_name = _PREFIX + field.name.upper()
            if env_name in environ:
                values[field.name] = _convert(convert, environ[env_name], env_name)
            parser.add_argument(
                "--" + field.name.replace("_", "-"),
                dest=field.name,
                metavar=field.name.upper(),
                help=f"(env {env_name})",
            )
        flags = parser.parse_args(argv if argv is not None else [])
        for field in dataclasses.fields(cls):
            raw = getattr(flags, field.name)
            if raw is not None:
                flag = "--" + field.name.replace("_", "-")
                values[field.name] = _convert(_converter(field.type), raw, flag)
        return cls(**values)


def _converter(annotation: object) -> Callable[[str], Any]:
    text = str(annotation)
    if text.startswith("Path"):
        return lambda raw: Path(raw) if raw else None
    return {"int": int, "float": float}.get(text, str)


def _convert(convert: Callable[[str], Any], raw: str, name: str) -> Any:
    try:
        return convert(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
