"""`make eval-realworld`: one table over every labelled file of a real-world folder (default
../shared/data/realworld), with the trained model at its tuned thresholds. Evaluation only: nothing here trains
or tunes. Full files (no `orig_label`): micro-F1, F1 per label and the share of no-label items labelled, with
`optional` labels masked; partial files: recall per label and the false-positive rate on no-label items."""

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
from service.domain.tagging import with_document_context
from service.domain.tags import Options
from service.model.loader import Model, load_model
from training.data import DataError, Example, read_examples
from training.evaluate import evaluate_full, evaluate_partial, model_predictions
from training.misses import error_kinds

DEFAULT_FOLDER = Path("../shared/data/realworld")
# The weight TagDocument's context_weight is evaluated at: halfway, chosen before measuring, not tuned.
CONTEXT_WEIGHT = 0.5


def evaluate_folder(folder: Path, model_path: Path, key: str = "") -> list[dict[str, Any]]:
    """The report of every *.jsonl in `folder`, in name order."""
    reports = []
    for path in sorted(folder.glob("*.jsonl")):
        examples = read_examples([path], allow_repeats=True)
        labels, predicted, version = model_predictions(model_path, examples, key)
        partial = all("orig_label" in e.extra for e in examples)
        report = (evaluate_partial if partial else evaluate_full)(labels, predicted, examples)
        reports.append({"data": path.name, "model": version, "labels": labels, **report})
        if not partial and all("article" in e.extra for e in examples):
            reports[-1]["errors"] = error_kinds(labels, predicted, examples)
            predicted = in_context(load_model(model_path, key), examples, CONTEXT_WEIGHT)
            report = evaluate_full(labels, predicted, examples)
            name = f"{path.name} by article, context_weight {CONTEXT_WEIGHT}"
            reports.append({"data": name, "model": version, "labels": labels, **report})
    return reports


def in_context(model: Model, examples: Sequence[Example], weight: float) -> np.ndarray:
    """The 0/1 labels TagDocument with `context_weight` gives, each article's paragraphs (in file order) taken
    as one document."""
    predicted = np.zeros((len(examples), len(model.labels)), dtype=np.int8)
    articles: dict[str, list[int]] = defaultdict(list)
    for i, e in enumerate(examples):
        articles[str(e.extra["article"])].append(i)
    for rows in articles.values():
        texts = [examples[i].text for i in rows]
        alone = model.tag(texts, Options())
        tags = with_document_context(model.labels, alone, [len(t) for t in texts], weight, Options())
        for i, tagged in zip(rows, tags, strict=True):
            predicted[i] = [label in tagged.labels for label in model.labels]
    return predicted


def table(reports: list[dict[str, Any]]) -> str:
    """The reports as one plain-text table: one row per file."""
    lines = [f"{'file':<56} {'kind':<8} {'rows':>5}  figures"]
    for r in reports:
        if r["kind"] == "full":
            f1 = "  ".join(f"{label} {m['f1']:.3f}" for label, m in r["per_label"].items())
            figures = f"micro-F1 {r['micro_f1']:.3f}  F1: {f1}  none labelled {r['none_labelled_rate']:.3f}"
        else:
            recall = "  ".join(f"{label} {m['recall']:.3f}" for label, m in r["recall"].items())
            figures = f"recall: {recall}  false positives {r['false_positive_rate']['all']['any_label']:.3f}"
        lines.append(f"{r['data']:<56} {r['kind']:<8} {r['rows']:>5}  {figures}")
        if "errors" in r:
            lines.append(f"{'':<72}{'; '.join(f'{kind} {count}' for kind, count in r['errors'].items())}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the table (or one JSON object); exit 0 with a notice when the folder is absent."""
    settings = read(TrainingSettings, None, None, prog="python -m training.realworld")
    parser = argparse.ArgumentParser(prog="python -m training.realworld", description=__doc__)
    parser.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help=f"default {DEFAULT_FOLDER}")
    parser.add_argument("--model", type=Path, default=settings.model_path, help=f"default {settings.model_path}")
    parser.add_argument("--json", action="store_true", help="print exactly one JSON object")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"eval-realworld: {args.folder} is not here; nothing to evaluate")
        return 0
    try:
        reports = evaluate_folder(args.folder, args.model, settings.model_key)
    except (ModelError, DataError) as error:
        print(f"eval-realworld: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"folder": str(args.folder), "files": reports}, sort_keys=True) if args.json else table(reports))
    return 0


if __name__ == "__main__":
    sys.exit(main())
