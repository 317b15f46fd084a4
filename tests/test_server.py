"""The server as operators see it: health, reflection, live model rollout, refused reloads, TLS, the in-flight cap."""

from __future__ import annotations

import json
import pickle
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from service.artifact import card_path, sha256_bytes
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.server import SERVICE_NAME, set_serving
from tests.conftest import RETRY_UNAVAILABLE, copy_model, start_server, write_corpus
from tests.corpus import rows
from tests.test_model import _WritesAFile
from training import __main__ as training_main


def health_status(address: str, service: str = "") -> int:
    with grpc.insecure_channel(address) as channel:
        return int(health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service)).status)


def test_health_is_serving_then_not_serving(bundle_path):
    server = start_server(bundle_path)
    try:
        for name in ("", SERVICE_NAME):
            assert health_status(server.address, name) == health_pb2.HealthCheckResponse.SERVING
        server.call(set_serving(server.health, False))
        for name in ("", SERVICE_NAME):
            assert health_status(server.address, name) == health_pb2.HealthCheckResponse.NOT_SERVING
    finally:
        server.stop()


def test_reflection_lists_the_service_and_health(grpc_server):
    with grpc.insecure_channel(grpc_server.address) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        services = set(database.get_services())
        assert {"tagger.v1.TaggerService", "grpc.health.v1.Health"} <= services
        descriptor = database.FindFileContainingSymbol("tagger.v1.TaggerService")
        assert "TagParagraphs" in [m.name for m in descriptor.service[0].method]


def current_version(address: str) -> str:
    with grpc.insecure_channel(address) as channel:
        return str(pb_grpc.TaggerServiceStub(channel).GetModel(pb.GetModelRequest()).model_version)


def wait_for(condition, seconds: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_new_model_is_picked_up_and_a_bad_one_is_refused(tmp_path, bundle_path):
    model = copy_model(bundle_path, tmp_path)
    server = start_server(model, reload_seconds=0.1)
    try:
        old = current_version(server.address)
        data = write_corpus(
            tmp_path / "more.jsonl", [*rows(), ("The navy commissioned two new frigates.", ("defence",))]
        )
        assert training_main.main(["--data", str(data), "--model", str(model), "--jobs", "1"]) == 0
        new = json.loads(card_path(model).read_text())["version"]
        assert new != old and wait_for(lambda: current_version(server.address) == new)
        card = json.loads(card_path(model).read_text())
        card["tables"]["sha256"] = "0" * 64  # a card that no longer matches its tables
        card_path(model).write_text(json.dumps(card))
        assert wait_for(lambda: server.models.reloads["refused"] == 1)
        assert current_version(server.address) == new
    finally:
        server.stop()


def test_calls_past_the_in_flight_cap_get_resource_exhausted(bundle_path):
    server = start_server(bundle_path, max_concurrent=1)
    long_batch = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=t * 40) for t, _ in rows()] * 20)
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.TaggerServiceStub(channel)
            futures = [stub.TagParagraphs.future(long_batch) for _ in range(6)]
            codes = []
            for future in futures:
                try:
                    future.result()
                    codes.append(grpc.StatusCode.OK)
                except grpc.RpcError as error:
                    codes.append(error.code())
        assert grpc.StatusCode.OK in codes and grpc.StatusCode.RESOURCE_EXHAUSTED in codes
        assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}
    finally:
        server.stop()


def test_deadline_exceeded_on_a_batch_that_cannot_finish_in_time(grpc_server, stub):
    batch = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=(t + " ") * 200) for t, _ in rows()] * 20)
    with pytest.raises(grpc.RpcError) as excinfo:
        stub.TagParagraphs(batch, timeout=0.005)
    assert excinfo.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
    assert health_status(grpc_server.address) == health_pb2.HealthCheckResponse.SERVING


def test_metrics_endpoint_counts_calls_and_shows_the_model(bundle_path):
    server = start_server(bundle_path, metrics_address="127.0.0.1:0")
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.TaggerServiceStub(channel)
            stub.TagParagraphs(pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=rows()[0][0])]))
            with pytest.raises(grpc.RpcError):
                stub.TagParagraphs(pb.TagParagraphsRequest())
        url = f"http://127.0.0.1:{server.running.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
        assert 'tagger_calls_total{rpc="TagParagraphs",code="OK"} 1' in text
        assert 'tagger_calls_total{rpc="TagParagraphs",code="INVALID_ARGUMENT"} 1' in text
        assert 'tagger_call_duration_seconds_count{rpc="TagParagraphs"} 2' in text
        assert "tagger_paragraphs_scored_total 1" in text and 'tagger_labels_assigned_total{label="defence"} 1' in text
        assert f'tagger_model_info{{version="{server.models.current.version}"}} 1' in text
        assert 'tagger_model_reloads_total{outcome="refused"} 0' in text
    finally:
        server.stop()


def test_malicious_model_is_refused_at_reload_and_never_runs(tmp_path, bundle_path):
    model = copy_model(bundle_path, tmp_path)
    server = start_server(model, model_key="", reload_seconds=0.1)
    marker = tmp_path / "pwned"
    try:
        payload = pickle.dumps(_WritesAFile(marker))
        card = json.loads(card_path(model).read_text())
        card["artifact"]["sha256"] = sha256_bytes(payload)
        card["sklearn_version"] = "0.0.0"
        del card["tables"]  # without tables the loader unpickles: the version check must stop it first
        model.write_bytes(payload)
        card_path(model).write_text(json.dumps(card))
        assert wait_for(lambda: server.models.reloads["refused"] == 1)
        assert not marker.exists()
        assert current_version(server.address) == server.models.current.version
    finally:
        server.stop()


def test_worker_processes_score_large_batches_like_the_main_process(tmp_path, bundle_path, grpc_server):
    model = copy_model(bundle_path, tmp_path)
    server = start_server(model, workers=2, reload_seconds=0.1)
    batch = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=f"{t} {i}") for i, (t, _) in enumerate(rows() * 3)])
    try:
        assert server.running.pool is not None and wait_for(lambda: server.running.pool.ready, 60)
        with grpc.insecure_channel(server.address) as ours, grpc.insecure_channel(grpc_server.address) as inline:
            pooled = pb_grpc.TaggerServiceStub(ours).TagParagraphs(batch)
            expected = pb_grpc.TaggerServiceStub(inline).TagParagraphs(batch)
            assert pooled == expected
            data = write_corpus(
                tmp_path / "more.jsonl", [*rows(), ("The navy commissioned two new frigates.", ("defence",))]
            )
            assert training_main.main(["--data", str(data), "--model", str(model), "--jobs", "1"]) == 0
            new = json.loads(card_path(model).read_text())["version"]
            assert wait_for(lambda: current_version(server.address) == new)
            after = pb_grpc.TaggerServiceStub(ours).TagParagraphs(batch)
            assert after.model_version == new and after.results != expected.results
    finally:
        server.stop()


def test_connection_recycling_loses_no_call_of_a_retrying_client(bundle_path):
    server = start_server(bundle_path, max_connection_age_seconds=0.3, grace_seconds=5.0)
    request = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=rows()[0][0])])
    try:
        with grpc.insecure_channel(server.address, options=[("grpc.service_config", RETRY_UNAVAILABLE)]) as channel:
            stub = pb_grpc.TaggerServiceStub(channel)
            deadline, calls = time.monotonic() + 3.0, 0
            while time.monotonic() < deadline:
                stub.TagParagraphs(request, timeout=5)
                calls += 1
        assert calls > 100
    finally:
        server.stop()
