"""`python -m service` as a process: it logs its address, reaches SERVING, and exits 0 on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2

from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from tests.corpus import rows
from tests.test_server import health_status


def start_process(bundle_path: Path, **env: str) -> tuple[subprocess.Popen[str], str]:
    environment = {**os.environ, "TAGGER_ADDRESS": "127.0.0.1:0", "TAGGER_MODEL_PATH": str(bundle_path)}
    environment.update({"TAGGER_WORKERS": "1", **env})
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
        stop(process)


def stop(process: subprocess.Popen[str]) -> None:
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


def test_json_logs_carry_the_call_but_never_the_text(bundle_path):
    process, address = start_process(bundle_path, TAGGER_LOG_FORMAT="json")
    secret = "A confidential paragraph that must never reach the logs."
    try:
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.TaggerServiceStub(channel)
            with pytest.raises(grpc.RpcError):
                stub.TagParagraphs(pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=secret)] * 1001))
        assert process.stderr is not None
        line = json.loads(process.stderr.readline())
        assert line["rpc"] == "TagParagraphs" and line["code"] == "INVALID_ARGUMENT"
        assert line["paragraphs"] == 1001 and line["duration_ms"] >= 0 and len(line["model_version"]) == 16
        assert secret not in json.dumps(line)
    finally:
        stop(process)


def test_sigterm_under_load_fails_no_accepted_call(bundle_path):
    process, address = start_process(bundle_path)
    batch = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=t) for t, _ in rows()])
    codes: list[grpc.StatusCode] = []
    sent_sigterm = threading.Event()

    def client() -> None:
        with grpc.insecure_channel(address) as channel:
            stub = pb_grpc.TaggerServiceStub(channel)
            while True:
                try:
                    stub.TagParagraphs(batch, timeout=10)
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as error:
                    codes.append(error.code())
                    if sent_sigterm.is_set():
                        return

    threads = [threading.Thread(target=client) for _ in range(6)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        sent_sigterm.set()
        assert process.wait(timeout=15) == 0
        for thread in threads:
            thread.join(timeout=15)
    finally:
        stop(process)
    assert codes.count(grpc.StatusCode.OK) > 50
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED}
