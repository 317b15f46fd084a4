"""Replicas as a headless Service gives them to a client, on one machine: 127.0.0.1, 127.0.0.2 and 127.0.0.3 at one
port, and one channel over all three with the shipped service config (service/cli/grpc_service_config.json)."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import grpc
import pytest

from service.api.server import set_serving
from service.cli.channel import open_channel
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.model.card import card_path
from tests.corpus import rows
from tests.harness import ServerThread, copy_model, start_process, start_server, wait_for, write_corpus
from training.__main__ import train
from training.publish import copy_model as publish

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
REQUEST = pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=rows()[0][0])])


def free_port() -> int:
    """A port free on every host of HOSTS."""
    for _ in range(20):
        with contextlib.ExitStack() as sockets:
            first = sockets.enter_context(socket.socket())
            first.bind((HOSTS[0], 0))
            port = int(first.getsockname()[1])
            try:
                for host in HOSTS[1:]:
                    sockets.enter_context(socket.socket()).bind((host, port))
            except OSError:
                continue
            return port
    raise AssertionError("no port free on every loopback host")


def target(port: int) -> str:
    """The channel target of every replica, as a headless Service's DNS name resolves to its pods."""
    return "ipv4:" + ",".join(f"{host}:{port}" for host in HOSTS)


def replica_of(call: grpc.Call) -> str:
    return str(dict(call.trailing_metadata() or ())["tagger-replica"])


class Load:
    """Client threads calling TagParagraphs over one channel until stopped. `answers` holds each answer's
    (time, replica, model version) in order, `failures` each failed call's status code and message."""

    def __init__(self, channel: grpc.Channel, threads: int = 4) -> None:
        self.stub = pb_grpc.TaggerServiceStub(channel)
        self.answers: list[tuple[float, str, str]] = []
        self.failures: list[tuple[grpc.StatusCode, str]] = []
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        while not self.done.is_set():
            try:
                response, call = self.stub.TagParagraphs.with_call(REQUEST, timeout=30)
            except grpc.RpcError as error:
                self.failures.append((error.code(), f"{error.details()} at {time.monotonic():.3f}"))
            else:
                self.answers.append((time.monotonic(), replica_of(call), response.model_version))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def since(self, moment: float) -> list[tuple[float, str, str]]:
        return [answer for answer in list(self.answers) if answer[0] > moment]

    def serves(self, replica: str, version: str, after: float = 0.0) -> bool:
        return any(r == replica and v == version for _, r, v in self.since(after))


@pytest.fixture
def replicas(request: pytest.FixtureRequest, bundle_path: Path) -> Iterator[list[ServerThread]]:
    """Three in-process replicas, r1 to r3, on HOSTS at one port; a test's `settings` mark overrides settings."""
    marker = request.node.get_closest_marker("settings")
    overrides = marker.kwargs if marker else {}
    port = free_port()
    servers = [
        start_server(bundle_path, address=f"{host}:{port}", replica=f"r{i}", **overrides)
        for i, host in enumerate(HOSTS, 1)
    ]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def new_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second model, trained on the tiny corpus and one more paragraph: another version."""
    folder = tmp_path_factory.mktemp("new-model")
    data = [*rows(), ("The navy commissioned two new frigates for its northern fleet.", ("defence",))]
    train([write_corpus(folder / "corpus.jsonl", data)], folder / "tagger.joblib", None, jobs=1)
    return folder / "tagger.joblib"


def test_round_robin_spreads_calls_over_every_replica_and_pick_first_does_not(replicas):
    port = replicas[0].port
    with open_channel(target(port)) as balanced, grpc.insecure_channel(target(port)) as pinned:
        for channel, expected in ((balanced, "spread"), (pinned, "one")):
            stub = pb_grpc.TaggerServiceStub(channel)
            grpc.channel_ready_future(channel).result(timeout=10)
            counts = Counter(replica_of(stub.TagParagraphs.with_call(REQUEST, timeout=10)[1]) for _ in range(300))
            if expected == "spread":
                assert set(counts) == {"r1", "r2", "r3"} and min(counts.values()) >= 60, counts
            else:
                assert len(counts) == 1, counts


def test_a_draining_replica_gets_no_new_calls_from_a_health_checking_client(replicas):
    with open_channel(target(replicas[0].port)) as channel, Load(channel) as load:
        assert wait_for(lambda: {r for _, r, _ in load.answers} == {"r1", "r2", "r3"}, 10)
        replicas[1].call(set_serving(replicas[1].health, False))
        drained = time.monotonic()
        assert wait_for(lambda: len(load.since(drained + 1.0)) > 100, 10)
        assert {r for _, r, _ in load.since(drained + 1.0)} == {"r1", "r3"}
        replicas[1].call(set_serving(replicas[1].health, True))
        back = time.monotonic()
        assert wait_for(lambda: load.serves("r2", replicas[1].models.current.version, back), 10)
    assert load.failures == []


@pytest.mark.settings(max_connection_age_seconds=0.5, grace_seconds=2.0)
def test_connections_recycled_by_age_fail_no_call_and_reconnect(replicas):
    # pick_first on one replica shows the reconnections: its channel goes back to IDLE when the server ends the
    # connection (GOAWAY at the maximum age) and is READY again at the next call.
    states: list[grpc.ChannelConnectivity] = []
    with (
        grpc.insecure_channel(f"{HOSTS[0]}:{replicas[0].port}") as single,
        open_channel(target(replicas[0].port)) as all_,
    ):
        single.subscribe(states.append)
        with Load(single, threads=2) as one, Load(all_) as spread:
            time.sleep(3.0)
    assert one.failures == [] and spread.failures == []
    assert len(one.answers) > 100 and len(spread.answers) > 100
    assert states.count(grpc.ChannelConnectivity.READY) >= 3, states
    assert {r for _, r, _ in spread.answers} == {"r1", "r2", "r3"}


def _start_replica(model: Path, port: int, number: int, **env: str) -> subprocess.Popen[str]:
    """`python -m service` as replica r<number> on HOSTS[number - 1]:port."""
    address = f"{HOSTS[number - 1]}:{port}"
    process, _ = start_process(
        model, TAGGER_ADDRESS=address, TAGGER_REPLICA=f"r{number}", TAGGER_GRACE_SECONDS="5", **env
    )
    return process


def _terminate(process: subprocess.Popen[str]) -> None:
    """SIGTERM, as Kubernetes stops a pod, and wait for the drain to end."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert process.stderr is not None
    process.stderr.close()


def _stop_all(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            _terminate(process)


def test_rolling_restart_onto_a_new_model_fails_no_call(tmp_path, bundle_path, new_bundle):
    (tmp_path / "old").mkdir(), (tmp_path / "new").mkdir()
    old_model, new_model = copy_model(bundle_path, tmp_path / "old"), copy_model(new_bundle, tmp_path / "new")
    port = free_port()
    processes = [_start_replica(old_model, port, number) for number in (1, 2, 3)]
    old, new = _served_version(HOSTS[0], port), _card_version(new_model)
    try:
        with open_channel(target(port)) as channel, Load(channel) as load:
            assert wait_for(lambda: {r for _, r, _ in load.answers} == {"r1", "r2", "r3"}, 20)
            for i in range(len(HOSTS)):
                _terminate(processes[i])
                processes[i] = _start_replica(new_model, port, i + 1)
                # as with maxUnavailable 0: the next replica goes only when this one serves again
                assert wait_for(partial(load.serves, f"r{i + 1}", new, time.monotonic()), 30)
            finished = time.monotonic()
            assert wait_for(lambda: len(load.since(finished)) > 100, 20)
    finally:
        _stop_all(processes)
    assert load.failures == []
    assert {v for _, _, v in load.answers} == {old, new}
    assert {v for _, _, v in load.since(finished)} == {new}
    assert {r for _, r, _ in load.since(finished)} == {"r1", "r2", "r3"}


def test_replicas_watching_one_model_folder_all_switch_to_a_model_written_there(tmp_path, bundle_path, new_bundle):
    shared = copy_model(bundle_path, tmp_path)  # the shared read-only volume: one folder, every replica reads it
    port = free_port()
    reload_seconds = 1.0
    processes = [_start_replica(shared, port, n, TAGGER_RELOAD_SECONDS=str(reload_seconds)) for n in (1, 2, 3)]
    old = _served_version(HOSTS[0], port)
    try:
        with open_channel(target(port)) as channel, Load(channel) as load:
            assert wait_for(lambda: {r for _, r, _ in load.answers} == {"r1", "r2", "r3"}, 20)
            written = time.monotonic()
            publish(new_bundle, shared)
            new = _card_version(shared)
            assert wait_for(lambda: all(load.serves(f"r{i}", new, written) for i in (1, 2, 3)), 20)
            switched = {
                replica: min(t for t, r, v in load.since(written) if r == replica and v == new) - written
                for replica in ("r1", "r2", "r3")
            }
            settled = time.monotonic()
            assert wait_for(lambda: len(load.since(settled)) > 100, 20)
    finally:
        _stop_all(processes)
    assert load.failures == []
    assert {v for _, _, v in load.answers} == {old, new}
    assert {v for _, _, v in load.since(settled)} == {new}
    # every replica switched within its reload interval (plus the time to load and verify a model)
    assert max(switched.values()) < reload_seconds + 1.0, switched
    for replica in ("r1", "r2", "r3"):  # and once switched, it never answers with the old model again
        first_new = written + switched[replica]
        assert not any(r == replica and v == old for t, r, v in load.since(first_new)), replica


def _served_version(host: str, port: int) -> str:
    with grpc.insecure_channel(f"{host}:{port}") as channel:
        return str(pb_grpc.TaggerServiceStub(channel).GetModel(pb.GetModelRequest(), timeout=10).model_version)


def _card_version(model: Path) -> str:
    return str(json.loads(card_path(model).read_text())["version"])
