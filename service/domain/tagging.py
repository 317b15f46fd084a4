"""From scores to tags: thresholds, top_k, evidence, and the document-level view."""

from __future__ import annotations

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
    if options.threshold is not None:
        thresholds = (options.threshold,) * len(labels)
    ranked = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)
    chosen = [i for i in ranked if scores[i] >= thresholds[i]]
    if options.top_k:
        chosen = chosen[: options.top_k]
    label_scores = tuple(
        LabelScore(label, scores[i], thresholds[i], i in chosen, tuple(evidence[i]) if evidence else ())
        for i, label in enumerate(labels)
    )
    return Tags(tuple(labels[i] for i in chosen), label_scores)


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
