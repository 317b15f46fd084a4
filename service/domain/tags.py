"""Plain types of tagging: the options a request gives, each label's score, and a text's tags."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

# Per label, the k terms of a text that push its score up most: (term, contribution), strongest first.
Evidence = list[list[tuple[str, float]]]


@dataclasses.dataclass(frozen=True)
class Options:
    """How scores become labels: an optional threshold override, a cap on labels, evidence terms per label."""

    threshold: float | None = None
    top_k: int = 0
    explain_terms: int = 0


class LabelScore(NamedTuple):
    """One label's score, the threshold that applied, whether it was assigned, and its evidence."""

    label: str
    score: float
    threshold: float
    assigned: bool
    evidence: tuple[tuple[str, float], ...] = ()


class Tags(NamedTuple):
    """The tagging of one text: assigned labels (highest score first) and every label's score (model order)."""

    labels: tuple[str, ...]
    scores: tuple[LabelScore, ...]
