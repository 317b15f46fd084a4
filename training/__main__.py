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
from training.estimator import fit_pipeline
from training.publish import data_summary, model_version, now_rfc3339, write_model
from training.quality import evaluate
from training.report import print_summary, write_pr_curves
from training.search import (
    CLASSIFIER_GRID,
    FOLDS,
    PRIOR_WEIGHTS,
    SELECTION,
    VECTORIZER_GRID,
    PriorResult,
    search,
    search_prior,
    tune_thresholds,
)
from training.word_vectors.table import SHIPPED_TABLE, WordVectors, read_table


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
    parser.add_argument(
        "--word-vectors",
        type=Path,
        default=SHIPPED_TABLE,
        help=f"word-vector table whose prior cross-validation may choose (default {SHIPPED_TABLE})",
    )
    parser.add_argument("--no-word-vectors", action="store_true", help="train without the word-vector prior")
    args = parser.parse_args(argv)
    try:
        card = train(
            args.data or [SHIPPED_TRAIN],
            args.model,
            args.test or (None if args.data else SHIPPED_TEST),
            args.jobs,
            settings.model_key,
            entity_swap=args.entity_swap,
            word_vectors=None if args.no_word_vectors else args.word_vectors,
        )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        print("nothing was written", file=sys.stderr)
        return 1
    print_summary(card)
    return 0


def train(
    paths: list[Path],
    model_path: Path,
    test_path: Path | None,
    jobs: int = 2,
    key: str = "",
    *,
    entity_swap: bool = False,
    word_vectors: Path | None = None,
) -> ModelCard:
    """The whole run; raises DataError before anything is written if the data is refused. The card is signed with
    `key` when it is set. With `word_vectors`, cross-validation also weighs that table's prior (search_prior)."""
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
    _stage(started, f"chose {result.best}")
    vectors, prior = None, None
    if word_vectors:
        _stage(started, f"cross-validating the word-vector prior of {word_vectors} at weights {PRIOR_WEIGHTS}")
        vectors = read_table(word_vectors)
        prior = search_prior(texts, y, result, word_vectors, n_jobs=jobs, entity_swap=entity_swap)
        _stage(started, f"word-vector prior: weight {prior.weight} with {prior.best} chosen")
    best = prior.best if prior else result.best
    oof = prior.oof if prior else result.oof
    thresholds = tune_thresholds(y, oof)
    metrics: dict[str, Any] = {"cv": evaluate(y, oof, thresholds, labels), "test": None}
    _stage(started, "tuned thresholds on out-of-fold scores; fitting the final model on all the data")
    weight = prior.weight if prior else 0.0
    pipeline = fit_pipeline(*(augmented(texts, y) if entity_swap else (texts, y)), best, vectors, weight)
    if test:
        _stage(started, f"scoring the held-out file {test_path}")
        probabilities = pipeline.predict_proba([e.text for e in test])
        metrics["test"] = evaluate(label_matrix(test, labels), probabilities, thresholds, labels)
    data = data_summary(paths, examples, labels)
    thresholds_by_label = dict(zip(labels, thresholds, strict=True))
    card = ModelCard(
        version=model_version(data, _versioned(best, entity_swap, weight), labels),
        labels=tuple(labels),
        thresholds=thresholds_by_label,
        artifact=FileEntry(model_path.name, ""),  # its digest is set when the file is written
        created=now_rfc3339(),
        sklearn_version=sklearn.__version__,
        python=platform.python_version(),
        data=data,
        test_data=str(test_path) if test_path else None,
        settings={
            "chosen": best,
            "grid": {**VECTORIZER_GRID, **CLASSIFIER_GRID},
            "folds": FOLDS,
            "selection": SELECTION,
            "entity_swap": entity_swap,
            "scores": result.scores,
            "word_vectors": _prior_entry(vectors, prior),
        },
        metrics=metrics,
    )
    tables = compile_tables(pipeline, texts, started)
    _stage(started, f"writing {model_path}, its tables and its card")
    bundle = {"pipeline": pipeline, "labels": labels, "thresholds": thresholds_by_label}
    written = write_model(model_path, bundle, card, key, tables)
    report = model_path.with_suffix(".pr.png")
    if write_pr_curves(report, y, oof, labels, thresholds=thresholds, title=f"out-of-fold, {card.version}"):
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


def _versioned(best: dict[str, Any], entity_swap: bool, weight: float) -> dict[str, Any]:
    return {**best, **({"entity_swap": True} if entity_swap else {}), **({"word_vectors": weight} if weight else {})}


def _prior_entry(vectors: WordVectors | None, prior: PriorResult | None) -> dict[str, Any] | None:
    if vectors is None or prior is None:
        return None
    return {"source": vectors.source, "sha256": vectors.sha256, "weight": prior.weight, "scores": prior.scores}


def _stage(started: float, message: str) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {message}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
