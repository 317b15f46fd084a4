"""build_pipeline: TF-IDF word n-grams and one-vs-rest logistic regression, all stock scikit-learn parts; and
fit_pipeline, which may lend the model word vectors' knowledge and still returns those stock parts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

from training.word_vectors.table import WordVectors

RANDOM_STATE = 0


def build_vectorizer(ngram_max: int = 2, min_df: int = 2, sublinear_tf: bool = True) -> TfidfVectorizer:
    """Word-level TF-IDF over 1..ngram_max grams with scikit-learn's default tokens, lower-cased."""
    return TfidfVectorizer(ngram_range=(1, ngram_max), min_df=min_df, sublinear_tf=sublinear_tf, dtype=np.float64)


def build_classifier(c: float = 8.0, class_weight: str | None = None) -> OneVsRestClassifier:
    """One logistic regression per label, so every label's score is a probability of its own."""
    return OneVsRestClassifier(
        LogisticRegression(C=c, class_weight=class_weight, solver="liblinear", random_state=RANDOM_STATE)
    )


def build_pipeline(
    ngram_max: int = 2,
    min_df: int = 2,
    sublinear_tf: bool = True,
    c: float = 8.0,
    class_weight: str | None = None,
) -> Pipeline:
    """The model: build_vectorizer followed by build_classifier, with no custom code in the pickle."""
    return Pipeline(
        [
            ("tfidf", build_vectorizer(ngram_max, min_df, sublinear_tf)),
            ("classifier", build_classifier(c, class_weight)),
        ]
    )


def build_baseline() -> Pipeline:
    """The plain baseline the corpus is judged with: word 1-2 gram TF-IDF and default logistic regressions."""
    return Pipeline(
        [("tfidf", TfidfVectorizer(ngram_range=(1, 2))), ("classifier", OneVsRestClassifier(LogisticRegression()))]
    )


def fit_pipeline(
    texts: Sequence[str], y: np.ndarray, params: dict[str, Any], vectors: WordVectors | None = None, weight: float = 0
) -> Pipeline:
    """build_pipeline(**params) fitted; with `vectors` and a `weight` above 0, fitted with the word-vector prior.

    The prior: the vocabulary also holds every word of the table, and each label's logistic regression sees, beside
    a text's TF-IDF vector x, the block weight * (x @ M), where row t of M is term t's word vector (zeros for terms
    the table lacks). That block is linear in x, so the fitted coefficients (w, u) collapse into one coefficient per
    term, w + weight * M @ u: the result is the same stock pipeline, exactly, with a weight even for words that no
    training text contains."""
    if vectors is None or weight <= 0:
        return build_pipeline(**params).fit(list(texts), y)
    ngram_max, sublinear_tf = params.get("ngram_max", 2), params.get("sublinear_tf", True)
    corpus = build_vectorizer(ngram_max, params.get("min_df", 2), sublinear_tf).fit(texts)
    vectorizer = TfidfVectorizer(
        ngram_range=(1, ngram_max),
        sublinear_tf=sublinear_tf,
        dtype=np.float64,
        vocabulary=sorted(set(corpus.vocabulary_) | set(vectors.words)),
    ).fit(texts)
    x = vectorizer.transform(texts)
    m = vectors.matrix(vectorizer.get_feature_names_out())
    features = sparse.hstack([x, sparse.csr_matrix(weight * (x @ m))], format="csr")
    classifier = build_classifier(params.get("c", 8.0), params.get("class_weight")).fit(features, y)
    terms = x.shape[1]
    for estimator in classifier.estimators_:
        coef = estimator.coef_[0]
        estimator.coef_ = (coef[:terms] + weight * (m @ coef[terms:]))[np.newaxis, :]
        estimator.n_features_in_ = terms
    classifier.n_features_in_ = terms
    return Pipeline([("tfidf", vectorizer), ("classifier", classifier)])
