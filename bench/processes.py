"""The third serving design, measured: several server processes sharing one port (grpc's
examples/python/multiprocessing). `python -m bench.processes` serves N processes and measures them against one.

Launcher (`--serve N`): reserve a port with SO_REUSEPORT, fork N processes before any gRPC object exists, and in each
run the tagger's own server with the reuse-port option switched on (the service itself sets it off, so that a second
server on a taken address fails to start); the kernel spreads incoming connections over the processes."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The loads measured (names of bench.__main__.SCENARIOS).
SCENARIOS = ("single, 8 in flight", "batch of 64, 8 in flight", "batch of 1000, 2 in flight")


@contextlib.contextmanager
def _reserved_port() -> Iterator[int]:
    """A loopback port held with SO_REUSEPORT, so that every process can bind it too (as grpc's example does)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def _child(port: int) -> None:
    """One server process: the service as it is, with SO_REUSEPORT on."""
    from service.__main__ import main as serve_main  # noqa: PLC0415 - after the fork: no gRPC object before it
    from service.api import server  # noqa: PLC0415

    options = server.channel_options
    server.channel_options = lambda settings: [
        (name, 1 if name == "grpc.so_reuseport" else value) for name, value in options(settings)
    ]
    os.environ["TAGGER_ADDRESS"] = f"127.0.0.1:{port}"
    os._exit(serve_main([]))


def serve(processes: int) -> int:
    """Fork `processes` servers on one reserved port; forward SIGTERM to them and wait."""
    with _reserved_port() as port:
        children = []
        for _ in range(processes):
            pid = os.fork()
            if pid == 0:
                _child(port)
            children.append(pid)

        def forward(signum: int, frame: object) -> None:
            for pid in children:
                os.kill(pid, signum)

        signal.signal(signal.SIGTERM, forward)
        statuses = [os.waitpid(pid, 0)[1] for pid in children]
    return max(os.waitstatus_to_exitcode(status) for status in statuses)


def compare(model: Path, counts: list[int]) -> list[dict[str, Any]]:
    """Each scenario over 1 and 4 connections against 1..N processes."""
    # the load generator imports gRPC: only here, never in the launcher that forks the servers
    from bench.__main__ import METHOD, measure, payloads  # noqa: PLC0415
    from bench.__main__ import SCENARIOS as ALL  # noqa: PLC0415
    from bench.process import python_module, start  # noqa: PLC0415
    from training.data import SHIPPED_TEST, read_examples  # noqa: PLC0415

    texts = [e.text for e in read_examples([SHIPPED_TEST])]
    env = {"TAGGER_MODEL_PATH": str(model), "TAGGER_WORKERS": "1"}
    rows = []
    for count in counts:
        server = start(python_module("bench.processes", "--serve", str(count)), env)
        time.sleep(1.0)  # every process loaded and listening (the health check reached one of them)
        try:
            for connections in (1, 4):
                for scenario in (scenario for scenario in ALL if scenario.name in SCENARIOS):
                    figures = measure(server, scenario, payloads(texts, scenario.per_call, METHOD), connections)
                    rows.append({"processes": count, "connections": connections, "scenario": scenario.name} | figures)
                    print(
                        f"{count} process(es), {connections} conn, {scenario.name:<28} {figures['calls_per_s']:>8.0f} "
                        f"calls/s {figures['items_per_s']:>8.0f} para/s  p99 {figures['p99_ms']:>7.2f} ms  "
                        f"cpu/call {figures['server_cpu_ms_per_call']:.3f} ms",
                        flush=True,
                    )
        finally:
            server.stop()
    return rows


def main(argv: list[str] | None = None) -> int:
    """`--serve N`: run N server processes on one port; otherwise measure 1 and 2 of them."""
    parser = argparse.ArgumentParser(prog="python -m bench.processes", description=__doc__)
    parser.add_argument("--serve", type=int, help="run this many server processes sharing one port")
    parser.add_argument("--model", type=Path, default=Path("models/tagger.joblib"))
    parser.add_argument("--processes", default="1,2", help="process counts to measure")
    parser.add_argument("--out", type=Path, default=Path("bench-results/processes.json"))
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve)
    rows = compare(args.model, [int(n) for n in args.processes.split(",")])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
