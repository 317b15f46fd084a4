"""`make bench`: in-process scoring, then served load on loopback against a bare echo server (the ceiling).

Every row is ROUNDS rounds, echo then tagger in turn, each bounded in calls and seconds; prints a table and writes
bench-results/bench.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, NamedTuple

from bench import load
from bench.inprocess import compare
from bench.process import ServerProcess, python_module, start
from service.gen import tagger_service_pb2 as pb
from service.model.bundle import load_bundle
from service.model.loader import load_model
from service.model.scorer import COMPILED
from training.data import SHIPPED_TEST, read_examples

METHOD = "/tagger.v1.TaggerService/TagParagraphs"
STREAM = "/tagger.v1.TaggerService/StreamTagParagraphs"


class Scenario(NamedTuple):
    """One load shape: calls of `per_call` paragraphs, `in_flight` at a time, at most `calls` of them."""

    name: str
    method: str
    in_flight: int
    calls: int
    per_call: int


SCENARIOS = (
    Scenario("single, 1 in flight", METHOD, 1, 3000, 1),
    Scenario("single, 8 in flight", METHOD, 8, 12000, 1),
    Scenario("single, 32 in flight", METHOD, 32, 12000, 1),
    Scenario("batch of 64, 8 in flight", METHOD, 8, 600, 64),
    Scenario("batch of 1000, 2 in flight", METHOD, 2, 60, 1000),
    Scenario("stream, window 8", STREAM, 8, 12000, 1),
)
# Each scenario runs in ROUNDS rounds of ROUND_SECONDS, echo then tagger in turn, so that a noisy second on a shared
# machine falls on both servers alike; a row sums the rounds (calls/s over all of them, percentiles of all latencies).
ROUNDS = 4
ROUND_SECONDS = 1.0


def payloads(texts: list[str], per_call: int, method: str) -> list[bytes]:
    """Serialised requests: TagParagraphs with `per_call` paragraphs, or one stream message per paragraph."""
    if method == STREAM:
        return [pb.StreamTagParagraphsRequest(paragraph=pb.Paragraph(text=t)).SerializeToString() for t in texts]
    texts = texts * -(-per_call // len(texts))  # a batch larger than the test split repeats it
    chunks = [texts[i : i + per_call] for i in range(0, len(texts) - per_call + 1, per_call)]
    return [pb.TagParagraphsRequest(paragraphs=[pb.Paragraph(text=t) for t in c]).SerializeToString() for c in chunks]


class Measured(NamedTuple):
    """One server's runs of a scenario: the load they measured and the server's CPU seconds over them."""

    load: load.LoadResult
    cpu_seconds: float

    def summary(self) -> dict[str, Any]:
        """The load's summary with the server's CPU time per call."""
        summary = self.load.summary()
        summary["server_cpu_ms_per_call"] = round(self.cpu_seconds * 1000 / max(self.load.calls, 1), 3)
        return summary


def measure(server: ServerProcess, scenario: Scenario, data: list[bytes], connections: int) -> dict[str, Any]:
    """The summary of ROUNDS rounds of the scenario against `server` alone."""
    return combined([one_round(server, scenario, data, connections) for _ in range(ROUNDS)]).summary()


def one_round(server: ServerProcess, scenario: Scenario, data: list[bytes], connections: int) -> Measured:
    """One load run of a round against `server`, with the server's CPU time over the measured calls (the warm-up
    calls excluded)."""
    cpu_at_start: list[float] = []

    def mark() -> None:
        cpu_at_start.append(server.cpu_seconds())

    calls = max(scenario.calls // ROUNDS, 1)
    if scenario.method == STREAM:
        run = load.stream(
            server.address,
            scenario.method,
            data,
            window=scenario.in_flight,
            connections=connections,
            max_messages=calls,
            max_seconds=ROUND_SECONDS,
            on_start=mark,
        )
    else:
        run = load.unary(
            server.address,
            scenario.method,
            data,
            in_flight=scenario.in_flight,
            connections=connections,
            max_calls=calls,
            max_seconds=ROUND_SECONDS,
            items_per_call=scenario.per_call,
            on_start=mark,
        )
    result = asyncio.run(run)
    return Measured(result, server.cpu_seconds() - cpu_at_start[0])


def combined(runs: list[Measured]) -> Measured:
    """The rounds of one server as one measurement."""
    return Measured(
        load.LoadResult(
            calls=sum(run.load.calls for run in runs),
            errors=sum(run.load.errors for run in runs),
            seconds=sum(run.load.seconds for run in runs),
            latencies=tuple(latency for run in runs for latency in run.load.latencies),
            items_per_call=runs[0].load.items_per_call,
        ),
        sum(run.cpu_seconds for run in runs),
    )


def side_by_side(
    echo: ServerProcess, tagger: ServerProcess, scenario: Scenario, data: list[bytes], connections: int
) -> dict[str, Any]:
    """The scenario's row: ROUNDS rounds of echo then tagger, summed per server, and the tagger's ratios."""
    rounds = [
        (one_round(echo, scenario, data, connections), one_round(tagger, scenario, data, connections))
        for _ in range(ROUNDS)
    ]
    ceiling = combined([e for e, _ in rounds]).summary()
    ours = combined([t for _, t in rounds]).summary()
    return {
        "scenario": scenario.name,
        "connections": connections,
        "echo": ceiling,
        "tagger": ours,
        "x_echo_calls": round(ours["calls_per_s"] / ceiling["calls_per_s"], 3),
        "x_echo_p99": round(ours["p99_ms"] / ceiling["p99_ms"], 3),
        "x_echo_calls_by_round": [round(_rate(t) / _rate(e), 3) for e, t in rounds],
    }


def _rate(run: Measured) -> float:
    return run.load.calls / run.load.seconds


def served(model_path: Path, texts: list[str], workers: int | None, scorer: str) -> dict[str, Any]:
    """Every scenario over 1 and 4 connections, the echo server and the tagger with `scorer` (TAGGER_SCORER) side by
    side; plus start-up time and memory."""
    env = {"TAGGER_ADDRESS": "127.0.0.1:0", "TAGGER_MODEL_PATH": str(model_path), "TAGGER_SCORER": scorer}
    if workers:
        env["TAGGER_WORKERS"] = str(workers)
    echo = start(python_module("bench.echo"), health=False)
    tagger = start(python_module("service"), env)
    time.sleep(1.0)  # let worker processes finish loading before measuring
    try:
        rows = [
            side_by_side(echo, tagger, scenario, payloads(texts, scenario.per_call, scenario.method), connections)
            for connections in (1, 4)
            for scenario in SCENARIOS
        ]
        memory = tagger.memory()
    finally:
        exit_status = tagger.stop()
        echo.stop()
    restart = start(python_module("service"), env)
    restart.stop()
    return {
        "rows": rows,
        "seconds_to_serving": round(restart.seconds_to_ready, 3),
        "first_start_seconds_to_serving": round(tagger.seconds_to_ready, 3),
        "memory": memory,
        "exit_status_after_sigterm": exit_status,
    }


def print_report(report: dict[str, Any]) -> None:
    """The human table."""
    for batch, figures in report.get("in_process", {}).items():
        if batch.startswith("batch"):
            print(f"in process, {batch} (ms per paragraph): " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    if "in_process" in report:
        print(f"equality: {report['in_process']['equality']}")
    for scorer, figures in report["served"].items():
        print_served(scorer, figures)


def print_served(scorer: str, served: dict[str, Any]) -> None:
    """The served table of one scorer."""
    print(
        f"\n[{scorer}] {'scenario':<26}{'conns':>5} {'echo c/s':>9} {'tagger c/s':>10} {'x echo':>7} {'para/s':>9} "
        f"{'p50':>7} {'p90':>7} {'p99':>7} {'echo p99':>8} {'x p99':>6} {'cpu/call':>8}  x echo by round"
    )
    for row in served["rows"]:
        t, e = row["tagger"], row["echo"]
        print(
            f"{row['scenario']:<26}{row['connections']:>5} {e['calls_per_s']:>9.0f} {t['calls_per_s']:>10.0f} "
            f"{row['x_echo_calls']:>7.2f} {t['items_per_s']:>9.0f} {t['p50_ms']:>7.2f} {t['p90_ms']:>7.2f} "
            f"{t['p99_ms']:>7.2f} {e['p99_ms']:>8.2f} {row['x_echo_p99']:>6.2f} {t['server_cpu_ms_per_call']:>8.3f}  "
            + " ".join(f"{ratio:.2f}" for ratio in row["x_echo_calls_by_round"])
            + (f"  errors {t['errors']}" if t["errors"] else "")
        )
    print(
        f"start to SERVING: {served['seconds_to_serving']} s "
        f"(first start {served['first_start_seconds_to_serving']} s); "
        f"exit status after SIGTERM: {served['exit_status_after_sigterm']}"
    )
    for row in served["memory"]:
        print(f"  pid {row['pid']}: RSS {row['rss_mib']} MiB, PSS {row['pss_mib']} MiB")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write bench-results/bench.json."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/tagger.joblib"))
    parser.add_argument("--workers", type=int, help="TAGGER_WORKERS for the served runs (default: the server's)")
    parser.add_argument("--out", type=Path, default=Path("bench-results/bench.json"))
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument(
        "--scorers", default="compiled,python" if COMPILED else "python", help="TAGGER_SCORER values to serve with"
    )
    args = parser.parse_args(argv)
    texts = [e.text for e in read_examples([SHIPPED_TEST])]
    report: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": len(__import__("os").sched_getaffinity(0)),
            "processor": platform.processor() or platform.machine(),
        }
    }
    if not args.skip_in_process:
        _, bundle = load_bundle(args.model)
        report["in_process"] = compare(load_model(args.model), bundle["pipeline"], texts)
    report["served"] = {scorer: served(args.model, texts, args.workers, scorer) for scorer in args.scorers.split(",")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
