"""Where the job runs: an existing Dask cluster, or an embedded LocalCluster of worker processes (one thread each,
on loopback, no dashboard) started for the job and closed at its end."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import dask
from distributed import Client, LocalCluster

# Seconds to wait for a scheduler to answer, or for the embedded cluster's workers to start.
CONNECT_SECONDS = 60
# Worker housekeeping that wakes a thread every 10-20 ms (the statistical profiler, the event loop's health tick)
# takes the GIL from the scoring thread: 15-30% of a worker's throughput (make bench-archive). The embedded
# cluster turns it down; workers of an existing cluster take the same settings from their DASK_* environment.
QUIET_WORKERS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "5s",
}


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int) -> Iterator[Client]:
    """A client of the cluster at `scheduler` (`tcp://host:8786`), or of an embedded cluster of `workers`
    processes when `scheduler` is empty."""
    if scheduler:
        with Client(scheduler, timeout=CONNECT_SECONDS) as client:
            yield client
        return
    with (
        dask.config.set(QUIET_WORKERS),
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # the HTTP endpoint on a free loopback port, never :8787
            timeout=CONNECT_SECONDS,
        ) as cluster,
        Client(cluster, timeout=CONNECT_SECONDS) as client,
    ):
        yield client
