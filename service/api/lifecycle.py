"""The server's life: load the model, start, mark SERVING, watch for new models, and on SIGTERM drain and stop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import signal
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health

from service.api.server import create_server, set_serving
from service.config import Settings
from service.execution.pool import ScoringPool
from service.model.loader import load_model
from service.model.slot import ModelSlot
from service.observability.calls import CallRecorder

if TYPE_CHECKING:
    from service.observability.metrics import MetricsEndpoint

_LOGGER = logging.getLogger(__name__)


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
    metrics: MetricsEndpoint | None

    async def stop(self, grace: float | None, drain: float = 0.0) -> None:
        """Drain: NOT_SERVING first, `drain` seconds still answering (health-checking clients and load balancers
        move off meanwhile), then refuse new calls and let calls in flight finish within `grace`."""
        self.watcher.cancel()
        await set_serving(self.health, False)
        await asyncio.sleep(drain)
        await self.server.stop(grace)
        if self.metrics is not None:
            self.metrics.close()
        if self.pool is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.pool.shutdown)


async def start(settings: Settings) -> RunningServer:
    """Load and verify the model, bind, start, mark SERVING and start watching for new models."""
    key, implementation = settings.model_key, settings.scorer
    models = ModelSlot(load_model(settings.model_path, key, implementation), key, implementation)
    pool = ScoringPool(settings.workers, settings.model_path, key, implementation) if settings.workers > 1 else None
    health_servicer = health.aio.HealthServicer()
    metrics = None
    if settings.metrics_address:
        # prometheus_client (10-20 ms of imports) is loaded only when metrics are served: it is not on the way to
        # SERVING otherwise
        from service.observability.metrics import Metrics, MetricsEndpoint  # noqa: PLC0415

        metrics = Metrics(models)
    server, port = create_server(settings, models, health_servicer, pool, CallRecorder(metrics))
    # Long-lived objects (the model, gRPC's own) leave the collector's view: a full collection would otherwise
    # walk every vocabulary string on the hot path.
    gc.collect()  # first: what is garbage now (loading's leftovers) must not be frozen with the rest
    gc.freeze()
    await server.start()
    endpoint = MetricsEndpoint(metrics, settings.metrics_address) if metrics is not None else None
    await set_serving(health_servicer, True)
    if pool is not None:  # after SERVING: until the workers hold the model, batches are scored inline
        pool.switch(models.current)
        models.on_swap(pool.switch)
    reload = asyncio.Event()
    watcher = asyncio.create_task(_watch(models, settings.reload_seconds, reload))
    return RunningServer(server, port, models, health_servicer, reload, watcher, pool, endpoint)


async def serve(settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT (SIGHUP checks for a new model at once), then drain and stop."""
    running = await start(settings)
    model = running.models.current
    _LOGGER.info(
        "listening on %s:%d model=%s scorer=%s limits=%s",
        settings.host,
        running.port,
        model.version,
        model.implementation,
        dataclasses.asdict(settings.limits) | {"max_concurrent": settings.max_concurrent},
    )
    if running.metrics is not None:
        _LOGGER.info("metrics on http://%s:%d/metrics", running.metrics.host, running.metrics.port)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, running.reload.set)
    await stop.wait()
    _LOGGER.info(
        "stopping: NOT_SERVING for %.1f s, then draining calls for up to %.1f s",
        settings.drain_seconds,
        settings.grace_seconds,
    )
    await running.stop(settings.grace_seconds, settings.drain_seconds)
    _LOGGER.info("stopped")


async def _watch(models: ModelSlot, every: float, reload: asyncio.Event) -> None:
    """Reload when the model card changes: polled every `every` seconds, and at once on SIGHUP."""
    loop = asyncio.get_running_loop()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reload.wait(), timeout=every)
        reload.clear()
        await loop.run_in_executor(None, models.reload_if_changed)
