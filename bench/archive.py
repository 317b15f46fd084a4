"""`make bench-archive`: the archive job embedded with 1 and 2 worker processes against a plain single-process loop
over the same model and scorer, on a synthetic archive of corpus sentences recombined into paragraphs (written once
to bench-results/archive/). Also runs the job's own partition code in one process without Dask, which is what the
engine costs one worker. Each is run `--rounds` times (default 3) and the best run reported. Prints paragraphs/s,
seconds and peak RSS per worker; writes bench-results/archive.json and exits 1 unless 2 workers reach 1.6x one
worker, one worker 0.8x the plain loop and, with the compiled scorer, one worker 30,000 paragraphs/s."""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from service.archive.cluster import dask_client
from service.archive.job import ArchiveJob, tag_archive
from service.archive.output import OutputFolder
from service.archive.partition import write_partition
from service.archive.plan import number, scan
from service.domain.tags import Options
from service.model.loader import load_model
from training.data import SHIPPED_TRAIN

PARAGRAPHS = 500_000
BATCH = 512
# Paragraphs per second one worker reaches with the compiled scorer (issue 13).
COMPILED_FLOOR = 30_000
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"\u201c])")


def synthetic_archive(folder: Path, paragraphs: int, seed: int = 13) -> Path:
    """A JSONL archive of `paragraphs` rows (`id`, `text`, `desk`), each 1-4 corpus sentences drawn at random;
    written once (to a temporary name, then renamed) and reused."""
    path = folder / f"archive-{paragraphs}.jsonl"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    texts = [json.loads(line)["text"] for line in SHIPPED_TRAIN.read_text(encoding="utf-8").splitlines() if line]
    sentences = [s for text in texts for s in SENTENCE.split(text) if len(s) > 20]
    draw = random.Random(seed)
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as file:
        for i in range(paragraphs):
            text = " ".join(draw.choices(sentences, k=draw.randint(1, 4)))
            file.write(json.dumps({"id": f"p{i}", "text": text, "desk": f"d{i % 7}"}, ensure_ascii=False) + "\n")
    temporary.rename(path)
    return path


def plain_loop(archive: Path, model_path: Path, out: Path) -> dict[str, float]:
    """Read, tag and write the archive in one process with the model layer's scorer, as a script would; run in a
    child process so that its peak RSS is its own."""
    model = load_model(model_path)
    started = time.perf_counter()
    with archive.open(encoding="utf-8") as source, out.open("w", encoding="utf-8") as sink:
        while batch := [json.loads(line) for _, line in zip(range(BATCH), source, strict=False)]:
            for row, tags in zip(batch, model.tag([row["text"] for row in batch], Options()), strict=True):
                scores = {s.label: s.score for s in tags.scores}
                result = {"id": row["id"], "labels": list(tags.labels), "scores": scores, "desk": row["desk"]}
                sink.write(json.dumps(result, ensure_ascii=False) + "\n")
    return {"seconds": time.perf_counter() - started, "peak_rss_mib": peak_rss_mib()}


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def without_dask(archive: Path, model_path: Path, out: Path) -> dict[str, float]:
    """The job's own partition code (service.archive.partition) over the job's partitions, one after another in
    one process, after the model loads and gc.freeze() as on a worker: the job's work without the engine. Run in a
    child process, like the plain loop."""
    job = ArchiveJob((str(archive),), out, model_path)
    model = load_model(model_path)
    gc.collect()
    gc.freeze()
    started = time.perf_counter()
    folder = OutputFolder(out)
    folder.prepare(overwrite=False)
    for partition in number([scan(str(archive), job.partition_rows)]):
        write_partition(
            model, partition, folder, {"model_version": model.version}, options=job.options, limits=job.limits
        )
    return {"seconds": time.perf_counter() - started, "peak_rss_mib": peak_rss_mib()}


def embedded(archive: Path, model_path: Path, out: Path, workers: int) -> dict[str, Any]:
    """The job on an embedded LocalCluster of `workers` processes; seconds are the job's own (start-up apart)."""
    started = time.perf_counter()
    with dask_client("", workers) as client:
        startup = time.perf_counter() - started
        summary = tag_archive(ArchiveJob((str(archive),), out, model_path), client)
        rss = client.run(peak_rss_mib)
    return {
        "workers": workers,
        "seconds": summary.seconds,
        "paragraphs_per_second": summary.paragraphs_per_second,
        "cluster_startup_seconds": startup,
        "peak_rss_mib_per_worker": sorted(rss.values()),
    }


def in_child(run: Callable[[Path, Path, Path], dict[str, float]], *args: Path) -> dict[str, float]:
    """`run(*args)` in a fresh process, so that its peak RSS and its heap are its own."""
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as child:
        return child.submit(run, *args).result()


def main(argv: list[str] | None = None) -> int:
    """Run the measurements, write the report, and return 0 when every floor is met."""
    parser = argparse.ArgumentParser(prog="python -m bench.archive", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/tagger.joblib"))
    parser.add_argument("--paragraphs", type=int, default=PARAGRAPHS)
    parser.add_argument("--cache", type=Path, default=Path("bench-results/archive"))
    parser.add_argument("--out", type=Path, default=Path("bench-results/archive.json"))
    parser.add_argument("--rounds", type=int, default=3, help="runs of each measurement; the best is reported")
    args = parser.parse_args(argv)
    archive = synthetic_archive(args.cache, args.paragraphs)
    singles: dict[str, list[dict[str, float]]] = {"plain_loop": [], "without_dask": []}
    jobs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as scratch:
        for round_ in range(args.rounds):  # this machine drifts: each figure is the best of its rounds
            singles["plain_loop"].append(in_child(plain_loop, archive, args.model, Path(scratch) / "plain.jsonl"))
            out = Path(scratch) / f"alone-{round_}"
            singles["without_dask"].append(in_child(without_dask, archive, args.model, out))
            for workers, found in jobs.items():
                found.append(embedded(archive, args.model, Path(scratch) / f"out-{round_}-{workers}", workers))
    report = _report(args, singles, [min(found, key=lambda run: run["seconds"]) for found in jobs.values()])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return _print(report)


def _report(
    args: argparse.Namespace, singles: dict[str, list[dict[str, float]]], runs: list[dict[str, Any]]
) -> dict[str, Any]:
    """The figures: the best run of each, their ratios, and which floors are met."""
    loop, alone = (min(found, key=lambda run: run["seconds"]) for found in singles.values())
    for run in (loop, alone):
        run["paragraphs_per_second"] = args.paragraphs / run["seconds"]
    one, two = runs
    scorer = load_model(args.model).implementation
    floors = {
        "two_vs_one_worker": (two["paragraphs_per_second"] / one["paragraphs_per_second"], 1.6),
        "one_worker_vs_plain_loop": (one["paragraphs_per_second"] / loop["paragraphs_per_second"], 0.8),
    }
    if scorer == "compiled":  # the floor for a single worker applies to the compiled scorer
        floors["one_worker_paragraphs_per_second"] = (one["paragraphs_per_second"], COMPILED_FLOOR)
    return {
        "paragraphs": args.paragraphs,
        "rounds": args.rounds,
        "scorer": scorer,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "node": platform.node()},
        "date": datetime.date.today().isoformat(),
        "plain_loop": loop,
        "without_dask": alone,
        "embedded": runs,
        "one_worker_vs_without_dask": one["paragraphs_per_second"] / alone["paragraphs_per_second"],
        "floors": {
            name: {"measured": value, "floor": floor, "met": value >= floor} for name, (value, floor) in floors.items()
        },
    }


def _print(report: dict[str, Any]) -> int:
    """Print the report as a table and the floors; 0 when every floor is met, else 1."""
    print(f"{report['paragraphs']} paragraphs, {report['scorer']} scorer, best of {report['rounds']} round(s)")
    print(f"{'run':<30}{'paragraphs/s':>14}{'seconds':>10}  peak RSS per worker (MiB)")
    for name, key in (("plain loop", "plain_loop"), ("job's code, no Dask, 1 process", "without_dask")):
        run = report[key]
        print(f"{name:<30}{run['paragraphs_per_second']:>14,.0f}{run['seconds']:>10.1f}  {run['peak_rss_mib']:.0f}")
    for run in report["embedded"]:
        rss = ", ".join(f"{r:.0f}" for r in run["peak_rss_mib_per_worker"])
        name = f"embedded, {run['workers']} worker(s)"
        print(f"{name:<30}{run['paragraphs_per_second']:>14,.0f}{run['seconds']:>10.1f}  {rss}")
    print(f"1 worker / the job's code without Dask: {report['one_worker_vs_without_dask']:.2f}x (what Dask costs)")
    for name, floor in report["floors"].items():
        verdict = "met" if floor["met"] else "MISSED"
        print(f"{name.replace('_', ' ')}: {floor['measured']:,.2f} (floor {floor['floor']:,}): {verdict}")
    return 0 if all(floor["met"] for floor in report["floors"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
