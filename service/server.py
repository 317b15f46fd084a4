"""The gRPC server: TaggerService, health and reflection on one port; reloads, signals and graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from service.calls import CallRecorder
from service.config import Settings
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.metrics import Metrics, serve_metrics
from service.model import load_model
from service.rollout import ModelSlot
from service.servicer import TaggerServicer
from service.workers import ScoringPool

_LOGGER = logging.getLogger(__name__)
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TaggerService"].full_name


def create_server(
    settings: Settings,
    models: ModelSlot,
    health_servicer: health.aio.HealthServicer,
    pool: ScoringPool | None = None,
    calls: CallRecorder | None = None,
) -> tuple[grpc.aio.Server, int]:
    """Build the server with every servicer registered and bind settings.address; returns (server, port)."""
    server = grpc.aio.server(options=_channel_options(settings), maximum_concurrent_rpcs=settings.max_concurrent)
    pb_grpc.add_TaggerServiceServicer_to_server(TaggerServicer(models, settings, pool, calls), server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME)
    reflection.enable_server_reflection(names, server)
    if settings.tls_cert is None or settings.tls_key is None:
        port = server.add_insecure_port(settings.address)
    else:
        port = server.add_secure_port(settings.address, _credentials(settings))
    if port == 0:
        raise OSError(f"cannot bind {settings.address}")
    return server, port


async def set_serving(health_servicer: health.aio.HealthServicer, serving: bool) -> None:
    """Mark the whole server and TaggerService SERVING or NOT_SERVING."""
    status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, status)


@dataclasses.dataclass
class RunningServer:
    """A started server: its port, the model slot, health, and the task that watches for new models."""

    server: grpc.aio.Server
    port: int
    models: ModelSlot
    health: health.aio.HealthServicer
    reload: asyncio.Event
    watcher: asyncio.Task[None]
    pool: ScoringPool | None
    metrics_endpoint: asyncio.Server | None

    async def stop(self, grace: float | None) -> None:
        """Drain: NOT_SERVING first, then refuse new calls and let calls in flight finish within `grace`."""
        self.watcher.cancel()
        await set_serving(self.health, False)
        await self.server.stop(grace)
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.close()
        if self.pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.pool.shutdown)

    @property
    def metrics_port(self) -> int | None:
        """The port of the /metrics endpoint, when there is one."""
        if self.metrics_endpoint is None:
            return None
        return int(self.metrics_endpoint.sockets[0].getsockname()[1])


async def start(settings: Settings) -> RunningServer:
    """Load and verify the model, bind, start, mark SERVING and start watching for new models."""
    models = ModelSlot(load_model(settings.model_path, settings.model_key), settings.model_key)
    pool = ScoringPool(settings.workers, settings.model_path, settings.model_key) if settings.workers > 1 else None
    health_servicer = health.aio.HealthServicer()
    metrics, endpoint = Metrics() if settings.metrics_address else None, None
    server, port = create_server(settings, models, health_servicer, pool, CallRecorder(metrics))
    # Long-lived objects (the model, gRPC's own) leave the collector's view: a full collection would otherwise
    # walk every vocabulary string on the hot path.
    gc.collect()  # first: what is garbage now (loading's leftovers) must not be frozen with the rest
    gc.freeze()
    await server.start()
    if metrics is not None:
        endpoint = await serve_metrics(
            settings.metrics_address, lambda: metrics.render(models.current.version, models.reloads)
        )
    await set_serving(health_servicer, True)
    if pool is not None:  # after SERVING: until the workers have loaded the model, batches are scored inline
        await asyncio.get_running_loop().run_in_executor(None, pool.start)
    reload = asyncio.Event()
    watcher = asyncio.create_task(_watch(models, settings.reload_seconds, reload))
    return RunningServer(server, port, models, health_servicer, reload, watcher, pool, endpoint)


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT (SIGHUP checks for a new model at once), then drain and stop."""
    running = await start(settings)
    host = settings.address.rsplit(":", 1)[0]
    model = running.models.current
    _LOGGER.info(
        "listening on %s:%d model=%s fast_scorer=%s limits=%s",
        host,
        running.port,
        model.version,
        model.fast,
        _limits(settings),
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, running.reload.set)
    if running.metrics_port is not None:
        _LOGGER.info(
            "metrics on http://%s:%d/metrics", settings.metrics_address.rsplit(":", 1)[0], running.metrics_port
        )
    await stop.wait()
    _LOGGER.info("stopping: NOT_SERVING, draining calls for up to %.1f s", settings.grace_seconds)
    await running.stop(settings.grace_seconds)
    _LOGGER.info("stopped")


async def _watch(models: ModelSlot, every: float, reload: asyncio.Event) -> None:
    """Reload when the model card changes: polled every `every` seconds, and at once on SIGHUP."""
    loop = asyncio.get_running_loop()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reload.wait(), timeout=every)
        reload.clear()
        await loop.run_in_executor(None, models.reload_if_changed)


def _channel_options(settings: Settings) -> list[tuple[str, int]]:
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
        # Several workers share the port on purpose; one worker must fail loudly if the port is taken.
        ("grpc.so_reuseport", 1 if settings.workers > 1 else 0),
    ]


def _credentials(settings: Settings) -> grpc.ServerCredentials:
    assert settings.tls_cert is not None and settings.tls_key is not None
    client_ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    return grpc.ssl_server_credentials(
        [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def _limits(settings: Settings) -> dict[str, int]:
    return {
        "max_text_chars": settings.max_text_chars,
        "max_paragraphs": settings.max_paragraphs,
        "max_document_chars": settings.max_document_chars,
        "max_explain_terms": settings.max_explain_terms,
        "max_concurrent": settings.max_concurrent,
    }
