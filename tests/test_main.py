"""`python -m service` as a process: it logs its address, reaches SERVING, and exits 0 on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from grpc_health.v1 import health_pb2

from tests.test_server import health_status


def start_process(bundle_path: Path, **env: str) -> tuple[subprocess.Popen[str], str]:
    environment = {**os.environ, "TAGGER_ADDRESS": "127.0.0.1:0", "TAGGER_MODEL_PATH": str(bundle_path), **env}
    process = subprocess.Popen([sys.executable, "-m", "service"], env=environment, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        found = re.search(r"listening on (127\.0\.0\.1:\d+)", line)
        if found:
            return process, found.group(1)
        assert line, "the server exited before listening"
    raise AssertionError("no `listening on` line within 60 s")


def test_service_starts_serves_and_exits_zero_on_sigterm(bundle_path):
    process, address = start_process(bundle_path)
    try:
        assert health_status(address) == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        process.kill()
        process.wait()
        assert process.stderr is not None
        process.stderr.close()


def run_service(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "service"]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=False)


def test_a_bad_model_stops_the_start_with_a_clear_message(tmp_path):
    environment = {**os.environ, "TAGGER_ADDRESS": "127.0.0.1:0", "TAGGER_MODEL_PATH": str(tmp_path / "none.joblib")}
    result = run_service(environment)
    assert result.returncode == 1 and "model card not found" in result.stderr


def test_a_bad_setting_is_a_usage_error():
    environment = {**os.environ, "TAGGER_MAX_PARAGRAPHS": "many"}
    result = run_service(environment)
    assert result.returncode == 2 and "TAGGER_MAX_PARAGRAPHS must be a number" in result.stderr
