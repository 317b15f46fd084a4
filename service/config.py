"""Settings: read once from TAGGER_* environment variables and command-line flags into frozen objects.

Each field says what it is where it is defined (`doc` in its metadata); the README's settings table is generated
from these definitions (`python -m service.config`) and a test holds the two equal. Values are parsed by the
field's type; an empty or malformed value is an error that names the variable and what it expects."""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from service.domain.limits import EXPLAIN_TERMS_CAP, Limits
from service.environment import PREFIX, SettingsError, read
from service.model.scorer import COMPILED, COMPILED_MISSING, IMPLEMENTATIONS, Implementation

# `read` and `SettingsError` are service.environment's, and imported from here by every entry point.
__all__ = [
    "PREFIX",
    "ArchiveSettings",
    "ClientSettings",
    "Settings",
    "SettingsError",
    "TrainingSettings",
    "read",
    "setting",
    "settings_table",
]


def setting(default: Any, doc: str, *, factory: Any = None, shown: str = "", secret: bool = False) -> Any:
    """A settings field with its documentation (and a factory for a default computed at start, `shown` as)."""
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"doc": doc, "shown": shown}, repr=not secret)
    return dataclasses.field(default=default, metadata={"doc": doc}, repr=not secret)


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the server needs to know; flags override TAGGER_<FIELD> variables, which override defaults."""

    address: str = setting("127.0.0.1:50051", "host:port to listen on (port 0 picks a free one and logs it)")
    model_path: Path = setting(
        Path("models/tagger.joblib"),
        "the model; its card is the same name with `.json`, its linear tables `.tables.npz`",
    )
    workers: int = setting(
        None,
        "scoring processes for large batches (1: in the server process, faster with the compiled scorer)",
        factory=lambda: 1 if COMPILED else os.cpu_count() or 1,
        shown="1 with the compiled scorer, else the number of CPUs",
    )
    max_text_chars: int = setting(20_000, "longest paragraph, in code points")
    max_paragraphs: int = setting(1_000, "most paragraphs in one `TagParagraphs` call or stream message")
    max_document_chars: int = setting(200_000, "longest `TagDocument` text, in code points")
    max_explain_terms: int = setting(
        EXPLAIN_TERMS_CAP, f"the most explain terms per label (at most {EXPLAIN_TERMS_CAP})"
    )
    max_concurrent: int = setting(256, "calls in flight before new ones get `RESOURCE_EXHAUSTED` at once")
    drain_seconds: float = setting(
        1.0, "after SIGTERM, how long the server answers while NOT_SERVING, so clients and balancers move off"
    )
    grace_seconds: float = setting(10.0, "then how long calls in flight may run before the server stops")
    reload_seconds: float = setting(5.0, "how often the model card is checked for a new model (SIGHUP: at once)")
    keepalive_seconds: float = setting(60.0, "server keepalive ping interval")
    max_connection_age_seconds: float = setting(
        1800.0, "connections are recycled after this, so load balancers can spread long-lived clients"
    )
    model_key: str = setting("", "HMAC key: the server refuses unsigned or wrongly signed models", secret=True)
    tls_cert: Path | None = setting(None, "serve TLS with this certificate (PEM) and `TAGGER_TLS_KEY`")
    tls_key: Path | None = setting(None, "the private key (PEM) of `TAGGER_TLS_CERT`")
    tls_client_ca: Path | None = setting(None, "require client certificates signed by this CA (mutual TLS)")
    log_format: str = setting("text", "`text`, or `json` for one JSON object per line")
    metrics_address: str = setting("", "host:port for Prometheus metrics at `/metrics` (unset: off)")
    scorer: Implementation = setting(
        "auto", "`auto` (the compiled scorer where built, else Python), `compiled` (fail at start if absent), `python`"
    )
    replica: str = setting(
        None,
        "this replica's name, sent in every reply's `tagger-replica` trailer",
        factory=socket.gethostname,
        shown="the host name (a pod's name)",
    )

    def __post_init__(self) -> None:
        at_least_one(self, "workers", "max_text_chars", "max_paragraphs", "max_document_chars", "max_concurrent")
        if not 0 <= self.max_explain_terms <= EXPLAIN_TERMS_CAP:
            raise SettingsError(
                f"{PREFIX}MAX_EXPLAIN_TERMS must be in [0, {EXPLAIN_TERMS_CAP}], got {self.max_explain_terms}"
            )
        if self.scorer not in IMPLEMENTATIONS:
            raise SettingsError(f"{PREFIX}SCORER must be one of {', '.join(IMPLEMENTATIONS)}, got {self.scorer!r}")
        if self.scorer == "compiled" and not COMPILED:
            raise SettingsError(f"{PREFIX}SCORER=compiled, but {COMPILED_MISSING}")
        if self.log_format not in ("text", "json"):
            raise SettingsError(f"{PREFIX}LOG_FORMAT must be 'text' or 'json', got {self.log_format!r}")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError(f"{PREFIX}TLS_CERT and {PREFIX}TLS_KEY must be given together")
        if self.tls_client_ca is not None and self.tls_cert is None:
            raise SettingsError(f"{PREFIX}TLS_CLIENT_CA needs {PREFIX}TLS_CERT and {PREFIX}TLS_KEY")

    @property
    def host(self) -> str:
        """The host part of `address`, without IPv6 brackets."""
        return self.address.rsplit(":", 1)[0].strip("[]")

    @property
    def limits(self) -> Limits:
        """What one request may hold."""
        return Limits(self.max_text_chars, self.max_paragraphs, self.max_document_chars, self.max_explain_terms)

    @property
    def max_message_bytes(self) -> int:
        """The gRPC message size that fits the largest valid request (4 bytes per code point, plus framing)."""
        batch = self.max_paragraphs * (4 * self.max_text_chars + 64)
        return max(batch, 4 * self.max_document_chars) + 4096

    @classmethod
    def from_env(cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from `environ` (default os.environ) and then `argv` flags such as `--max-paragraphs`."""
        return read(cls, argv if argv is not None else [], environ, prog="python -m service")


@dataclasses.dataclass(frozen=True)
class ClientSettings:
    """What the `tagger` command-line client reads from the environment (its flags override them)."""

    address: str = setting(Settings.address, "the server the `tagger` client calls (a `dns:///` target balances)")


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """What `python -m training` reads from the environment (its flags override them)."""

    model_path: Path = setting(Settings.model_path, "where training writes the model (the server's model_path)")
    model_key: str = setting("", "HMAC key that training signs the card with", secret=True)


@dataclasses.dataclass(frozen=True)
class ArchiveSettings:
    """What `python -m service.archive` reads from the environment (its flags override them)."""

    model_path: Path = setting(Settings.model_path, "the model the archive job tags with (the server's model_path)")
    model_key: str = setting("", "HMAC key: archive workers refuse unsigned or wrongly signed models", secret=True)
    max_text_chars: int = setting(Settings.max_text_chars, "longest paragraph; longer rows go to `_rejected.jsonl`")
    scheduler: str = setting("", "Dask scheduler (`tcp://host:8786`) the archive job runs on (unset: embedded)")
    archive_workers: int = setting(
        None,
        "worker processes of the embedded Dask cluster, one thread each",
        factory=lambda: os.cpu_count() or 1,
        shown="the number of CPUs",
    )
    partition_rows: int = setting(10_000, "input rows per output partition of the archive job (one task each)")

    def __post_init__(self) -> None:
        at_least_one(self, "max_text_chars", "archive_workers", "partition_rows")


def at_least_one(settings: object, *names: str) -> None:
    """Raise SettingsError naming the first of the fields `names` of `settings` that is below 1."""
    for name in names:
        if getattr(settings, name) < 1:
            raise SettingsError(f"{PREFIX}{name.upper()} must be at least 1, got {getattr(settings, name)}")


_USED_BY = {ClientSettings: "(client)", TrainingSettings: "(training)", ArchiveSettings: "(archive)"}


def settings_table() -> str:
    """The README's settings table (Markdown), from the fields' definitions and defaults."""
    rows = ["| variable | flag | default | meaning |", "|---|---|---|---|"]
    for cls in (Settings, ClientSettings, TrainingSettings, ArchiveSettings):
        for field in dataclasses.fields(cls):
            default = field.default if field.default is not dataclasses.MISSING else field.metadata["shown"]
            shown = "" if default is None or default == "" else f"`{default}`"
            flag = f"`--{field.name.replace('_', '-')}`" if cls is Settings else _USED_BY[cls]
            rows.append(f"| `{PREFIX}{field.name.upper()}` | {flag} | {shown} | {field.metadata['doc']} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    sys.stdout.write(settings_table())
