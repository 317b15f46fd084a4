"""The model in service: a verified bundle, its card, and the scorer that reproduces its pipeline."""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from service.artifact import ArtifactError, load_bundle
from service.scorer import Evidence, FastScorer, Scorer, SklearnScorer, UnsupportedPipeline

_LOGGER = logging.getLogger(__name__)

# Scored at load time: a model that cannot score these, or whose fast scorer disagrees with its pipeline, is
# never put in service (TF Serving calls this warm-up).
_WARM_UP = (
    "Parliament approved the defence budget after ministers agreed new tax rises to pay for it.",
    "The central bank held interest rates at 4.5% as inflation eased for a third month.",
    "Rovers' defence held firm as the captain led the title campaign.",
    "Click here to subscribe",
    "",
)
_TOLERANCE = 1e-6


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
    """Verify, unpickle, compile and warm up the model at `path`; raises ArtifactError if it cannot serve."""
    card, bundle = load_bundle(path, key)
    labels = tuple(str(label) for label in bundle["labels"])
    thresholds = tuple(float(bundle["thresholds"].get(label, math.nan)) for label in labels)
    if not labels or not all(0.0 <= t <= 1.0 for t in thresholds):
        raise ArtifactError(f"{path}: every label needs a threshold in [0, 1], got {bundle['thresholds']}")
    pipeline = bundle["pipeline"]
    scorer: Scorer
    try:
        scorer = FastScorer(pipeline)
    except UnsupportedPipeline as reason:
        _LOGGER.warning("model %s: fast scorer not used (%s); scoring with scikit-learn", path, reason)
        scorer = SklearnScorer(pipeline)
    model = Model(path, str(card["version"]), labels, thresholds, card, scorer, isinstance(scorer, FastScorer))
    return _warm_up(model, pipeline)


def _warm_up(model: Model, pipeline: Any) -> Model:
    try:
        expected = np.asarray(pipeline.predict_proba(list(_WARM_UP)), dtype=np.float64)
        got = model.predict_proba(_WARM_UP)
    except Exception as error:
        raise ArtifactError(f"{model.path}: warm-up scoring failed: {error!r}") from None
    if expected.shape != (len(_WARM_UP), len(model.labels)):
        raise ArtifactError(f"{model.path}: pipeline gives {expected.shape[1]} scores for {len(model.labels)} labels")
    if model.fast and not np.allclose(got, expected, rtol=0, atol=_TOLERANCE):
        _LOGGER.warning("model %s: fast scorer disagrees with the pipeline; scoring with scikit-learn", model.path)
        return dataclasses.replace(model, scorer=SklearnScorer(pipeline), fast=False)
    return model
