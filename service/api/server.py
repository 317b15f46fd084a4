"""Building the gRPC server: TaggerService, health and reflection on one port, with the channel options and TLS
taken from the settings."""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from service.api.servicer import TaggerServicer
from service.config import Settings
from service.execution.pool import ScoringPool
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.model.slot import ModelSlot
from service.observability.calls import CallRecorder

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TaggerService"].full_name


class BindError(OSError):
    """The address cannot be bound (in use, or not an address of this host); the message names it."""


def create_server(
    settings: Settings,
    models: ModelSlot,
    health_servicer: health.aio.HealthServicer,
    pool: ScoringPool | None = None,
    calls: CallRecorder | None = None,
) -> tuple[grpc.aio.Server, int]:
    """Build the server with every servicer registered and bind settings.address; returns (server, port).
    Raises BindError naming the address when it cannot be bound."""
    # No maximum_concurrent_rpcs: the servicer counts its calls in flight (TaggerServicer).
    server = grpc.aio.server(options=channel_options(settings))
    services = _ByName(server)
    servicer = TaggerServicer(models, settings, pool, calls)
    # TagParagraphs answers with its reply's wire bytes (service.api.encoder), so its handler, looked up before
    # the generated ones, has no serializer.
    tag_paragraphs = grpc.unary_unary_rpc_method_handler(
        servicer.TagParagraphs, request_deserializer=pb.TagParagraphsRequest.FromString
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE_NAME, {"TagParagraphs": tag_paragraphs}),)
    )
    pb_grpc.add_TaggerServiceServicer_to_server(servicer, services)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, services)
    names = (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(reflection.aio.ReflectionServicer(names), services)
    try:
        if settings.tls_cert is None or settings.tls_key is None:
            port = server.add_insecure_port(settings.address)
        else:
            port = server.add_secure_port(settings.address, _credentials(settings))
    except RuntimeError as error:  # grpcio reports a failed bind as RuntimeError
        raise BindError(f"cannot bind {settings.address}: {error}") from None
    if port == 0:
        raise BindError(f"cannot bind {settings.address}: the address is in use or not available")
    return server, port


async def set_serving(health_servicer: health.aio.HealthServicer, serving: bool) -> None:
    """Mark the whole server and TaggerService SERVING or NOT_SERVING."""
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, status)


def channel_options(settings: Settings) -> list[tuple[str, int]]:
    """The server's channel options: message limits derived from the request limits, keepalive and age."""
    message = settings.max_message_bytes
    return [
        ("grpc.max_receive_message_length", message),
        ("grpc.max_send_message_length", 4 * message),
        # Keepalive pings find dead peers; a maximum connection age makes long-lived clients reconnect, so a
        # load balancer can spread them; the age grace lets their calls in flight finish.
        ("grpc.keepalive_time_ms", int(settings.keepalive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", 20_000),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.max_connection_age_ms", int(settings.max_connection_age_seconds * 1000)),
        ("grpc.max_connection_age_grace_ms", int(settings.grace_seconds * 1000)),
        # One process owns the port: a second server on the same address must fail to start, not share it.
        ("grpc.so_reuseport", 0),
    ]


class _ByName:
    """What the generated add_*_to_server functions register on: their handlers are looked up by method name
    (generic handlers), not pre-registered. grpc.aio's server waits on one future per registered method for every
    call it accepts; with the 8 methods of these three services that cost 4-9 us of a call's 0.3 ms (make bench)."""

    def __init__(self, server: grpc.aio.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self._server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        """Not registered: the same handlers also come as a generic handler."""


def _credentials(settings: Settings) -> grpc.ServerCredentials:
    assert settings.tls_cert is not None and settings.tls_key is not None
    client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )
