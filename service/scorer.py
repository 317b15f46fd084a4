"""Scorers: turn texts into per-label probabilities, fast (compiled from the pipeline) or through scikit-learn."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

Evidence = list[list[tuple[str, float]]]


class UnsupportedPipeline(ValueError):
    """The pipeline has settings the fast scorer cannot reproduce exactly; the message says which."""


class Scorer(Protocol):
    """What the model needs from a scorer: probabilities for a batch, and evidence for one text."""

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray: ...

    def evidence(self, text: str, k: int) -> Evidence: ...


class FastScorer:
    """TF-IDF + one-vs-rest logistic regression applied directly: same tokens, same arithmetic, no overhead."""

    def __init__(self, pipeline: Pipeline) -> None:
        vectorizer, classifier = _parts(pipeline)
        _check_supported(vectorizer, classifier)
        self._lowercase: bool = vectorizer.lowercase
        self._findall = re.compile(vectorizer.token_pattern).findall
        self._min_n, self._max_n = vectorizer.ngram_range
        self._stop: frozenset[str] = frozenset(vectorizer.get_stop_words() or ())
        self._vocabulary: dict[str, int] = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
        self._sublinear: bool = vectorizer.sublinear_tf
        self._binary: bool = vectorizer.binary
        self._idf: np.ndarray | None = vectorizer.idf_.copy() if vectorizer.use_idf else None
        self._l2: bool = vectorizer.norm == "l2"
        self._coef, self._intercept = _linear_weights(classifier)
        self._terms = _terms(vectorizer)

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The text's TF-IDF row as (feature indices, values), as TfidfVectorizer.transform computes it."""
        counts = Counter(i for i in map(self._vocabulary.get, self._grams(text)) if i is not None)
        indices = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self._binary:
            values[:] = 1.0
        elif self._sublinear:
            np.log(values, out=values)
            values += 1.0
        if self._idf is not None:
            values *= self._idf[indices]
        if self._l2 and len(values):
            values /= np.sqrt(np.dot(values, values))
        return indices, values

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 1:
            indices, values = self.features(texts[0])
            decision = values @ self._coef[indices] + self._intercept
            return _expit(decision[np.newaxis, :])
        rows = [self.features(text) for text in texts]
        indptr = np.cumsum([0] + [len(indices) for indices, _ in rows])
        matrix = sp.csr_matrix(
            (np.concatenate([v for _, v in rows]), np.concatenate([i for i, _ in rows]), indptr),
            shape=(len(texts), self._coef.shape[0]),
        )
        return _expit(np.asarray(matrix @ self._coef) + self._intercept)

    def evidence(self, text: str, k: int) -> Evidence:
        indices, values = self.features(text)
        return top_terms(indices, values, self._coef, self._terms, k)

    def _grams(self, text: str) -> list[str]:
        tokens: list[str] = self._findall(text.lower() if self._lowercase else text)
        if self._stop:
            tokens = [token for token in tokens if token not in self._stop]
        grams = list(tokens) if self._min_n == 1 else []
        for n in range(max(self._min_n, 2), min(self._max_n, len(tokens)) + 1):
            grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
        return grams


class SklearnScorer:
    """The pipeline itself, for settings the fast scorer cannot reproduce."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        vectorizer, classifier = _parts(pipeline)
        self._vectorizer = vectorizer
        self._coef, _ = _linear_weights(classifier)
        self._terms = _terms(vectorizer)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._pipeline.predict_proba(list(texts)), dtype=np.float64)

    def evidence(self, text: str, k: int) -> Evidence:
        row = self._vectorizer.transform([text])
        return top_terms(row.indices, row.data, self._coef, self._terms, k)


def top_terms(indices: np.ndarray, values: np.ndarray, coef: np.ndarray, terms: np.ndarray, k: int) -> Evidence:
    """Per label, the k terms with the largest positive contribution (value x coefficient), strongest first
    (ties in term order)."""
    contributions = values[:, np.newaxis] * coef[indices]
    names = [str(terms[i]) for i in indices]
    evidence: Evidence = []
    for column in contributions.T:
        positive = [(-float(column[j]), names[j]) for j in np.flatnonzero(column > 0)]
        evidence.append([(name, -weight) for weight, name in sorted(positive)[:k]])
    return evidence


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


def _terms(vectorizer: TfidfVectorizer) -> np.ndarray:
    return np.asarray(vectorizer.get_feature_names_out(), dtype=object)


def _expit(decision: np.ndarray) -> np.ndarray:
    return np.asarray(expit(decision), dtype=np.float64)
