"""In-process scoring: scikit-learn's Pipeline.predict_proba against the fast scorer, and their equality."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.model.loader import Model

REALWORLD = Path("../shared/data/realworld")


def _per_paragraph_ms(score: Callable[[Sequence[str]], Any], texts: Sequence[str], batch: int) -> float:
    chunks = [texts[i : i + batch] for i in range(0, len(texts), batch)]
    started = time.perf_counter()
    for chunk in chunks:
        score(chunk)
    return (time.perf_counter() - started) * 1000 / len(texts)


def compare(model: Model, pipeline: Any, texts: Sequence[str]) -> dict[str, Any]:
    """Time both scorers on `texts`, one paragraph per call and in batches of 64, and check equal scores on the
    corpus and (when present) the real-world evaluation files. The fast scorer is the model's, as served."""
    report: dict[str, Any] = {}
    for batch in (1, 64):
        sklearn_ms = _per_paragraph_ms(pipeline.predict_proba, texts, batch)
        fast_ms = _per_paragraph_ms(model.scores, texts, batch)
        report[f"batch_{batch}"] = {
            "sklearn_ms_per_paragraph": round(sklearn_ms, 4),
            "fast_ms_per_paragraph": round(fast_ms, 4),
            "speedup": round(sklearn_ms / fast_ms, 1),
        }
    check = list(texts)
    for path in sorted(REALWORLD.glob("*.jsonl")):
        check += [json.loads(line)["text"] for line in path.open(encoding="utf-8")]
    expected = pipeline.predict_proba(check)
    single = np.vstack([model.predict_proba([t]) for t in check])
    batched = np.vstack([model.predict_proba(check[i : i + 64]) for i in range(0, len(check), 64)])
    report["equality"] = {
        "paragraphs": len(check),
        "max_abs_diff_single": float(np.abs(single - expected).max()),
        "max_abs_diff_batch": float(np.abs(batched - expected).max()),
        "model_fast_scorer": model.fast,
    }
    return report
