"""Scorers: turn texts into per-label probabilities, fast (compiled from the pipeline) or through scikit-learn."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from service.tokens import Tokenizer

Evidence = list[list[tuple[str, float]]]

_ABSENT = itertools.repeat(-1)


class UnsupportedPipeline(ValueError):
    """The pipeline has settings the fast scorer cannot reproduce exactly; the message says which."""


class Scorer(Protocol):
    """What the model needs from a scorer: per-label probabilities for a batch, and evidence for one text."""

    def scores(self, texts: Sequence[str]) -> list[list[float]]: ...

    def evidence(self, text: str, k: int) -> Evidence: ...


class FastScorer:
    """TF-IDF + one-vs-rest logistic regression applied directly: the vectorizer's own tokens and arithmetic on
    the few features a text has, with no sparse matrix built per call."""

    def __init__(self, pipeline: Pipeline) -> None:
        vectorizer, classifier = _parts(pipeline)
        _check_supported(vectorizer, classifier)
        self._index: dict[str, int] = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
        self._binary: bool = vectorizer.binary
        self._sublinear: bool = vectorizer.sublinear_tf
        self._l2: bool = vectorizer.norm == "l2"
        self._coef, intercept = _linear_weights(classifier)
        self._idf = vectorizer.idf_.copy() if vectorizer.use_idf else np.ones(self._coef.shape[0])
        self._intercept: list[float] = intercept.tolist()
        self._terms = _terms_in_order(self._index)
        self.tokenizer = Tokenizer(vectorizer, shortest_term=min(map(len, self._index), default=2))

    def scores(self, texts: Sequence[str]) -> list[list[float]]:
        if len(texts) == 1:
            return [[_sigmoid(d) for d in self.decision(texts[0])]]
        return self._batch_scores(texts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """As Pipeline.predict_proba: shape (len(texts), labels)."""
        return np.array(self.scores(texts), dtype=np.float64).reshape(len(texts), len(self._intercept))

    def decision(self, text: str) -> list[float]:
        """Per label, the logistic regression's decision value for `text`."""
        ids, values = self.features(text)
        if not len(ids):
            return list(self._intercept)
        totals: list[float] = (values @ self._coef[ids]).tolist()
        return [total + b for total, b in zip(totals, self._intercept, strict=True)]

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's TF-IDF row as (feature indices, values), as TfidfVectorizer.transform computes it."""
        counts = Counter(self.tokenizer.lookup_grams(text))
        ids = np.fromiter(map(self._index.get, counts, _ABSENT), dtype=np.intp, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        known = ids >= 0
        ids = ids[known]
        values = self._tf_idf(ids, values[known])
        if self._l2 and len(ids):
            values /= math.sqrt(values @ values)
        return ids, values

    def evidence(self, text: str, k: int) -> Evidence:
        ids, values = self.features(text)
        return top_terms(ids, values, self._coef, self._terms, k)

    def _tf_idf(self, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Term counts to TF-IDF values before normalisation (binary or sublinear tf, times IDF), in place."""
        if self._binary:
            counts[:] = 1.0
        elif self._sublinear:
            np.log(counts, out=counts)
            counts += 1.0
        counts *= self._idf[ids]
        return counts

    def _batch_scores(self, texts: Sequence[str]) -> list[list[float]]:
        """features() for a whole batch at once: one lookup pass and a dozen array operations in all, rather
        than a dozen per text."""
        counts = [Counter(self.tokenizer.lookup_grams(text)) for text in texts]
        grams = list(itertools.chain.from_iterable(counts))
        ids = np.fromiter(map(self._index.get, grams, _ABSENT), dtype=np.intp, count=len(grams))
        values = np.fromiter(
            itertools.chain.from_iterable(c.values() for c in counts), dtype=np.float64, count=len(grams)
        )
        rows = np.repeat(np.arange(len(texts)), [len(c) for c in counts])
        known = ids >= 0
        ids, rows = ids[known], rows[known]
        values = self._tf_idf(ids, values[known])
        if self._l2:
            norms = np.sqrt(np.bincount(rows, weights=values * values, minlength=len(texts)))
            values /= norms[rows]
        weighted = values[:, np.newaxis] * self._coef[ids]
        decision = np.column_stack(
            [np.bincount(rows, weights=weighted[:, j], minlength=len(texts)) for j in range(weighted.shape[1])]
        )
        probabilities: list[list[float]] = expit(decision + self._intercept).tolist()
        return probabilities


class SklearnScorer:
    """The pipeline itself, for settings the fast scorer cannot reproduce."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        vectorizer, classifier = _parts(pipeline)
        self._vectorizer = vectorizer
        self._coef, _ = _linear_weights(classifier)
        self._terms = vectorizer.get_feature_names_out()

    def scores(self, texts: Sequence[str]) -> list[list[float]]:
        probabilities: list[list[float]] = np.asarray(self._pipeline.predict_proba(list(texts))).tolist()
        return probabilities

    def evidence(self, text: str, k: int) -> Evidence:
        row = self._vectorizer.transform([text])
        return top_terms(row.indices.tolist(), row.data, self._coef, self._terms, k)


def top_terms(
    ids: Sequence[int] | np.ndarray, values: np.ndarray, coef: np.ndarray, terms: np.ndarray, k: int
) -> Evidence:
    """Per label, the k terms with the largest positive contribution (value x coefficient), strongest first
    (ties in term order)."""
    contributions = values[:, np.newaxis] * coef[list(ids)] if len(ids) else np.zeros((0, coef.shape[1]))
    names = [str(terms[i]) for i in ids]
    evidence: Evidence = []
    for column in contributions.T.tolist():
        positive = sorted((-weight, name) for weight, name in zip(column, names, strict=True) if weight > 0)
        evidence.append([(name, -weight) for weight, name in positive[:k]])
    return evidence


def _terms_in_order(index: dict[str, int]) -> np.ndarray:
    """The vocabulary's terms by feature index, sharing the dictionary's strings rather than copying them."""
    terms = np.empty(len(index), dtype=object)
    for term, i in index.items():
        terms[i] = term
    return terms


def _parts(pipeline: Any) -> tuple[TfidfVectorizer, OneVsRestClassifier]:
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        raise UnsupportedPipeline("expected Pipeline(TfidfVectorizer, OneVsRestClassifier(LogisticRegression))")
    vectorizer, classifier = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(vectorizer, TfidfVectorizer) or not isinstance(classifier, OneVsRestClassifier):
        raise UnsupportedPipeline("expected Pipeline(TfidfVectorizer, OneVsRestClassifier(LogisticRegression))")
    if not all(isinstance(e, LogisticRegression) for e in classifier.estimators_):
        raise UnsupportedPipeline("every one-vs-rest estimator must be a fitted LogisticRegression")
    return vectorizer, classifier


def _check_supported(vectorizer: TfidfVectorizer, classifier: OneVsRestClassifier) -> None:
    unsupported = {
        "analyzer": vectorizer.analyzer != "word",
        "tokenizer": vectorizer.tokenizer is not None,
        "preprocessor": vectorizer.preprocessor is not None,
        "strip_accents": vectorizer.strip_accents is not None,
        "input": vectorizer.input != "content",
        "dtype": np.dtype(vectorizer.dtype) != np.float64,
        "norm": vectorizer.norm not in ("l2", None),
        "token_pattern": vectorizer.token_pattern is None or re.compile(vectorizer.token_pattern).groups > 0,
        "label_binarizer": not classifier.label_binarizer_.y_type_.startswith("multilabel"),
    }
    if any(unsupported.values()):
        raise UnsupportedPipeline("unsupported settings: " + ", ".join(k for k, v in unsupported.items() if v))


def _linear_weights(classifier: OneVsRestClassifier) -> tuple[np.ndarray, np.ndarray]:
    coef = np.ascontiguousarray(np.vstack([e.coef_[0] for e in classifier.estimators_]).T, dtype=np.float64)
    intercept = np.array([e.intercept_[0] for e in classifier.estimators_], dtype=np.float64)
    return coef, intercept


def _sigmoid(x: float) -> float:
    """The logistic function, without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
