"""Opening a channel to the tagger: one address, or every replica behind a name with calls balanced among them.

A balanced channel uses the service config shipped beside this module (`grpc_service_config.json`, the one the
README shows for other languages): `round_robin` over every address the target resolves to, client-side health
checking so a draining replica stops getting calls before it closes, `waitForReady` and retries of UNAVAILABLE
(every TaggerService RPC is idempotent)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import grpc

SERVICE_CONFIG = resources.files(__package__).joinpath("grpc_service_config.json").read_text(encoding="utf-8")


def balances(target: str) -> bool:
    """Whether `target` names several replicas: a `dns:` name, or an `ipv4:`/`ipv6:` list of addresses."""
    scheme = target.split(":", 1)[0]
    return scheme == "dns" or (scheme in ("ipv4", "ipv6") and "," in target)


def open_channel(
    target: str,
    balance: bool | None = None,
    tls_ca: str | None = None,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> grpc.Channel:
    """A channel to `target`, balanced when `balance` is true (None: when `balances(target)`), over TLS when a CA
    or a client certificate is given."""
    balanced = balances(target) if balance is None else balance
    options = [("grpc.service_config", SERVICE_CONFIG)] if balanced else []
    if not (tls_ca or tls_cert):
        return grpc.insecure_channel(target, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(tls_ca).read_bytes() if tls_ca else None,
        private_key=Path(tls_key).read_bytes() if tls_key else None,
        certificate_chain=Path(tls_cert).read_bytes() if tls_cert else None,
    )
    return grpc.secure_channel(target, credentials, options=options)
