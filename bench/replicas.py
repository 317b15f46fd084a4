"""`make bench-replicas`: calls/s and their spread over three replicas on 127.0.0.1, .2 and .3 at one port (what a
headless Service's name resolves to) against one replica, through one channel with the shipped service config
(service/cli/grpc_service_config.json); a pick_first control; then a rolling restart under load (SIGTERM each
replica, start it again, the next one once it serves). Bounded in calls and seconds; writes
bench-results/replicas.json. Run it under the shared lock: `flock /tmp/tagger-bench.lock make bench-replicas`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc

from bench.process import ServerProcess, python_module, start
from service.cli.channel import SERVICE_CONFIG
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from training.data import SHIPPED_TEST, read_examples

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


@dataclasses.dataclass
class Tally:
    """What a load run saw: answers per replica and per model version, failures by status, and wall time."""

    replicas: Counter[str] = dataclasses.field(default_factory=Counter)
    versions: Counter[str] = dataclasses.field(default_factory=Counter)
    failures: Counter[str] = dataclasses.field(default_factory=Counter)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        calls = sum(self.replicas.values())
        shares = {name: round(count / calls, 3) for name, count in sorted(self.replicas.items())} if calls else {}
        return {
            "calls": calls,
            "calls_per_s": round(calls / self.seconds, 1),
            "share_per_replica": shares,
            "failures": dict(self.failures),
            "versions": dict(self.versions),
        }


def start_replicas(model: Path, count: int) -> list[ServerProcess]:
    """`count` servers as replicas r1.. on HOSTS at one port: the first picks a free port, the others take it."""
    replicas: list[ServerProcess] = []
    port = 0
    for number in range(1, count + 1):
        replicas.append(start_replica(model, number, port))
        port = int(replicas[0].address.rsplit(":", 1)[1])
    return replicas


def start_replica(model: Path, number: int, port: int) -> ServerProcess:
    """`python -m service` as replica r<number> on HOSTS[number - 1]:port (port 0: a free one)."""
    env = {"TAGGER_ADDRESS": f"{HOSTS[number - 1]}:{port}", "TAGGER_REPLICA": f"r{number}"}
    return start(python_module("service"), env={"TAGGER_MODEL_PATH": str(model), **env})


async def drive(target: str, balanced: bool, texts: list[str], in_flight: int, until: asyncio.Event) -> Tally:
    """Keep `in_flight` single-paragraph TagParagraphs calls going over one channel to `target` until `until`."""
    options: list[tuple[str, Any]] = [("grpc.use_local_subchannel_pool", 1)]
    options += [("grpc.service_config", SERVICE_CONFIG)] if balanced else []
    tally, requests = (
        Tally(),
        itertools.cycle([pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=t)]) for t in texts]),
    )
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        stub = pb_grpc.TaggerServiceStub(channel)

        async def caller() -> None:
            while not until.is_set():
                call = stub.TagParagraphs(next(requests), timeout=30)
                try:
                    response = await call
                except grpc.aio.AioRpcError as error:
                    tally.failures[error.code().name] += 1
                    continue
                tally.replicas[dict(await call.trailing_metadata())["tagger-replica"]] += 1
                tally.versions[response.model_version] += 1

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(in_flight)))
        tally.seconds = time.perf_counter() - started
    return tally


async def steady(replicas: list[ServerProcess], balanced: bool, texts: list[str], seconds: float) -> dict[str, Any]:
    """Load for `seconds`, with each replica's CPU time over the run (cores used on average)."""
    until = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, until.set)
    cpu = [replica.cpu_seconds() for replica in replicas]
    tally = await drive(_target(replicas), balanced, texts, 8, until)
    cores = [round((r.cpu_seconds() - c) / tally.seconds, 2) for r, c in zip(replicas, cpu, strict=True)]
    rss = [max(row["rss_mib"] for row in replica.memory()) for replica in replicas]
    return tally.summary() | {"cores_per_replica": cores, "rss_mib_per_replica": rss}


async def rolling_restart(replicas: list[ServerProcess], model: Path, texts: list[str]) -> dict[str, Any]:
    """Under load, SIGTERM each replica in turn and start it again on `model`; the next goes once it serves
    (maxUnavailable 0, one replica at a time). Then two more seconds of load."""
    until, port = asyncio.Event(), int(replicas[0].address.rsplit(":", 1)[1])
    load = asyncio.create_task(drive(_target(replicas), True, texts, 8, until))
    await asyncio.sleep(2.0)
    started = time.perf_counter()
    for index in range(len(replicas)):
        await asyncio.to_thread(replicas[index].stop)
        replicas[index] = await asyncio.to_thread(start_replica, model, index + 1, port)
    rolled = time.perf_counter() - started
    await asyncio.sleep(2.0)
    until.set()
    return (await load).summary() | {"roll_seconds": round(rolled, 1)}


def _target(replicas: list[ServerProcess]) -> str:
    return "ipv4:" + ",".join(replica.address for replica in replicas)


async def run(model: Path, new_model: Path, seconds: float) -> dict[str, Any]:
    texts = [example.text for example in read_examples([SHIPPED_TEST])]
    results: dict[str, Any] = {}
    one = start_replicas(model, 1)
    try:
        results["1 replica"] = await steady(one, True, texts, seconds)
    finally:
        for replica in one:
            replica.stop()
    three = start_replicas(model, 3)
    try:
        results["3 replicas, round_robin"] = await steady(three, True, texts, seconds)
        results["3 replicas, pick_first"] = await steady(three, False, texts, seconds)
        results["rolling restart of 3"] = await rolling_restart(three, new_model, texts)
    finally:
        for replica in three:
            replica.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/tagger.joblib"))
    parser.add_argument("--new-model", type=Path, help="the model the rolling restart starts (default: --model)")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per steady run (default 10)")
    args = parser.parse_args()
    results = asyncio.run(run(args.model, args.new_model or args.model, args.seconds))
    for name, figures in results.items():
        print(f"{name:28} {json.dumps(figures)}")
    Path("bench-results").mkdir(exist_ok=True)
    Path("bench-results/replicas.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
