"""Loading a model: verify the card and every file it names, then build the scorer that reproduces its pipeline and
warm it up on the tables' check texts. A model that fails any step raises ModelError and is never served."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from service.domain.errors import ModelError
from service.domain.tagging import decide
from service.domain.tags import Evidence, Options, Tags
from service.model.card import ModelCard, read_card, read_verified
from service.model.scorer import FastScorer, Implementation, Scorer
from service.model.tables import CHECK_TEXTS, TOLERANCE, LinearTables, TablesError

_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Model:
    """A loaded, verified model: its card (version, labels, tuned thresholds) and a scorer."""

    path: Path
    card: ModelCard
    scorer: Scorer
    fast: bool

    @property
    def implementation(self) -> str:
        """Which scorer serves: `compiled`, `python` (both from the linear tables) or `scikit-learn`."""
        if isinstance(self.scorer, FastScorer):
            return "compiled" if self.scorer.compiled else "python"
        return "scikit-learn"

    @property
    def version(self) -> str:
        """The card's version: a digest of the data, settings and libraries."""
        return self.card.version

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels in the model's order, which every score list follows."""
        return self.card.labels

    @functools.cached_property
    def thresholds(self) -> tuple[float, ...]:
        """Each label's tuned threshold, in label order."""
        return tuple(self.card.thresholds[label] for label in self.labels)

    def scores(self, texts: Sequence[str]) -> list[list[float]]:
        """Per text, per label probabilities in the model's label order."""
        return self.scorer.scores(texts)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """The same as an array of shape (len(texts), len(labels)), like Pipeline.predict_proba."""
        return np.array(self.scorer.scores(texts), dtype=np.float64).reshape(len(texts), len(self.labels))

    def evidence(self, text: str, k: int) -> Evidence:
        """Per label, the k terms of `text` that push its score up most, strongest first."""
        return self.scorer.evidence(text, k)

    def tag(self, texts: Sequence[str], options: Options) -> list[Tags]:
        """Score `texts` and apply `options` and the tuned thresholds to each."""
        scores = self.scorer.scores(texts)
        if not options.explain_terms:
            return [decide(self.labels, self.thresholds, row, options) for row in scores]
        evidence = [self.scorer.evidence(text, options.explain_terms) for text in texts]
        return [decide(self.labels, self.thresholds, row, options, e) for row, e in zip(scores, evidence, strict=True)]


def load_model(path: Path, key: str = "", implementation: Implementation = "auto") -> Model:
    """Verify and load the model at `path`; raises ModelError if it cannot serve. `implementation` chooses the
    tables' scorer (service.model.scorer.IMPLEMENTATIONS).

    Every file the card names is checked against its digest. A model with linear tables is scored from them (no
    unpickling, no scikit-learn) once they reproduce the pipeline's scores recorded in them; otherwise the
    pipeline is unpickled and compiled here, or scored by scikit-learn itself when it cannot be compiled."""
    card = read_card(path, key)
    artifact = read_verified(path, card, "artifact")  # checked even when not unpickled: it is the fallback
    if card.tables is not None:
        scorer = _tables_scorer(path, card, implementation)
        if scorer is not None:
            return Model(path, card, scorer, fast=True)
    # scikit-learn (tens of MiB and most of a second) is imported only for a model that needs it
    from service.model import bundle  # noqa: PLC0415

    fallback, fast = bundle.pipeline_scorer(path, card, artifact, implementation)
    return Model(path, card, fallback, fast)


def _tables_scorer(path: Path, card: ModelCard, implementation: Implementation) -> FastScorer | None:
    """The fast scorer over the card's tables, or None (logged) if they do not reproduce their check scores."""
    try:
        tables = LinearTables.from_bytes(read_verified(path, card, "tables"))
    except TablesError as error:
        raise ModelError(f"{path}: {error}") from None
    if tables.labels != len(card.labels):
        raise ModelError(f"{path}: the tables score {tables.labels} labels, the card names {len(card.labels)}")
    scorer = FastScorer(tables, implementation)
    if np.allclose(scorer.predict_proba(CHECK_TEXTS), tables.check_scores, rtol=0, atol=TOLERANCE):
        return scorer
    _LOGGER.warning("model %s: the tables do not reproduce their check scores; unpickling the pipeline", path)
    return None
