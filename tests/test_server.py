"""The server as operators see it: health, reflection, live model rollout, refused reloads, TLS, the in-flight cap."""

from __future__ import annotations

import json
import pickle
import threading
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from prometheus_client.parser import text_string_to_metric_families

from service.api.server import SERVICE_NAME, set_serving
from service.cli.channel import SERVICE_CONFIG
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.model.card import card_path, sha256_bytes
from tests.corpus import rows
from tests.harness import (
    WritesAFile,
    copy_model,
    current_version,
    health_status,
    start_server,
    wait_for,
    write_corpus,
)
from training import __main__ as training_main
from training.rollback import rollback


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


def test_new_model_is_picked_up_and_a_bad_one_is_refused(tmp_path, bundle_path):
    model = copy_model(bundle_path, tmp_path)
    server = start_server(model, reload_seconds=0.1)
    try:
        old = current_version(server.address)
        data = write_corpus(
            tmp_path / "more.jsonl", [*rows(), ("The navy commissioned two new frigates.", ("defence",))]
        )
        assert training_main.main(["--data", str(data), "--model", str(model), "--jobs", "1", "--no-word-vectors"]) == 0
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


def test_a_full_server_refuses_at_once_naming_the_cap_answers_health_and_frees_its_place(bundle_path):
    server = start_server(bundle_path, max_concurrent=1)
    request = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text="Troops crossed the border.")])
    try:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.TaggerServiceStub(channel)
            more = threading.Event()

            def messages():
                yield pb.StreamTagParagraphsRequest(paragraph=pb.Paragraph(text="The budget was cut."))
                more.wait(10)  # the open stream holds the one place until the test lets it end

            stream = stub.StreamTagParagraphs(messages())
            assert next(stream).model_version  # the stream is in flight
            with pytest.raises(grpc.RpcError) as excinfo:
                stub.TagParagraphs(request)
            assert excinfo.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "at the limit of 1 (max_concurrent)" in excinfo.value.details()
            assert health_status(server.address, SERVICE_NAME) == health_pb2.HealthCheckResponse.SERVING
            more.set()
            assert list(stream) == []
            assert wait_for(lambda: _answers(stub, request))  # the stream's place is free again
    finally:
        server.stop()


def _answers(stub: pb_grpc.TaggerServiceStub, request: pb.TagParagraphsRequest) -> bool:
    try:
        return bool(stub.TagParagraphs(request).results)
    except grpc.RpcError:
        return False


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
        assert server.running.metrics is not None
        url = f"http://127.0.0.1:{server.running.metrics.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            samples = {
                (sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(response.read().decode())
                for sample in family.samples
            }
        assert samples["tagger_calls_total", (("code", "OK"), ("rpc", "TagParagraphs"))] == 1
        assert samples["tagger_calls_total", (("code", "INVALID_ARGUMENT"), ("rpc", "TagParagraphs"))] == 1
        assert samples["tagger_call_duration_seconds_count", (("rpc", "TagParagraphs"),)] == 2
        assert samples["tagger_call_duration_seconds_bucket", (("le", "+Inf"), ("rpc", "TagParagraphs"))] == 2
        assert samples["tagger_paragraphs_scored_total", ()] == 1
        assert samples["tagger_labels_assigned_total", (("label", "defence"),)] == 1
        assert samples["tagger_model_info", (("version", server.models.current.version),)] == 1
        assert samples["tagger_model_reloads_total", (("outcome", "refused"),)] == 0
        assert samples["process_resident_memory_bytes", ()] > 0  # prometheus_client's process metrics
    finally:
        server.stop()


def test_malicious_model_is_refused_at_reload_and_never_runs(tmp_path, bundle_path):
    model = copy_model(bundle_path, tmp_path)
    server = start_server(model, model_key="", reload_seconds=0.1)
    marker = tmp_path / "pwned"
    try:
        payload = pickle.dumps(WritesAFile(marker))
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
        pool = server.running.pool
        assert pool is not None and wait_for(lambda: len(pool.ready(server.models.current.version)) == 2, 60)
        with grpc.insecure_channel(server.address) as ours, grpc.insecure_channel(grpc_server.address) as inline:
            pooled = pb_grpc.TaggerServiceStub(ours).TagParagraphs(batch)
            expected = pb_grpc.TaggerServiceStub(inline).TagParagraphs(batch)
            assert pooled == expected
            data = write_corpus(
                tmp_path / "more.jsonl", [*rows(), ("The navy commissioned two new frigates.", ("defence",))]
            )
            assert (
                training_main.main(["--data", str(data), "--model", str(model), "--jobs", "1", "--no-word-vectors"])
                == 0
            )
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
        with grpc.insecure_channel(server.address, options=[("grpc.service_config", SERVICE_CONFIG)]) as channel:
            stub = pb_grpc.TaggerServiceStub(channel)
            deadline, calls = time.monotonic() + 3.0, 0
            while time.monotonic() < deadline:
                stub.TagParagraphs(request, timeout=5)
                calls += 1
        assert calls > 100
    finally:
        server.stop()


def test_stop_finishes_every_call_a_handler_started(bundle_path):
    server = start_server(bundle_path, metrics_address="127.0.0.1:0", grace_seconds=10.0)
    assert server.running.metrics is not None
    registry = server.running.metrics.metrics.registry
    batch = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=t) for t, _ in rows()])
    answered: list[int] = []
    stopping = threading.Event()

    def client() -> None:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.TaggerServiceStub(channel)
            while not stopping.is_set():
                try:
                    stub.TagParagraphs(batch, timeout=10)
                    answered.append(1)
                except grpc.RpcError:
                    assert stopping.is_set(), "a call failed before the stop"
                    return

    threads = [threading.Thread(target=client) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    stopping.set()
    server.stop(10.0)
    for thread in threads:
        thread.join(timeout=15)
    started = {
        sample.labels["code"]: sample.value
        for family in registry.collect()
        if family.name == "tagger_calls"
        for sample in family.samples
        if sample.name == "tagger_calls_total"
    }
    # every call that reached a handler ended OK and its answer reached the client
    assert len(answered) > 50 and started == {"OK": len(answered)}


def test_rollout_and_rollback_under_load_fail_no_call_and_switch_versions(tmp_path, bundle_path):
    model = copy_model(bundle_path, tmp_path)
    server = start_server(model, workers=2, reload_seconds=0.1)
    texts = [t for t, _ in rows()]
    batch = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=texts[i % len(texts)]) for i in range(200)])
    seen: list[list[str]] = [[], []]  # the versions each client's answers carried, in order
    failures: list[grpc.StatusCode] = []
    done = threading.Event()

    def client(versions: list[str]) -> None:
        with grpc.insecure_channel(server.address) as channel:
            stub = pb_grpc.TaggerServiceStub(channel)
            while not done.is_set():
                try:
                    versions.append(stub.TagParagraphs(batch, timeout=30).model_version)
                except grpc.RpcError as error:
                    failures.append(error.code())

    threads = [threading.Thread(target=client, args=(versions,)) for versions in seen]
    try:
        first = server.models.current.version
        pool = server.running.pool
        assert pool is not None and wait_for(lambda: len(pool.ready(first)) == 2, 60)
        for thread in threads:
            thread.start()
        data = write_corpus(
            tmp_path / "more.jsonl", [*rows(), ("The navy commissioned two new frigates.", ("defence",))]
        )
        assert training_main.main(["--data", str(data), "--model", str(model), "--jobs", "1", "--no-word-vectors"]) == 0
        second = json.loads(card_path(model).read_text())["version"]
        assert second != first and wait_for(lambda: all(v and v[-1] == second for v in seen), 60)
        rollback(model)
        assert wait_for(lambda: all(v[-1] == first for v in seen), 60)
        assert wait_for(lambda: len(pool.ready(first)) == 2, 60)  # the workers follow the slot
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
    assert failures == []
    for versions in seen:
        assert [v for i, v in enumerate(versions) if i == 0 or versions[i - 1] != v] == [first, second, first]
