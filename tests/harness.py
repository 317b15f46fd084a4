"""The test harness shared by the test modules (fixtures live in conftest.py): the real server in a thread or a process,
and small probes of it. Test modules import from here, never from each other."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from service.api.lifecycle import start
from service.config import Settings
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from tests.corpus import rows
from training.publish import copy_model as copy_files

T = TypeVar("T")


def write_corpus(path: Path, data: list[tuple[str, tuple[str, ...]]] | None = None) -> Path:
    """Write `data` (default: the tiny corpus) as JSONL."""
    lines = [json.dumps({"text": text, "labels": list(labels)}) for text, labels in data or rows()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def copy_model(bundle_path: Path, folder: Path) -> Path:
    """A copy of the model at `bundle_path` (all its files) in `folder`, under the same name."""
    copy_files(bundle_path, folder / bundle_path.name)
    return folder / bundle_path.name


class ServerThread:
    """The real aio server (service.api.lifecycle.start) on its own event loop in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.running = self.call(start(settings))
        self.models, self.health, self.port = self.running.models, self.running.health, self.running.port

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, grace: float | None = None) -> None:
        self.call(self.running.stop(grace))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def start_server(model_path: Path, **overrides: Any) -> ServerThread:
    """Start a server for `model_path`; `overrides` replace Settings fields."""
    settings = dataclasses.replace(Settings(address="127.0.0.1:0", model_path=model_path, workers=1), **overrides)
    return ServerThread(settings)


def health_status(address: str, service: str = "") -> int:
    """The health status the server at `address` reports for `service` ("" for the whole server)."""
    with grpc.insecure_channel(address) as channel:
        return int(health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service)).status)


def current_version(address: str) -> str:
    """The model version GetModel reports."""
    with grpc.insecure_channel(address) as channel:
        return str(pb_grpc.TaggerServiceStub(channel).GetModel(pb.GetModelRequest()).model_version)


def wait_for(condition: Callable[[], object], seconds: float = 20.0) -> bool:
    """Poll `condition` every 50 ms until it is true (True) or `seconds` pass (False)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


class WritesAFile:
    """A pickle payload that creates `marker` when unpickled: proof that something was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def start_process(bundle_path: Path, scorer: str = "", **env: str) -> tuple[subprocess.Popen[str], str]:
    """`python -m service` as a process on a free port; returns it and the address it logged. With `scorer`, the
    start line must name that scorer."""
    environment = {**os.environ, "TAGGER_ADDRESS": "127.0.0.1:0", "TAGGER_MODEL_PATH": str(bundle_path)}
    environment.update({"TAGGER_WORKERS": "1", **env})
    process = subprocess.Popen([sys.executable, "-m", "service"], env=environment, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"listening on (127\.\d+\.\d+\.\d+:\d+) .*scorer=([\w-]+)", line)
        if found:
            assert not scorer or found.group(2) == scorer, line
            return process, found.group(1)
        assert line, "the server exited before listening"
    raise AssertionError("no `listening on` line within 60 s")


def stop_process(process: subprocess.Popen[str]) -> None:
    """Kill `process` (if it still runs) and close its pipe."""
    process.kill()
    process.wait()
    assert process.stderr is not None
    process.stderr.close()
