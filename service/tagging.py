"""From scores to tags: thresholds, top_k, evidence, and the document-level view. No gRPC, no scikit-learn."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import NamedTuple

from service.model import Model
from service.scorer import Evidence


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


def tag_texts(model: Model, texts: Sequence[str], options: Options) -> list[Tags]:
    """Score `texts` with `model` and apply `options` to each."""
    scores = model.scores(texts)
    if not options.explain_terms:
        return [decide(model, row, options) for row in scores]
    evidence = [model.evidence(text, options.explain_terms) for text in texts]
    return [decide(model, row, options, e) for row, e in zip(scores, evidence, strict=True)]


def decide(model: Model, scores: Sequence[float], options: Options, evidence: Evidence | None = None) -> Tags:
    """Assign labels whose score reaches their threshold, highest first (ties in model order), within top_k."""
    thresholds = model.thresholds if options.threshold is None else (options.threshold,) * len(model.labels)
    ranked = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
    chosen = [i for i in ranked if scores[i] >= thresholds[i]]
    if options.top_k:
        chosen = chosen[: options.top_k]
    label_scores = tuple(
        LabelScore(label, scores[i], thresholds[i], i in chosen, tuple(evidence[i]) if evidence else ())
        for i, label in enumerate(model.labels)
    )
    return Tags(tuple(model.labels[i] for i in chosen), label_scores)


def document_tags(model: Model, paragraphs: Sequence[Tags]) -> Tags:
    """A document is about what any paragraph is about: per label the highest paragraph score (with that
    paragraph's evidence), and every label assigned to at least one paragraph."""
    assigned = {label for tags in paragraphs for label in tags.labels}
    scores = []
    for i, label in enumerate(model.labels):
        best = max((tags.scores[i] for tags in paragraphs), key=lambda s: s.score)
        scores.append(best._replace(label=label, assigned=label in assigned))
    ranked = sorted(range(len(model.labels)), key=lambda i: -scores[i].score)
    return Tags(tuple(model.labels[i] for i in ranked if model.labels[i] in assigned), tuple(scores))
