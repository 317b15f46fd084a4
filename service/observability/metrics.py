"""Prometheus metrics with prometheus_client: the tagger_* series, the process metrics, and the /metrics endpoint."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from service.model.slot import ModelSlot

# Latency buckets in seconds: a single paragraph takes about a millisecond, a 1,000-paragraph batch a second.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """What the service counts, in a registry of its own: calls by RPC and code, call latency, paragraphs
    scored, labels assigned; the model in service and its reloads are read from the slot at each scrape."""

    def __init__(self, models: ModelSlot) -> None:
        self.registry = CollectorRegistry()
        self._calls = Counter(
            "tagger_calls", "Calls finished, by RPC and gRPC status code.", ("rpc", "code"), registry=self.registry
        )
        self._duration = Histogram(
            "tagger_call_duration_seconds",
            "Time from a call's start to its answer.",
            ("rpc",),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._paragraphs = Counter(
            "tagger_paragraphs_scored", "Paragraphs scored by successful calls.", registry=self.registry
        )
        self._labels = Counter(
            "tagger_labels_assigned", "Labels assigned, by label.", ("label",), registry=self.registry
        )
        self.registry.register(_ModelCollector(models))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)

    def observe(self, rpc: str, code: str, seconds: float, paragraphs: int, labels: Iterable[str] = ()) -> None:
        """Count one finished call; paragraphs and labels count only for calls that succeeded."""
        self._calls.labels(rpc, code).inc()
        self._duration.labels(rpc).observe(seconds)
        if code == "OK":
            self._paragraphs.inc(paragraphs)
            for label in labels:
                self._labels.labels(label).inc()


class _ModelCollector(Collector):
    """tagger_model_info{version} and tagger_model_reloads_total{outcome}, read from the slot when scraped."""

    def __init__(self, models: ModelSlot) -> None:
        self._models = models

    def collect(self) -> Iterator[Metric]:
        info = GaugeMetricFamily("tagger_model_info", "The model in service: 1 for its version.", labels=["version"])
        info.add_metric([self._models.current.version], 1)
        reloads = CounterMetricFamily("tagger_model_reloads", "Model reloads, by outcome.", labels=["outcome"])
        for outcome, count in sorted(self._models.reloads.items()):
            reloads.add_metric([outcome], count)
        yield info
        yield reloads


class MetricsEndpoint:
    """prometheus_client's HTTP server for `metrics` on `address` (host:port, port 0 for any), in a thread."""

    def __init__(self, metrics: Metrics, address: str) -> None:
        host, port = address.rsplit(":", 1)
        self.metrics = metrics
        self.host = host.strip("[]")
        self._server: WSGIServer
        self._thread: threading.Thread
        self._server, self._thread = start_http_server(int(port), self.host, registry=metrics.registry)
        self.port: int = self._server.server_port

    def close(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
