"""Settings search: cross-validation over a fixed grid with fixed seeds, out-of-fold scores, tuned thresholds."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import average_precision_score
from sklearn.model_selection import KFold, StratifiedKFold

from training.augment import augmented
from training.estimator import RANDOM_STATE, build_classifier, build_vectorizer, fit_pipeline
from training.word_vectors.table import read_table

VECTORIZER_GRID: dict[str, list[Any]] = {"ngram_max": [1, 2], "min_df": [1, 2], "sublinear_tf": [True, False]}
CLASSIFIER_GRID: dict[str, list[Any]] = {"c": [8.0, 32.0, 128.0], "class_weight": [None, "balanced"]}
FOLDS = 5
SELECTION = "mean over labels of the average precision of out-of-fold scores"
# The word-vector prior's weights tried once the grid has scored (training.estimator.fit_pipeline); 0 is the grid's.
PRIOR_WEIGHTS = [0.2, 0.3, 0.5]
# The prior is weighed with the best settings of this many vectorizers: without it the grid's leaders score within
# a few ten-thousandths of each other, and the prior does not lift them alike (it lends weight to unigrams only).
PRIOR_CANDIDATES = 2


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """The chosen settings, every candidate's score, and the chosen settings' out-of-fold probabilities."""

    best: dict[str, Any]
    scores: list[dict[str, Any]]
    oof: np.ndarray


def grid(space: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of a grid, in a fixed order."""
    return [dict(zip(space, values, strict=True)) for values in itertools.product(*space.values())]


def folds(y: np.ndarray, n_splits: int = FOLDS) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed-seed folds, stratified on the label combination when every combination is common enough."""
    strata = ["".join(map(str, row)) for row in y]
    if min(Counter(strata).values()) >= n_splits:
        splitter = StratifiedKFold(n_splits, shuffle=True, random_state=RANDOM_STATE)
        return list(splitter.split(np.zeros(len(strata)), strata))
    return list(KFold(n_splits, shuffle=True, random_state=RANDOM_STATE).split(y))


def search(texts: Sequence[str], y: np.ndarray, n_jobs: int = 2, entity_swap: bool = False) -> SearchResult:
    """Score every grid point by cross-validation and choose the best (first in grid order on ties). With
    `entity_swap`, entity-swapped copies (training.augment) join every training fold, never a scored fold."""
    splits = folds(y)
    vectorizer_points, classifier_points = grid(VECTORIZER_GRID), grid(CLASSIFIER_GRID)
    jobs = [(v, f) for v in range(len(vectorizer_points)) for f in range(len(splits))]
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(_fold)(texts, y, splits[f], vectorizer_points[v], classifier_points, entity_swap=entity_swap)
        for v, f in jobs
    )
    oof = np.zeros((len(vectorizer_points), len(classifier_points), *y.shape))
    for (v, f), fold_probabilities in zip(jobs, outputs, strict=True):
        oof[v][:, splits[f][1], :] = fold_probabilities
    scores = []
    for v, c in itertools.product(range(len(vectorizer_points)), range(len(classifier_points))):
        score = float(np.mean([average_precision_score(y[:, j], oof[v, c, :, j]) for j in range(y.shape[1])]))
        scores.append({**vectorizer_points[v], **classifier_points[c], "score": round(score, 6)})
    best = max(range(len(scores)), key=lambda i: (scores[i]["score"], -i))
    v, c = divmod(best, len(classifier_points))
    chosen = {name: value for name, value in scores[best].items() if name != "score"}
    return SearchResult(chosen, scores, oof[v, c])


@dataclasses.dataclass(frozen=True)
class PriorResult:
    """The settings and word-vector prior weight chosen (weight 0: no candidate with the prior beat the grid's
    choice), every candidate's score, and the chosen candidate's out-of-fold probabilities."""

    best: dict[str, Any]
    weight: float
    scores: list[dict[str, Any]]
    oof: np.ndarray


def prior_candidates(chosen: SearchResult, count: int = PRIOR_CANDIDATES) -> list[dict[str, Any]]:
    """The best-scoring settings of each of the `count` best vectorizer settings, best first."""
    by_vectorizer: dict[tuple[Any, ...], dict[str, Any]] = {}
    for point in sorted(chosen.scores, key=lambda p: -p["score"]):
        key = tuple(point[name] for name in VECTORIZER_GRID)
        by_vectorizer.setdefault(key, {name: value for name, value in point.items() if name != "score"})
    return list(by_vectorizer.values())[:count]


def search_prior(
    texts: Sequence[str],
    y: np.ndarray,
    chosen: SearchResult,
    table: Path,
    *,
    n_jobs: int = 2,
    entity_swap: bool = False,
) -> PriorResult:
    """Cross-validate prior_candidates() with the word-vector table at each of PRIOR_WEIGHTS, on the same folds and
    by the same selection; keep a candidate only if it scores above the grid's choice."""
    splits = folds(y)
    candidates = [(params, weight) for params in prior_candidates(chosen) for weight in PRIOR_WEIGHTS]
    jobs = [(c, f) for c in range(len(candidates)) for f in range(len(splits))]
    outputs = Parallel(n_jobs=n_jobs)(
        delayed(_prior_fold)(texts, y, splits[f], params, table, weight=weight, entity_swap=entity_swap)
        for (params, weight), f in ((candidates[c], f) for c, f in jobs)
    )
    oof = np.zeros((len(candidates), *y.shape))
    for (c, f), fold_probabilities in zip(jobs, outputs, strict=True):
        oof[c][splits[f][1]] = fold_probabilities
    scores = [{"settings": chosen.best, "weight": 0.0, "score": max(point["score"] for point in chosen.scores)}]
    for c, (params, weight) in enumerate(candidates):
        score = float(np.mean([average_precision_score(y[:, j], oof[c, :, j]) for j in range(y.shape[1])]))
        scores.append({"settings": params, "weight": weight, "score": round(score, 6)})
    best = max(range(len(scores)), key=lambda i: (scores[i]["score"], -i))
    return PriorResult(
        scores[best]["settings"], scores[best]["weight"], scores, chosen.oof if best == 0 else oof[best - 1]
    )


def tune_thresholds(y: np.ndarray, probabilities: np.ndarray) -> list[float]:
    """Per label, the threshold that maximises F1 on out-of-fold scores: the midpoint below the best cut."""
    thresholds = []
    for j in range(y.shape[1]):
        order = np.argsort(-probabilities[:, j], kind="stable")
        scores, truth = probabilities[order, j], y[order, j]
        true_positives = np.cumsum(truth)
        f1 = 2 * true_positives / (np.arange(1, len(truth) + 1) + truth.sum())
        k = int(np.argmax(f1))
        below = scores[k + 1] if k + 1 < len(scores) else 0.0
        thresholds.append(round(float((scores[k] + below) / 2), 6))
    return thresholds


def _fold(
    texts: Sequence[str],
    y: np.ndarray,
    split: tuple[np.ndarray, np.ndarray],
    vectorizer_params: dict[str, Any],
    classifier_points: list[dict[str, Any]],
    *,
    entity_swap: bool,
) -> np.ndarray:
    train, test = split
    train_texts, train_y = [texts[i] for i in train], y[train]
    if entity_swap:
        train_texts, train_y = augmented(train_texts, train_y)
    vectorizer = build_vectorizer(**vectorizer_params)
    x_train = vectorizer.fit_transform(train_texts)
    x_test = vectorizer.transform([texts[i] for i in test])
    return np.stack(
        [build_classifier(**params).fit(x_train, train_y).predict_proba(x_test) for params in classifier_points]
    )


def _prior_fold(
    texts: Sequence[str],
    y: np.ndarray,
    split: tuple[np.ndarray, np.ndarray],
    params: dict[str, Any],
    table: Path,
    *,
    weight: float,
    entity_swap: bool,
) -> np.ndarray:
    train, test = split
    train_texts, train_y = [texts[i] for i in train], y[train]
    if entity_swap:
        train_texts, train_y = augmented(train_texts, train_y)
    pipeline = fit_pipeline(train_texts, train_y, params, read_table(table), weight)
    probabilities: np.ndarray = pipeline.predict_proba([texts[i] for i in test])
    return probabilities
