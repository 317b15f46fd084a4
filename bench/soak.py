"""`make soak`: steady closed-loop load on loopback for minutes, rolling out model A or B every so often.

Model A is a copy of --model; model B is trained on the training split minus its last 200 lines, so its version
differs. The server watches a temporary folder that first holds A; the other model is copied in the way training
writes one (joblib first, then the card, each renamed into place). Load runs in slices of about 10 seconds;
after each slice the calls, errors, p99, the server's RSS and the version in service are sampled. Prints a table
and a summary, writes bench-results/soak.json, and exits 1 unless there were no errors, the main process's RSS
grew less than 5% after the first minute, and the server exited 0 on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

from bench import load
from bench.__main__ import METHOD, payloads
from bench.process import ServerProcess, python_module, start
from service.config import TrainingSettings, read
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from service.model.bundle import load_bundle
from training.data import SHIPPED_TEST, SHIPPED_TRAIN, read_examples
from training.publish import copy_model, keep_previous

CONNECTIONS = 4
IN_FLIGHT = 8
SLICE_SECONDS = 10.0
MAX_CALLS = 10**9  # slices are bounded in time only
HELD_BACK = 200  # training lines left out of model B
BASELINE_SECONDS = 60.0  # memory growth is measured from the first sample at or after this
MAX_GROWTH_PERCENT = 5.0


@dataclasses.dataclass
class Rollout:
    """Models A and B, the path the server watches (first holding A), and how many swaps were made."""

    models: tuple[Path, Path]
    versions: tuple[str, str]
    served: Path
    every: float
    done: int = 0

    @property
    def due(self) -> float:
        """Seconds into the soak at which the next swap is due."""
        return self.every * (self.done + 1)

    def swap(self) -> None:
        """Put the other model in service as training does: keep the previous pair, joblib first, card last."""
        source = self.models[(self.done + 1) % 2]
        keep_previous(self.served)
        copy_model(source, self.served)
        self.done += 1


@dataclasses.dataclass(frozen=True)
class Sample:
    """One slice of load and what was read after it."""

    elapsed_s: float
    calls: int
    errors: int
    probe_errors: int
    calls_per_s: float
    p99_ms: float
    tree_rss_mib: float
    main_rss_mib: float
    processes: int
    version: str | None
    reloads_seen: int


def copy_into(source: Path, folder: Path) -> Path:
    """Copy a model's files into `folder`, the card last (same file names, so the card's entries still hold)."""
    folder.mkdir(parents=True, exist_ok=True)
    copy_model(source, folder / source.name)
    return folder / source.name


def train_variant(target: Path, subset: Path) -> Path:
    """Train model B at `target` on the training split minus its last HELD_BACK lines (written to `subset`)."""
    lines = SHIPPED_TRAIN.read_text(encoding="utf-8").splitlines(keepends=True)
    subset.write_text("".join(lines[:-HELD_BACK]), encoding="utf-8")
    print(f"training model B on {len(lines) - HELD_BACK} of {len(lines)} lines of {SHIPPED_TRAIN}", flush=True)
    command = python_module("training", "--data", str(subset), "--model", str(target), "--jobs", "1")
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return target


def prepare(model: Path, root: Path, every: float, key: str) -> Rollout:
    """A, B and the served folder (holding A) under `root`; both models verified and of different versions."""
    a = copy_into(model, root / "a")
    b = train_variant(root / "b" / model.name, root / "train-subset.jsonl")
    versions = (load_bundle(a, key)[0].version, load_bundle(b, key)[0].version)
    if versions[0] == versions[1]:
        raise SystemExit(f"models A and B have the same version {versions[0]}; nothing to roll out")
    return Rollout((a, b), versions, copy_into(a, root / "served"), every)


def served_version(address: str) -> str | None:
    """The model version in service (GetModel), or None if the call failed."""
    with grpc.insecure_channel(address) as channel:
        try:
            response = pb_grpc.TaggerServiceStub(channel).GetModel(pb.GetModelRequest(), timeout=5)
        except grpc.RpcError:
            return None
    return str(response.model_version)


async def swap_when_due(rollout: Rollout, started: float, until: float) -> None:
    """Swap models whenever one is due before `until` seconds into the soak (the end is measured, not a reload
    in progress), off the event loop so the load keeps going; runs until cancelled."""
    while rollout.due < until - SLICE_SECONDS / 2:
        await asyncio.sleep(max(started + rollout.due - time.monotonic(), 0.0))
        await asyncio.to_thread(rollout.swap)


async def run_slice(
    address: str, data: list[bytes], seconds: float, rollout: Rollout, *, started: float, until: float
) -> load.LoadResult:
    """One slice of closed-loop load, with any swap that falls due during it."""
    swapper = asyncio.create_task(swap_when_due(rollout, started, until))
    try:
        return await load.unary(
            address,
            METHOD,
            data,
            in_flight=IN_FLIGHT,
            connections=CONNECTIONS,
            max_calls=MAX_CALLS,
            max_seconds=seconds,
        )
    finally:
        # A copy already under way finishes: asyncio.run waits for its thread before returning.
        swapper.cancel()
        await asyncio.gather(swapper, return_exceptions=True)


def sample(
    server: ServerProcess, result: load.LoadResult, elapsed: float, previous: Sample | None, first: str
) -> Sample:
    """What the slice measured, the server's memory now and the version in service (`first` before any sample)."""
    summary, memory = result.summary(), server.memory()
    version = served_version(server.address)
    before, seen = (previous.version, previous.reloads_seen) if previous else (first, 0)
    return Sample(
        elapsed_s=round(elapsed, 1),
        calls=result.calls,
        errors=result.errors,
        probe_errors=int(version is None),
        calls_per_s=summary["calls_per_s"],
        p99_ms=summary["p99_ms"],
        tree_rss_mib=round(sum(row["rss_mib"] for row in memory), 1),
        main_rss_mib=next((row["rss_mib"] for row in memory if row["pid"] == server.process.pid), 0.0),
        processes=len(memory),
        version=version,
        reloads_seen=seen + int(None not in (version, before) and version != before),
    )


def drive(server: ServerProcess, rollout: Rollout, data: list[bytes], seconds: float) -> list[Sample]:
    """Slices of load until `seconds` have passed (at least one), sampling after each."""
    samples: list[Sample] = []
    started = time.monotonic()
    while not samples or time.monotonic() - started < seconds:
        length = min(SLICE_SECONDS, max(seconds - (time.monotonic() - started), 1.0))
        result = asyncio.run(run_slice(server.address, data, length, rollout, started=started, until=seconds))
        previous = samples[-1] if samples else None
        samples.append(sample(server, result, time.monotonic() - started, previous, rollout.versions[0]))
        s = samples[-1]
        print(f"[{s.elapsed_s:6.1f}s] {s.calls} calls, {s.errors} errors, {s.version} in service", flush=True)
    return samples


def soak(rollout: Rollout, data: list[bytes], seconds: float) -> tuple[list[Sample], int]:
    """Start the server on the served folder, drive it, stop it; returns the samples and its exit status."""
    env = {"TAGGER_ADDRESS": "127.0.0.1:0", "TAGGER_MODEL_PATH": str(rollout.served), "TAGGER_RELOAD_SECONDS": "1"}
    server = start(python_module("service"), env)
    print(f"server on {server.address}, ready in {server.seconds_to_ready:.2f} s", flush=True)
    try:
        samples = drive(server, rollout, data, seconds)
    finally:
        exit_status = server.stop()
    return samples, exit_status


def summarise(samples: list[Sample], exit_status: int, rollout: Rollout) -> dict[str, Any]:
    """Totals, versions, memory growth after the first minute, and the checks."""
    base = next((s for s in samples if s.elapsed_s >= BASELINE_SECONDS), samples[0])
    last = samples[-1]
    growth = (last.main_rss_mib - base.main_rss_mib) / base.main_rss_mib * 100
    errors = sum(s.errors + s.probe_errors for s in samples)
    versions = sorted({s.version for s in samples if s.version is not None})
    return {
        "calls": sum(s.calls for s in samples),
        "errors": errors,
        "probe_errors": sum(s.probe_errors for s in samples),
        "versions_seen": versions,
        "distinct_versions": len(versions),
        "rollouts": rollout.done,
        "reloads_seen": last.reloads_seen,
        "baseline_elapsed_s": base.elapsed_s,
        "main_rss_mib": {"baseline": base.main_rss_mib, "last": last.main_rss_mib},
        "main_rss_growth_percent": round(growth, 2),
        "tree_rss_mib": {"baseline": base.tree_rss_mib, "last": last.tree_rss_mib},
        "exit_status": exit_status,
        "checks": {
            "zero errors": errors == 0,
            f"growth under {MAX_GROWTH_PERCENT:g}%": growth < MAX_GROWTH_PERCENT,
            "exit status 0": exit_status == 0,
        },
    }


def print_report(samples: list[Sample], summary: dict[str, Any]) -> None:
    """The table of slices, then the summary and one PASS/FAIL line per check."""
    print(
        f"\n{'elapsed s':>9} {'calls':>7} {'errors':>6} {'calls/s':>8} {'p99 ms':>7} {'tree RSS':>8} "
        f"{'main RSS':>8}  {'version':<16} {'reloads':>7}"
    )
    for s in samples:
        print(
            f"{s.elapsed_s:>9.1f} {s.calls:>7} {s.errors + s.probe_errors:>6} {s.calls_per_s:>8.1f} "
            f"{s.p99_ms:>7.2f} {s.tree_rss_mib:>8.1f} {s.main_rss_mib:>8.1f}  {s.version or '?':<16} "
            f"{s.reloads_seen:>7}"
        )
    rss = summary["main_rss_mib"]
    print(
        f"\ntotal calls: {summary['calls']}\ntotal errors: {summary['errors']} "
        f"(of which GetModel: {summary['probe_errors']})\n"
        f"distinct versions seen: {summary['distinct_versions']} ({', '.join(summary['versions_seen'])}); "
        f"reloads seen: {summary['reloads_seen']} of {summary['rollouts']} rollouts\n"
        f"main RSS growth: {summary['main_rss_growth_percent']:+.2f}% ({rss['baseline']} MiB at "
        f"{summary['baseline_elapsed_s']} s -> {rss['last']} MiB at the end)\n"
        f"exit status after SIGTERM: {summary['exit_status']}"
    )
    for name, passed in summary["checks"].items():
        print(f"{'PASS' if passed else 'FAIL'} {name}")


def main(argv: list[str] | None = None) -> int:
    """Run the soak, print and write the report; 0 only if every check passed."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/tagger.joblib"))
    parser.add_argument("--minutes", type=float, default=10.0, help="how long to keep the load going (default 10)")
    parser.add_argument("--reload-every", type=float, default=60.0, help="seconds between rollouts (default 60)")
    parser.add_argument("--out", type=Path, default=Path("bench-results/soak.json"))
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.reload_every <= 0:
        parser.error("--minutes and --reload-every must be positive")
    data = payloads([e.text for e in read_examples([SHIPPED_TEST])], 1, METHOD)
    with tempfile.TemporaryDirectory(prefix="tagger-soak-") as root:
        key = read(TrainingSettings, None, None, prog="python -m bench.soak").model_key
        rollout = prepare(args.model, Path(root), args.reload_every, key)
        samples, exit_status = soak(rollout, data, args.minutes * 60)
    summary = summarise(samples, exit_status, rollout)
    settings = {"minutes": args.minutes, "reload_every_s": args.reload_every, "slice_s": SLICE_SECONDS}
    settings |= {"connections": CONNECTIONS, "in_flight": IN_FLIGHT, "models": list(rollout.versions)}
    report = {"settings": settings, "slices": [dataclasses.asdict(s) for s in samples], "summary": summary}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print_report(samples, summary)
    print(f"\nwritten to {args.out}")
    return 0 if all(summary["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
