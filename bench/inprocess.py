"""In-process scoring: scikit-learn's Pipeline.predict_proba against both fast scorers (pure Python and, where
built, compiled), and their equality."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.model.bundle import compile_pipeline
from service.model.loader import Model
from service.model.scorer import COMPILED, FastScorer

REALWORLD = Path("../shared/data/realworld")


def _per_paragraph_ms(score: Callable[[Sequence[str]], Any], texts: Sequence[str], batch: int) -> float:
    chunks = [texts[i : i + batch] for i in range(0, len(texts), batch)]
    started = time.perf_counter()
    for chunk in chunks:
        score(chunk)
    return (time.perf_counter() - started) * 1000 / len(texts)


def compare(model: Model, pipeline: Any, texts: Sequence[str]) -> dict[str, Any]:
    """Time scikit-learn and each fast scorer over the model's tables on `texts`, one paragraph per call and in
    batches of 64 (best of 3 passes), and check equal scores on the corpus and (when present) the real-world files."""
    tables = compile_pipeline(pipeline)
    scorers = {"python": FastScorer(tables, "python")} | (
        {"compiled": FastScorer(tables, "compiled")} if COMPILED else {}
    )
    report: dict[str, Any] = {}
    for batch in (1, 64):
        figures = {"sklearn_ms_per_paragraph": round(_per_paragraph_ms(pipeline.predict_proba, texts, batch), 4)}
        for name, scorer in scorers.items():
            figures[f"{name}_ms_per_paragraph"] = round(
                min(_per_paragraph_ms(scorer.scores, texts, batch) for _ in range(3)), 4
            )
        if "compiled" in scorers:
            figures["compiled_x_python"] = round(
                figures["python_ms_per_paragraph"] / figures["compiled_ms_per_paragraph"], 1
            )
        report[f"batch_{batch}"] = figures
    check = list(texts)
    for path in sorted(REALWORLD.glob("*.jsonl")):
        check += [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    expected = pipeline.predict_proba(check)
    report["equality"] = {"paragraphs": len(check), "served_by": model.implementation}
    for name, scorer in scorers.items():
        single = np.vstack([scorer.predict_proba([t]) for t in check])
        batched = np.vstack([scorer.predict_proba(check[i : i + 64]) for i in range(0, len(check), 64)])
        report["equality"][f"{name}_max_abs_diff"] = float(
            max(np.abs(single - expected).max(), np.abs(batched - expected).max())
        )
    return report
