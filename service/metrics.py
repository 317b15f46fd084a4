"""Prometheus metrics: counters and latency histograms kept in process, served as text at /metrics."""

from __future__ import annotations

import asyncio
import bisect
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable

# Latency buckets in seconds: a single paragraph takes about a millisecond, a 1,000-paragraph batch a second.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """What the service counts: calls by RPC and code, call latency, paragraphs scored, labels assigned,
    and (read when rendered) the model version in service and model reloads by outcome."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()
        self.paragraphs = 0
        self.labels: Counter[str] = Counter()
        self._buckets: dict[str, list[int]] = {}
        self._sums: dict[str, float] = defaultdict(float)

    def observe(self, rpc: str, code: str, seconds: float, paragraphs: int, labels: Iterable[str] = ()) -> None:
        """Count one finished call."""
        self.calls[rpc, code] += 1
        buckets = self._buckets.setdefault(rpc, [0] * (len(BUCKETS) + 1))
        buckets[bisect.bisect_left(BUCKETS, seconds)] += 1
        self._sums[rpc] += seconds
        if code == "OK":
            self.paragraphs += paragraphs
            self.labels.update(labels)

    def render(self, model_version: str, reloads: dict[str, int]) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        lines = _header("tagger_calls_total", "counter", "Calls finished, by RPC and gRPC status code.")
        lines += [f'tagger_calls_total{{rpc="{r}",code="{c}"}} {n}' for (r, c), n in sorted(self.calls.items())]
        lines += _header("tagger_call_duration_seconds", "histogram", "Time from a call's start to its answer.")
        for rpc, buckets in sorted(self._buckets.items()):
            total = 0
            for bound, count in zip([*map(str, BUCKETS), "+Inf"], buckets, strict=True):
                total += count
                lines.append(f'tagger_call_duration_seconds_bucket{{rpc="{rpc}",le="{bound}"}} {total}')
            lines.append(f'tagger_call_duration_seconds_sum{{rpc="{rpc}"}} {self._sums[rpc]:.6f}')
            lines.append(f'tagger_call_duration_seconds_count{{rpc="{rpc}"}} {total}')
        lines += _header("tagger_paragraphs_scored_total", "counter", "Paragraphs scored by successful calls.")
        lines.append(f"tagger_paragraphs_scored_total {self.paragraphs}")
        lines += _header("tagger_labels_assigned_total", "counter", "Labels assigned, by label.")
        lines += [f'tagger_labels_assigned_total{{label="{label}"}} {n}' for label, n in sorted(self.labels.items())]
        lines += _header("tagger_model_info", "gauge", "The model in service: 1 for its version.")
        lines.append(f'tagger_model_info{{version="{model_version}"}} 1')
        lines += _header("tagger_model_reloads_total", "counter", "Model reloads, by outcome.")
        lines += [f'tagger_model_reloads_total{{outcome="{o}"}} {n}' for o, n in sorted(reloads.items())]
        return "\n".join(lines) + "\n"


async def serve_metrics(address: str, render: Callable[[], str]) -> asyncio.Server:
    """A minimal HTTP/1.1 endpoint: GET /metrics answers `render()`; anything else is 404."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
            path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
            ok = request.startswith(b"GET ") and path.split(b"?")[0] == b"/metrics"
            body = render().encode() if ok else b"not found\n"
            status = b"200 OK" if ok else b"404 Not Found"
            writer.write(
                b"HTTP/1.1 "
                + status
                + b"\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                + b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    host, port = address.rsplit(":", 1)
    return await asyncio.start_server(answer, host.strip("[]"), int(port))


def _header(name: str, kind: str, text: str) -> list[str]:
    return [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
