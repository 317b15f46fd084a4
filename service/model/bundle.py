"""The joblib bundle, and everything else that needs scikit-learn: unpickling a verified bundle, compiling its
pipeline into linear tables, and scoring with the pipeline itself when it cannot be compiled. The only module of
`service` that imports scikit-learn or joblib; the server imports it only for a model that has no tables (trained
before they existed, or with settings the fast scorer cannot reproduce). Training imports it to compile tables."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from service.domain.errors import ModelError
from service.domain.tags import Evidence
from service.model.card import ModelCard, card_path, read_card, read_verified
from service.model.scorer import FastScorer, Implementation, Scorer
from service.model.tables import CHECK_TEXTS, TOLERANCE, LinearTables
from service.model.tokens import TokenSettings

# What a pipeline that fails on plain text raises; such a pipeline is not served.
_SCORING_ERRORS = (ValueError, TypeError, AttributeError, IndexError, KeyError)

_LOGGER = logging.getLogger(__name__)


class UnsupportedPipeline(ValueError):
    """The pipeline has settings the fast scorer cannot reproduce exactly; the message says which."""


def load_bundle(model_path: Path, key: str = "") -> tuple[ModelCard, dict[str, Any]]:
    """Verify and unpickle a model: returns (card, bundle)."""
    card = read_card(model_path, key)
    return card, unpickle(model_path, card, read_verified(model_path, card, "artifact"))


def unpickle(model_path: Path, card: ModelCard, data: bytes) -> dict[str, Any]:
    """The bundle in `data`, the artifact's bytes already checked against the card's digest. Only bytes pickled
    by the installed scikit-learn version are ever unpickled."""
    if card.sklearn_version != sklearn.__version__:
        raise ModelError(
            f"{card_path(model_path)}: trained with scikit-learn {card.sklearn_version}, "
            f"installed is {sklearn.__version__}; retrain with `make train`"
        )
    bundle = joblib.load(io.BytesIO(data))
    if not isinstance(bundle, dict) or not {"pipeline", "labels", "thresholds"} <= bundle.keys():
        raise ModelError(f"{model_path}: not a tagger bundle (expected pipeline, labels, thresholds)")
    if tuple(bundle["labels"]) != card.labels:
        raise ModelError(f"{model_path}: labels {bundle['labels']} differ from the card's {list(card.labels)}")
    return bundle


def pipeline_scorer(
    model_path: Path, card: ModelCard, data: bytes, implementation: Implementation = "auto"
) -> tuple[Scorer, bool]:
    """Unpickle the pipeline in `data` (verified bytes) and compile it; returns (scorer, fast). A pipeline that
    cannot be compiled is scored by scikit-learn (logged). Raises ModelError if it cannot score the check texts."""
    pipeline = unpickle(model_path, card, data)["pipeline"]
    try:
        return FastScorer(compile_pipeline(pipeline), implementation), True
    except UnsupportedPipeline as reason:
        _LOGGER.warning("model %s: fast scorer not used (%s); scoring with scikit-learn", model_path, reason)
    except _SCORING_ERRORS as error:
        raise ModelError(f"{model_path}: scoring the check texts failed: {error!r}") from None
    scorer = SklearnScorer(pipeline)
    try:
        shape = np.asarray(scorer.scores(CHECK_TEXTS)).shape
    except _SCORING_ERRORS as error:
        raise ModelError(f"{model_path}: scoring the check texts failed: {error!r}") from None
    if shape != (len(CHECK_TEXTS), len(card.labels)):
        raise ModelError(f"{model_path}: the pipeline gives scores of shape {shape} for {list(card.labels)}")
    return scorer, False


def compile_pipeline(pipeline: Any, texts: Sequence[str] = ()) -> LinearTables:
    """The pipeline as linear tables, checked: both fast scorers over them must give the pipeline's probabilities
    (within TOLERANCE) on CHECK_TEXTS and on `texts`. Raises UnsupportedPipeline, saying why, when it cannot."""
    vectorizer, classifier = _parts(pipeline)
    _check_supported(vectorizer, classifier)
    coef = np.ascontiguousarray(np.vstack([e.coef_[0] for e in classifier.estimators_]).T, dtype=np.float64)
    vocabulary = vectorizer.vocabulary_
    terms = [""] * len(vocabulary)
    for term, i in vocabulary.items():
        terms[int(i)] = str(term)
    tables = LinearTables(
        terms=tuple(terms),
        idf=np.array(vectorizer.idf_, dtype=np.float64) if vectorizer.use_idf else np.ones(len(terms)),
        coef=coef,
        intercept=np.array([e.intercept_[0] for e in classifier.estimators_], dtype=np.float64),
        tokens=TokenSettings(
            lowercase=bool(vectorizer.lowercase),
            token_pattern=str(vectorizer.token_pattern),
            ngram_range=(int(vectorizer.ngram_range[0]), int(vectorizer.ngram_range[1])),
            stop_words=frozenset(vectorizer.get_stop_words() or ()),
        ),
        binary=bool(vectorizer.binary),
        sublinear_tf=bool(vectorizer.sublinear_tf),
        l2_norm=vectorizer.norm == "l2",
        check_scores=np.asarray(pipeline.predict_proba(list(CHECK_TEXTS)), dtype=np.float64),
    )
    tables.validate()
    scorers = [FastScorer(tables, "python"), FastScorer(tables, "auto")]  # the same one twice if not compiled
    checked = [*CHECK_TEXTS, *texts]
    for start in range(0, len(checked), 256):
        chunk = checked[start : start + 256]
        expected = pipeline.predict_proba(chunk)
        for fast in scorers:
            difference = np.abs(fast.predict_proba(chunk) - expected).max(axis=1)
            if difference.max() > TOLERANCE:
                worst = int(difference.argmax())
                raise UnsupportedPipeline(
                    f"the {'compiled' if fast.compiled else 'Python'} scorer's scores differ by "
                    f"{difference[worst]:.2e} on text {start + worst}"
                )
    return tables


class SklearnScorer:
    """The pipeline itself, for settings the fast scorer cannot reproduce."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        vectorizer, classifier = _parts(pipeline)
        self._vectorizer = vectorizer
        self._coef = np.vstack([e.coef_[0] for e in classifier.estimators_]).T
        self._terms = vectorizer.get_feature_names_out()

    def scores(self, texts: Sequence[str]) -> list[list[float]]:
        probabilities: list[list[float]] = np.asarray(self._pipeline.predict_proba(list(texts))).tolist()
        return probabilities

    def evidence(self, text: str, k: int) -> Evidence:
        """Per label, the k terms with the largest positive contribution (TF-IDF value x coefficient), strongest
        first (ties by term)."""
        row = self._vectorizer.transform([text])
        contributions = (row.data[:, np.newaxis] * self._coef[row.indices]).T.tolist()
        names = [str(self._terms[i]) for i in row.indices]
        evidence: Evidence = []
        for column in contributions:
            ranked = sorted((-weight, name) for weight, name in zip(column, names, strict=True) if weight > 0)
            evidence.append([(name, -weight) for weight, name in ranked[:k]])
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
