"""build_pipeline: TF-IDF word n-grams and one-vs-rest logistic regression, all stock scikit-learn parts."""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline

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
