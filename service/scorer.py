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

Evidence = list[list[tuple[str, float]]]

_ABSENT = itertools.repeat(-1)
_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
# Bytes that are not word characters become spaces, so that str.split() yields the runs of word characters.
_ASCII_NON_WORD = bytes(b if re.fullmatch(r"\w", chr(b)) else 32 for b in range(128)) + bytes([32] * 128)
# Non-ASCII symbols common in news copy that are not word characters (checked against the regex itself).
_NON_WORD_SYMBOLS = {
    ord(ch): " "
    for ch in "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00ab\u00bb\u20ac\u00a3\u00a5\u20b9\u20a6\u2022\u00b7\u00b0"
    "\u00d7\u00a7\u00a9\u00ae\u2122\u2032\u2033\u2039\u203a\u201e\u201a\u00a0\u2009\u202f\u200b\u2010\u2011\u2212\u00bd\u00bc\u00be"
    if not re.fullmatch(r"\w", ch)
}


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
        self._lowercase: bool = vectorizer.lowercase
        self._findall = re.compile(vectorizer.token_pattern).findall
        self._default_tokens: bool = vectorizer.token_pattern == _DEFAULT_TOKEN_PATTERN
        self._min_n, self._max_n = vectorizer.ngram_range
        self._stop: frozenset[str] = frozenset(vectorizer.get_stop_words() or ())
        self._index: dict[str, int] = {term: int(i) for term, i in vectorizer.vocabulary_.items()}
        self._binary: bool = vectorizer.binary
        self._sublinear: bool = vectorizer.sublinear_tf
        self._l2: bool = vectorizer.norm == "l2"
        self._coef, intercept = _linear_weights(classifier)
        self._idf = vectorizer.idf_.copy() if vectorizer.use_idf else np.ones(self._coef.shape[0])
        self._intercept: list[float] = intercept.tolist()
        self._terms = _terms_in_order(self._index)
        self._raw_unigrams = (
            self._default_tokens and self._max_n == 1 and not self._stop and min(map(len, self._index), default=2) > 1
        )

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
        counts = Counter(self._lookup_grams(text))
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
        counts = [Counter(self._lookup_grams(text)) for text in texts]
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

    def _tokens(self, text: str, keep_short: bool = False) -> list[str]:
        """The vectorizer's tokens. For its default pattern (runs of 2+ word characters) and text that is ASCII
        once common non-word symbols are blanked, a byte-level split gives the same tokens 4-5x faster."""
        if self._lowercase:
            text = text.lower()
        if self._default_tokens:
            if not text.isascii():
                blanked = text.translate(_NON_WORD_SYMBOLS)
                if not blanked.isascii():
                    return self._findall(text)
                text = blanked
            words = text.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii").split()
            return words if keep_short else [word for word in words if len(word) > 1]
        return self._findall(text)

    def _lookup_grams(self, text: str) -> list[str]:
        """_grams, except that a unigram model with the default pattern may keep 1-character tokens: they are
        never in its vocabulary, so looking them up changes nothing and filtering them costs time."""
        if self._raw_unigrams:
            return self._tokens(text, keep_short=True)
        return self._grams(text)

    def _grams(self, text: str) -> list[str]:
        tokens = self._tokens(text)
        if self._stop:
            tokens = [token for token in tokens if token not in self._stop]
        if self._max_n == 1:
            return tokens
        grams = list(tokens) if self._min_n == 1 else []
        for n in range(max(self._min_n, 2), min(self._max_n, len(tokens)) + 1):
            grams.extend(map(" ".join, zip(*(tokens[i:] for i in range(n)))))
        return grams


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
