"""`python -m training`: validate the data, search settings, tune thresholds, fit, and write model + card."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import sklearn

from service.config import SettingsError, TrainingSettings, read
from service.model.bundle import UnsupportedPipeline, compile_pipeline
from service.model.card import FileEntry, ModelCard
from service.model.tables import LinearTables
from training.augment import augmented
from training.data import (
    SHIPPED_TEST,
    SHIPPED_TRAIN,
    DataError,
    check_trainable,
    label_matrix,
    near_duplicates,
    read_examples,
)
from training.estimator import build_pipeline
from training.publish import data_summary, model_version, now_rfc3339, write_model
from training.quality import evaluate
from training.report import write_pr_curves
from training.search import (
    CLASSIFIER_GRID,
    FOLDS,
    SELECTION,
    VECTORIZER_GRID,
    search,
    tune_thresholds,
)


def main(argv: list[str] | None = None) -> int:
    """Train; exit 0 when model and card are written, 1 when the data is refused (nothing written)."""
    try:
        settings = read(TrainingSettings, None, None, prog="python -m training")
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--data", type=Path, nargs="+", help=f"JSONL or CSV files (default {SHIPPED_TRAIN})")
    parser.add_argument(
        "--model", type=Path, default=settings.model_path, help=f"where to write ({settings.model_path})"
    )
    parser.add_argument("--test", type=Path, help=f"held-out file (default {SHIPPED_TEST} with the default data)")
    parser.add_argument("--jobs", type=int, default=2, help="processes for the settings search (default 2)")
    parser.add_argument(
        "--entity-swap",
        action="store_true",
        help="add copies of the training paragraphs with their countries exchanged (training.augment)",
    )
    args = parser.parse_args(argv)
    try:
        card = train(
            args.data or [SHIPPED_TRAIN],
            args.model,
            args.test or (None if args.data else SHIPPED_TEST),
            args.jobs,
            settings.model_key,
            entity_swap=args.entity_swap,
        )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        print("nothing was written", file=sys.stderr)
        return 1
    _print_table(card)
    return 0


def train(
    paths: list[Path],
    model_path: Path,
    test_path: Path | None,
    jobs: int = 2,
    key: str = "",
    *,
    entity_swap: bool = False,
) -> ModelCard:
    """The whole run; raises DataError before anything is written if the data is refused. The card is signed with
    `key` when it is set."""
    started = time.monotonic()
    _stage(started, f"loading and validating {', '.join(map(str, paths))}")
    examples = read_examples(paths)
    labels = check_trainable(examples)
    test = read_examples([test_path]) if test_path else None
    duplicates = near_duplicates([e.text for e in examples])
    if duplicates:
        i, j, similarity = duplicates[0]
        print(
            f"warning: {len(duplicates)} near-duplicate pair(s) (TF-IDF cosine >= 0.8), e.g. "
            f"{examples[i].source} and {examples[j].source} ({similarity:.2f})",
            file=sys.stderr,
        )
    texts, y = [e.text for e in examples], label_matrix(examples, labels)
    _stage(started, f"{len(texts)} paragraphs, labels {labels}; searching settings ({FOLDS}-fold CV)")
    result = search(texts, y, n_jobs=jobs, entity_swap=entity_swap)
    _stage(started, f"chose {result.best}; tuning thresholds on out-of-fold scores")
    thresholds = tune_thresholds(y, result.oof)
    metrics: dict[str, Any] = {"cv": evaluate(y, result.oof, thresholds, labels), "test": None}
    _stage(started, "fitting the final model on all the data")
    pipeline = build_pipeline(**result.best).fit(*(augmented(texts, y) if entity_swap else (texts, y)))
    if test:
        _stage(started, f"scoring the held-out file {test_path}")
        probabilities = pipeline.predict_proba([e.text for e in test])
        metrics["test"] = evaluate(label_matrix(test, labels), probabilities, thresholds, labels)
    data = data_summary(paths, examples, labels)
    thresholds_by_label = dict(zip(labels, thresholds, strict=True))
    card = ModelCard(
        version=model_version(data, {**result.best, **({"entity_swap": True} if entity_swap else {})}, labels),
        labels=tuple(labels),
        thresholds=thresholds_by_label,
        artifact=FileEntry(model_path.name, ""),  # its digest is set when the file is written
        created=now_rfc3339(),
        sklearn_version=sklearn.__version__,
        python=platform.python_version(),
        data=data,
        test_data=str(test_path) if test_path else None,
        settings={
            "chosen": result.best,
            "grid": {**VECTORIZER_GRID, **CLASSIFIER_GRID},
            "folds": FOLDS,
            "selection": SELECTION,
            "entity_swap": entity_swap,
            "scores": result.scores,
        },
        metrics=metrics,
    )
    tables = compile_tables(pipeline, texts, started)
    _stage(started, f"writing {model_path}, its tables and its card")
    bundle = {"pipeline": pipeline, "labels": labels, "thresholds": thresholds_by_label}
    written = write_model(model_path, bundle, card, key, tables)
    report = model_path.with_suffix(".pr.png")
    if write_pr_curves(report, y, result.oof, labels, thresholds=thresholds, title=f"out-of-fold, {card.version}"):
        _stage(started, f"wrote the precision-recall report {report}")
    return written


def compile_tables(pipeline: Any, texts: list[str], started: float) -> LinearTables | None:
    """The pipeline as linear tables, checked on every training text; None (said) when it cannot be compiled,
    and the server then scores with scikit-learn."""
    _stage(started, f"compiling the linear tables and checking them on the {len(texts)} training paragraphs")
    try:
        return compile_pipeline(pipeline, texts)
    except UnsupportedPipeline as reason:
        _stage(started, f"no linear tables ({reason}): the server will score with scikit-learn, more slowly")
        return None


def _stage(started: float, message: str) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)


def _print_table(card: ModelCard) -> None:
    print(f"\nmodel {card.version}  ({card.data['rows']} paragraphs)")
    header = ("label", "threshold", "cv P", "cv R", "cv F1", "test P", "test R", "test F1")
    print("{:<14}{:>10}  {:>6} {:>6} {:>6}  {:>6} {:>6} {:>6}".format(*header))
    test = card.metrics["test"] or {"per_label": {}}
    for label in card.labels:
        cv, held = card.metrics["cv"]["per_label"][label], test["per_label"].get(label)
        row = f"{label:<14}{card.thresholds[label]:>10.3f}  " + _prf(cv)
        if held:
            row += "  " + _prf(held)
        print(row)
    for split in ("cv", "test"):
        figures = card.metrics[split]
        if figures:
            print(
                f"{split}: micro F1 {figures['micro_f1']:.3f}  macro F1 {figures['macro_f1']:.3f}  "
                f"Hamming loss {figures['hamming_loss']:.3f}"
            )


def _prf(figures: dict[str, Any]) -> str:
    return f"{figures['precision']:>6.3f} {figures['recall']:>6.3f} {figures['f1']:>6.3f}"


if __name__ == "__main__":
    sys.exit(main())
