"""The model in service: its verified card, labels and thresholds, and the scorer that reproduces its pipeline."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.artifact import ArtifactError, read_card, read_verified
from service.scorer import Evidence, FastScorer, Scorer
from service.tables import CHECK_TEXTS, TOLERANCE, LinearTables, TablesError

_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Model:
    """A loaded, verified model: its identity, labels and tuned thresholds, and a scorer."""

    path: Path
    version: str
    labels: tuple[str, ...]
    thresholds: tuple[float, ...]
    card: Mapping[str, Any]
    scorer: Scorer
    fast: bool

    def scores(self, texts: Sequence[str]) -> list[list[float]]:
        """Per text, per label probabilities in the model's label order."""
        return self.scorer.scores(texts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """The same as an array of shape (len(texts), len(labels)), like Pipeline.predict_proba."""
        return np.array(self.scorer.scores(texts), dtype=np.float64).reshape(len(texts), len(self.labels))

    def evidence(self, text: str, k: int) -> Evidence:
        """Per label, the k terms of `text` that push its score up most, strongest first."""
        return self.scorer.evidence(text, k)

    def metrics(self) -> dict[str, float]:
        """The card's metrics flattened: "test.micro_f1", "test.f1.defence", "cv.macro_f1", ..."""
        flat: dict[str, float] = {}
        for split, figures in (self.card.get("metrics") or {}).items():
            if not isinstance(figures, dict):
                continue
            for name, value in figures.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    flat[f"{split}.{name}"] = float(value)
            for label, per_label in (figures.get("per_label") or {}).items():
                for name in ("precision", "recall", "f1"):
                    if name in per_label:
                        flat[f"{split}.{name}.{label}"] = float(per_label[name])
        return flat


def load_model(path: Path, key: str = "") -> Model:
    """Verify and load the model at `path`; raises ArtifactError if it cannot serve.

    Every file the card names is checked against its digest. A model with linear tables is scored from them (no
    unpickling, no scikit-learn) once they reproduce the pipeline's scores recorded in them; otherwise the
    pipeline is unpickled and compiled here, or scored by scikit-learn itself when it cannot be compiled."""
    card = read_card(path, key)
    labels = tuple(str(label) for label in card.get("labels") or ())
    thresholds = tuple(float((card.get("thresholds") or {}).get(label, math.nan)) for label in labels)
    if not labels or not all(0.0 <= t <= 1.0 for t in thresholds):
        raise ArtifactError(f"{path}: every label needs a threshold in [0, 1], got {card.get('thresholds')}")
    if "tables" in card:
        read_verified(path, card, "artifact")  # intact although not unpickled here: it is the fallback
        scorer = _tables_scorer(path, card, len(labels))
        if scorer is not None:
            return Model(path, str(card["version"]), labels, thresholds, card, scorer, fast=True)
    # scikit-learn (tens of MiB and most of a second) is imported only for a model that needs it
    from service import pipeline  # noqa: PLC0415

    fallback, fast = pipeline.pipeline_scorer(path, card)
    return Model(path, str(card["version"]), labels, thresholds, card, fallback, fast)


def _tables_scorer(path: Path, card: dict[str, Any], labels: int) -> FastScorer | None:
    """The fast scorer over the card's tables, or None (logged) if they do not reproduce their check scores."""
    try:
        tables = LinearTables.from_bytes(read_verified(path, card, "tables"))
    except TablesError as error:
        raise ArtifactError(f"{path}: {error}") from None
    if tables.labels != labels:
        raise ArtifactError(f"{path}: the tables score {tables.labels} labels, the card names {labels}")
    scorer = FastScorer(tables)
    if np.allclose(scorer.predict_proba(CHECK_TEXTS), tables.check_scores, rtol=0, atol=TOLERANCE):
        return scorer
    _LOGGER.warning("model %s: the tables do not reproduce their check scores; unpickling the pipeline", path)
    return None
