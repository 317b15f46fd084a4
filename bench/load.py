"""Closed-loop gRPC load on loopback: pre-serialised requests, N calls in flight over C connections, bounded
in calls and seconds. It knows no proto, so the same code drives the tagger, the echo ceiling and MLServer."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import time
from collections.abc import Callable, Sequence

import grpc
import numpy as np


@dataclasses.dataclass(frozen=True)
class LoadResult:
    """What one load run measured: calls answered, errors, wall time and per-call latencies (seconds)."""

    calls: int
    errors: int
    seconds: float
    latencies: tuple[float, ...]
    items_per_call: int = 1

    def summary(self) -> dict[str, float]:
        """Calls and items per second, and latency percentiles in milliseconds."""
        lat = np.array(self.latencies) * 1000 if self.latencies else np.zeros(1)
        return {
            "calls": self.calls,
            "errors": self.errors,
            "calls_per_s": round(self.calls / self.seconds, 1),
            "items_per_s": round(self.calls * self.items_per_call / self.seconds, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 3),
            "p90_ms": round(float(np.percentile(lat, 90)), 3),
            "p99_ms": round(float(np.percentile(lat, 99)), 3),
        }


def _channels(address: str, count: int) -> list[grpc.aio.Channel]:
    # A local subchannel pool per channel: each channel opens its own TCP connection.
    options = [("grpc.use_local_subchannel_pool", 1), ("grpc.max_receive_message_length", 64 << 20)]
    return [grpc.aio.insecure_channel(address, options=options) for _ in range(count)]


async def unary(
    address: str,
    method: str,
    payloads: Sequence[bytes],
    *,
    in_flight: int,
    connections: int,
    max_calls: int,
    max_seconds: float,
    items_per_call: int = 1,
    warmup: int = 200,
    on_start: Callable[[], object] | None = None,
) -> LoadResult:
    """Keep `in_flight` unary calls going until `max_calls` are answered or `max_seconds` pass; `on_start` is
    called once the `warmup` calls are done, as the measured load begins."""
    channels = _channels(address, connections)
    calls = [channel.unary_unary(method) for channel in channels]
    for i in range(warmup):
        await calls[i % len(calls)](payloads[i % len(payloads)])
    latencies: list[float] = []
    errors = 0
    budget = itertools.count()
    if on_start is not None:
        on_start()
    started = time.perf_counter()
    deadline = started + max_seconds

    async def worker(k: int) -> None:
        nonlocal errors
        call = calls[k % len(calls)]
        while next(budget) < max_calls and time.perf_counter() < deadline:
            payload = payloads[len(latencies) % len(payloads)]
            t0 = time.perf_counter()
            try:
                await call(payload)
            except grpc.aio.AioRpcError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker(k) for k in range(in_flight)))
    elapsed = time.perf_counter() - started
    for channel in channels:
        await channel.close()
    return LoadResult(len(latencies), errors, elapsed, tuple(latencies), items_per_call)


async def stream(
    address: str,
    method: str,
    payloads: Sequence[bytes],
    *,
    window: int,
    connections: int,
    max_messages: int,
    max_seconds: float,
    on_start: Callable[[], object] | None = None,
) -> LoadResult:
    """One bidirectional stream per connection, each keeping `window` messages in flight; latency is the time
    from writing a message to reading its answer (answers come in order). `on_start` is called as it begins."""
    channels = _channels(address, connections)
    latencies: list[float] = []
    errors = 0
    if on_start is not None:
        on_start()
    started = time.perf_counter()
    deadline = started + max_seconds
    per_stream = max_messages // connections

    async def one(channel: grpc.aio.Channel) -> None:
        nonlocal errors
        call = channel.stream_stream(method)()
        sent: asyncio.Queue[float] = asyncio.Queue(maxsize=window)

        async def writer() -> None:
            for i in range(per_stream):
                if time.perf_counter() >= deadline:
                    break
                await sent.put(time.perf_counter())
                await call.write(payloads[i % len(payloads)])
            await call.done_writing()

        async def reader() -> None:
            async for _ in call:
                latencies.append(time.perf_counter() - sent.get_nowait())

        try:
            await asyncio.gather(writer(), reader())
        except grpc.aio.AioRpcError:
            errors += 1

    await asyncio.gather(*(one(channel) for channel in channels))
    elapsed = time.perf_counter() - started
    for channel in channels:
        await channel.close()
    return LoadResult(len(latencies), errors, elapsed, tuple(latencies))
