"""`make bench-memory`: RSS over a million scorings with each scorer, one paragraph per call and in batches of 64.

Each run scores the test split over and over in this process and reads the resident set size every 100,000
paragraphs; after the first 100,000 (the warm-up: allocator pools, caches) it must stay within the tolerance.
Exits 1 when any run grows more; writes bench-results/memory.json."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from service.model.loader import load_model
from service.model.scorer import COMPILED, Implementation
from training.data import SHIPPED_TEST, read_examples

_PAGE = os.sysconf("SC_PAGE_SIZE")
EVERY = 100_000


def rss_mib() -> float:
    """This process's resident set size in MiB."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * _PAGE / (1 << 20)


def run(
    model_path: Path, implementation: Implementation, batch: int, texts: Sequence[str], total: int
) -> dict[str, Any]:
    """Score `total` paragraphs in calls of `batch`; RSS every EVERY paragraphs."""
    scores = load_model(model_path, implementation=implementation).scorer.scores
    chunks = [texts[i : i + batch] for i in range(0, len(texts) - batch + 1, batch)]
    gc.collect()
    samples = [round(rss_mib(), 2)]
    started, done, turn = time.perf_counter(), 0, 0
    while done < total:
        scores(chunks[turn % len(chunks)])
        done, turn = done + batch, turn + 1
        if done // EVERY != (done - batch) // EVERY:
            samples.append(round(rss_mib(), 2))
    seconds = time.perf_counter() - started
    after_warmup = samples[1:]
    return {
        "scorer": implementation,
        "batch": batch,
        "paragraphs": done,
        "seconds": round(seconds, 1),
        "rss_mib": samples,
        "growth_after_warmup_mib": round(max(after_warmup) - after_warmup[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every scorer and batch size; exit 1 if RSS grew past the tolerance after the warm-up in any run."""
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/tagger.joblib"))
    parser.add_argument("--paragraphs", type=int, default=1_000_000)
    parser.add_argument("--tolerance-mib", type=float, default=1.0, help="largest growth allowed after the warm-up")
    parser.add_argument("--out", type=Path, default=Path("bench-results/memory.json"))
    args = parser.parse_args(argv)
    texts = [example.text for example in read_examples([SHIPPED_TEST])]
    implementations: tuple[Implementation, ...] = ("compiled", "python") if COMPILED else ("python",)
    runs = []
    for implementation in implementations:
        for batch in (1, 64):
            result = run(args.model, implementation, batch, texts, args.paragraphs)
            verdict = "ok" if result["growth_after_warmup_mib"] <= args.tolerance_mib else "GREW"
            print(
                f"{implementation:>8} batch {batch:>2}: {result['paragraphs']:,} paragraphs in {result['seconds']} s, "
                f"RSS MiB {result['rss_mib']} -> growth after warm-up {result['growth_after_warmup_mib']} MiB "
                f"({verdict}, tolerance {args.tolerance_mib})",
                flush=True,
            )
            runs.append(result | {"ok": verdict == "ok"})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"tolerance_mib": args.tolerance_mib, "runs": runs}, indent=2))
    print(f"written to {args.out}")
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
