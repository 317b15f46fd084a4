"""`make eval` / `python -m training.evaluate`: score a labelled file with a trained model (never retrains)."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.artifact import ArtifactError
from service.model import Model, load_model
from training.data import SHIPPED_TEST, DataError, Example, label_matrix, read_examples
from training.metrics import label_metrics


def evaluate_full(model: Model, examples: Sequence[Example]) -> dict[str, Any]:
    """Per-label precision, recall and F1, micro/macro F1 and Hamming loss, at the model's thresholds."""
    predicted = _predicted(model, examples)
    return {
        "kind": "full",
        "rows": len(examples),
        **label_metrics(label_matrix(examples, model.labels), predicted, model.labels),
    }


def evaluate_partial(model: Model, examples: Sequence[Example]) -> dict[str, Any]:
    """For partial labels: recall of each label on the items that carry it, and each label's false-positive
    rate on items with no label, overall and by category (the part of `orig_label` before " (")."""
    predicted = _predicted(model, examples)
    recall = {}
    for j, label in enumerate(model.labels):
        carriers = [i for i, e in enumerate(examples) if label in e.labels]
        if carriers:
            recall[label] = {
                "recall": round(float(predicted[carriers, j].mean()), 4),
                "support": len(carriers),
            }
    groups: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        if not e.labels:
            groups["all"].append(i)
            groups[str(e.extra.get("orig_label", "unknown")).split(" (")[0]].append(i)
    false_positives = {
        group: {
            "items": len(rows),
            "any_label": round(float(predicted[rows].any(axis=1).mean()), 4),
            **{label: round(float(predicted[rows, j].mean()), 4) for j, label in enumerate(model.labels)},
        }
        for group, rows in sorted(groups.items())
    }
    return {
        "kind": "partial",
        "rows": len(examples),
        "recall": recall,
        "false_positive_rate": false_positives,
    }


def _predicted(model: Model, examples: Sequence[Example]) -> np.ndarray:
    probabilities = model.predict_proba([e.text for e in examples])
    return (probabilities >= np.asarray(model.thresholds)).astype(np.int8)


def _print_report(report: dict[str, Any]) -> None:
    print(f"{report['data']}: {report['rows']} items, model {report['model']} ({report['kind']} labels)")
    if report["kind"] == "full":
        for label, m in report["per_label"].items():
            print(f"  {label:<12} precision {m['precision']:.3f}  recall {m['recall']:.3f}  f1 {m['f1']:.3f}", end="")
            print(f"  support {m['support']}")
        print(f"  micro F1 {report['micro_f1']:.3f}  macro F1 {report['macro_f1']:.3f}", end="")
        print(f"  Hamming loss {report['hamming_loss']:.3f}")
        return
    for label, m in report["recall"].items():
        print(f"  recall {label:<12} {m['recall']:.3f}  (support {m['support']})")
    for group, m in report["false_positive_rate"].items():
        per_label = "  ".join(f"{label} {m[label]:.3f}" for label in report["labels"])
        print(f"  false positives on no-label items, {group:<14} any {m['any_label']:.3f}", end="")
        print(f"  {per_label}  ({m['items']} items)")


def main(argv: list[str] | None = None) -> int:
    """Evaluate; exit 1 when the data or the model cannot be read."""
    parser = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__)
    parser.add_argument("--data", type=Path, default=SHIPPED_TEST, help=f"JSONL or CSV (default {SHIPPED_TEST})")
    parser.add_argument("--model", type=Path, default=Path("models/tagger.joblib"))
    parser.add_argument("--partial", action="store_true", help="labels are partial (implied by `orig_label`)")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    args = parser.parse_args(argv)
    try:
        model = load_model(args.model)
        examples = read_examples([args.data])
    except (ArtifactError, DataError) as error:
        print(f"eval: {error}", file=sys.stderr)
        return 1
    partial = args.partial or all("orig_label" in e.extra for e in examples)
    report = (evaluate_partial if partial else evaluate_full)(model, examples)
    report = {"data": str(args.data), "model": model.version, "labels": list(model.labels), **report}
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        _print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
