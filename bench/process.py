"""Server processes for benchmarks: start one, time it to SERVING, read its CPU time and memory."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class ServerProcess:
    """A server started as a child process, with the address it logged and how long it took to be ready."""

    process: subprocess.Popen[str]
    address: str
    seconds_to_ready: float

    def pids(self) -> list[int]:
        """The server and all its descendants."""
        found, frontier = [self.process.pid], [self.process.pid]
        while frontier:
            parent = frontier.pop()
            for child in _children(parent):
                found.append(child)
                frontier.append(child)
        return found

    def cpu_seconds(self) -> float:
        """User + system CPU time of the whole process tree so far."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / _TICKS

    def memory(self) -> list[dict[str, float]]:
        """RSS and PSS in MiB of each process of the tree."""
        rows = []
        for pid in self.pids():
            try:
                text = Path(f"/proc/{pid}/smaps_rollup").read_text()
            except OSError:
                continue
            kib = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(Rss|Pss):\s+(\d+) kB", text, re.M)}
            rows.append({"pid": pid, "rss_mib": round(kib["Rss"] / 1024, 1), "pss_mib": round(kib["Pss"] / 1024, 1)})
        return rows

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        finally:
            self.process.kill()
            if self.process.stderr:
                self.process.stderr.close()


def start(command: Sequence[str], env: dict[str, str] | None = None, health: bool = True) -> ServerProcess:
    """Start `command`, read its `listening on HOST:PORT` line, and (with `health`) wait until SERVING."""
    started = time.perf_counter()
    process = subprocess.Popen(list(command), env={**os.environ, **(env or {})}, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    while True:
        line = process.stderr.readline()
        if not line:
            raise RuntimeError(f"{command[0]} exited before listening")
        found = re.search(r"listening on (\S+:\d+)", line)
        if found:
            address = found.group(1)
            break
    threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
    if health:
        _wait_serving(address)
    return ServerProcess(process, address, time.perf_counter() - started)


def python_module(module: str, *args: str) -> list[str]:
    """The command that runs `python -m module args` with this interpreter."""
    return [sys.executable, "-m", module, *args]


def _wait_serving(address: str) -> None:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.005)


def _drain(stream: TextIO) -> None:
    for _ in stream:
        pass


def _children(pid: int) -> list[int]:
    """Children of every thread of `pid` (a process started from a thread is listed under that thread)."""
    found = []
    for path in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in path.read_text().split()]
        except OSError:
            continue
    return found
