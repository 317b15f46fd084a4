"""From scores to tags: thresholds, top_k, evidence, document context, and the document-level view."""

from __future__ import annotations

import dataclasses
import itertools
import operator
from collections.abc import Sequence

from service.domain.tags import Evidence, LabelScore, Options, Tags


def decide(
    labels: Sequence[str],
    thresholds: Sequence[float],
    scores: Sequence[float],
    options: Options,
    evidence: Evidence | None = None,
) -> Tags:
    """Assign labels whose score reaches their threshold (the tuned one, or the request's override), highest
    first (ties in model order), within top_k."""
    thresholds = applied_thresholds(thresholds, options)
    chosen = assigned(scores, thresholds, options.top_k)
    flags = [i in chosen for i in range(len(scores))]
    if evidence:
        label_scores = tuple(map(LabelScore, labels, scores, thresholds, flags, map(tuple, evidence)))
    else:  # called once per paragraph: map() over the columns is the cheapest way to build them
        label_scores = tuple(map(LabelScore, labels, scores, thresholds, flags))
    return Tags(tuple(labels[i] for i in chosen), label_scores)


def applied_thresholds(tuned: Sequence[float], options: Options) -> Sequence[float]:
    """Each label's threshold: the tuned one, or the request's override for every label."""
    return tuned if options.threshold is None else (options.threshold,) * len(tuned)


def assigned(scores: Sequence[float], thresholds: Sequence[float], top_k: int) -> tuple[int, ...]:
    """The indices of the labels assigned: those whose score reaches its threshold, highest score first (ties in
    model order: the sort is stable), at most `top_k` of them (0: no cap). Run for every paragraph served, so it
    stays in C-level builtins."""
    if len(scores) != len(thresholds):
        raise ValueError(f"{len(scores)} scores against {len(thresholds)} thresholds")
    chosen = tuple(itertools.compress(range(len(scores)), map(operator.ge, scores, thresholds)))
    if len(chosen) > 1:
        chosen = tuple(sorted(chosen, key=scores.__getitem__, reverse=True))
    return chosen[:top_k] if top_k else chosen


def with_document_context(
    labels: Sequence[str], paragraphs: Sequence[Tags], lengths: Sequence[int], weight: float, options: Options
) -> list[Tags]:
    """Each paragraph's tags decided again on (1 - weight) x its scores + weight x the document's scores, the
    length-weighted mean of its paragraphs' scores (so page furniture weighs little). The thresholds that
    applied and the evidence are kept; weight 0 returns the paragraphs unchanged."""
    if not weight or not paragraphs:
        return list(paragraphs)
    total = sum(lengths) or len(paragraphs)
    document = [
        sum(tags.scores[i].score * (length or 1) for tags, length in zip(paragraphs, lengths, strict=True)) / total
        for i in range(len(labels))
    ]
    alone = dataclasses.replace(options, threshold=None)
    return [
        decide(
            labels,
            [s.threshold for s in tags.scores],
            [(1 - weight) * s.score + weight * d for s, d in zip(tags.scores, document, strict=True)],
            alone,
            [list(s.evidence) for s in tags.scores] if options.explain_terms else None,
        )
        for tags in paragraphs
    ]


def document_tags(labels: Sequence[str], paragraphs: Sequence[Tags]) -> Tags:
    """A document is about what any paragraph is about: per label the highest paragraph score (with that
    paragraph's evidence), and every label assigned to at least one paragraph."""
    assigned = {label for tags in paragraphs for label in tags.labels}
    scores = []
    for i, label in enumerate(labels):
        best = max((tags.scores[i] for tags in paragraphs), key=lambda s: s.score)
        scores.append(best._replace(label=label, assigned=label in assigned))
    ranked = sorted(range(len(labels)), key=lambda i: -scores[i].score)
    return Tags(tuple(labels[i] for i in ranked if labels[i] in assigned), tuple(scores))
