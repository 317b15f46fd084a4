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

from service.config import TrainingSettings, read
from service.domain.errors import ModelError
from service.model.loader import load_model
from training.data import SHIPPED_TEST, SHIPPED_TRAIN, DataError, Example, label_matrix, label_names, read_examples
from training.estimator import build_baseline
from training.quality import masked_metrics


def evaluate_full(labels: Sequence[str], predicted: np.ndarray, examples: Sequence[Example]) -> dict[str, Any]:
    """Per-label precision, recall and F1, micro/macro F1 and Hamming loss of the 0/1 `predicted` matrix, and the
    share of no-label items that get a label. A label an item lists under `optional` counts neither way: that
    item is left out of that label's positives and negatives (and no-label items with optional labels are left
    out of the none rate)."""
    y = label_matrix(examples, labels)
    keep = np.array([[label not in e.extra.get("optional", ()) for label in labels] for e in examples], dtype=bool)
    report = masked_metrics(y, predicted, keep, labels)
    plain = [i for i, e in enumerate(examples) if not e.labels and not e.extra.get("optional")]
    report["none_labelled_rate"] = round(float(predicted[plain].any(axis=1).mean()), 4) if plain else 0.0
    report["none_items"] = len(plain)
    return {"kind": "full", "rows": len(examples), **report}


def evaluate_partial(labels: Sequence[str], predicted: np.ndarray, examples: Sequence[Example]) -> dict[str, Any]:
    """For partial labels: recall of each label on the items that carry it, and each label's false-positive
    rate on items with no label, overall and by category (the part of `orig_label` before " (")."""
    recall = {}
    for j, label in enumerate(labels):
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
            **{label: round(float(predicted[rows, j].mean()), 4) for j, label in enumerate(labels)},
        }
        for group, rows in sorted(groups.items())
    }
    return {
        "kind": "partial",
        "rows": len(examples),
        "recall": recall,
        "false_positive_rate": false_positives,
    }


def baseline_predictions(examples: Sequence[Example]) -> tuple[list[str], np.ndarray, str]:
    """The corpus check of the data card: a plain baseline (word 1-2 gram TF-IDF, one-vs-rest logistic
    regression with default settings, threshold 0.5) fitted on the whole shipped corpus, applied to `examples`."""
    corpus = read_examples([SHIPPED_TRAIN, SHIPPED_TEST])
    labels = label_names(corpus)
    pipeline = build_baseline().fit([e.text for e in corpus], label_matrix(corpus, labels))
    predicted = (pipeline.predict_proba([e.text for e in examples]) >= 0.5).astype(np.int8)
    return labels, predicted, "baseline (TF-IDF 1-2 grams + logistic regression, threshold 0.5)"


def model_predictions(
    model_path: Path, examples: Sequence[Example], key: str = ""
) -> tuple[list[str], np.ndarray, str]:
    """The labels assigned by the trained model at its tuned thresholds (its card checked with `key`, when set)."""
    model = load_model(model_path, key)
    probabilities = model.predict_proba([e.text for e in examples])
    return list(model.labels), (probabilities >= np.asarray(model.thresholds)).astype(np.int8), model.version


def _print_report(report: dict[str, Any]) -> None:
    print(f"{report['data']}: {report['rows']} items, model {report['model']} ({report['kind']} labels)")
    if report["kind"] == "full":
        for label, m in report["per_label"].items():
            print(f"  {label:<12} precision {m['precision']:.3f}  recall {m['recall']:.3f}  f1 {m['f1']:.3f}", end="")
            print(f"  support {m['support']}")
        print(f"  micro F1 {report['micro_f1']:.3f}  macro F1 {report['macro_f1']:.3f}", end="")
        print(f"  no-label items labelled {report['none_labelled_rate']:.3f} (of {report['none_items']})")
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
    settings = read(TrainingSettings, None, None, prog="python -m training.evaluate")
    parser.add_argument("--model", type=Path, default=settings.model_path, help=f"default {settings.model_path}")
    parser.add_argument("--partial", action="store_true", help="labels are partial (implied by `orig_label`)")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    parser.add_argument("--baseline", action="store_true", help="evaluate the plain corpus baseline, not --model")
    args = parser.parse_args(argv)
    try:
        examples = read_examples([args.data], allow_repeats=True)
        labels, predicted, name = (
            baseline_predictions(examples)
            if args.baseline
            else model_predictions(args.model, examples, settings.model_key)
        )
    except (ModelError, DataError) as error:
        print(f"eval: {error}", file=sys.stderr)
        return 1
    partial = args.partial or all("orig_label" in e.extra for e in examples)
    report = (evaluate_partial if partial else evaluate_full)(labels, predicted, examples)
    report = {"data": str(args.data), "model": name, "labels": labels, **report}
    if args.json:
        print(json.dumps(report, sort_keys=True))
    else:
        _print_report(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
