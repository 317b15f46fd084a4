"""The kinds of a model's misses and false labels on a fully labelled file of whole articles, as the data card's
error analysis counts them: a story's main topic is a label at least MAIN_SHARE of its paragraphs carry."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from training.data import Example

MAIN_SHARE = 0.4
# A paragraph this short (in words) reads as a subheading, caption or kicker.
SHORT_WORDS = 12


def main_topics(labels: Sequence[str], examples: Sequence[Example]) -> dict[str, set[str]]:
    """Each article's main topics: the labels that at least MAIN_SHARE of its paragraphs carry."""
    articles: dict[str, list[Example]] = defaultdict(list)
    for e in examples:
        articles[str(e.extra["article"])].append(e)
    return {
        name: {label for label in labels if sum(label in e.labels for e in rows) >= MAIN_SHARE * len(rows)}
        for name, rows in articles.items()
    }


def error_kinds(labels: Sequence[str], predicted: np.ndarray, examples: Sequence[Example]) -> dict[str, int]:
    """Counts of missed and false labels by kind; labels an item lists under `optional` count neither way."""
    main = main_topics(labels, examples)
    kinds: Counter[str] = Counter()
    for e, row in zip(examples, predicted, strict=True):
        story = main[str(e.extra["article"])]
        for label, guessed in zip(labels, row, strict=True):
            truth = label in e.labels
            if label in e.extra.get("optional", ()) or truth == bool(guessed):
                continue
            if truth:
                kinds[f"missed {label}"] += 1
                kinds["missed: the story's main topic" if label in story else "missed: a secondary topic"] += 1
                kinds["missed: the story's main topic, 12 words or fewer"] += label in story and _short(e)
            else:
                kinds[f"false {label}"] += 1
                kinds["false: in a story about none of the three" if not story else "false: another topic"] += 1
    return dict(sorted(kinds.items()))


def _short(example: Example) -> bool:
    return len(example.text.split()) <= SHORT_WORDS
