"""Labelled data: read JSONL and CSV files, apply the format checks, and report problems as `file:line: reason`."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

SHIPPED_TRAIN = Path("training/data/train.jsonl")
SHIPPED_TEST = Path("training/data/test.jsonl")
MIN_POSITIVES = 10
NEAR_DUPLICATE_COSINE = 0.8


class DataError(ValueError):
    """The data cannot be used; the message starts with `file:line:` where a line is at fault."""


@dataclasses.dataclass(frozen=True)
class Example:
    """One labelled paragraph, with where it came from and any extra fields of its line."""

    text: str
    labels: frozenset[str]
    source: str
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


def read_examples(paths: Sequence[Path], *, allow_repeats: bool = False) -> list[Example]:
    """Read every file in order; raises DataError on the first invalid line, or on a text seen twice unless
    `allow_repeats` (evaluation sets of real pages repeat their furniture: bylines, "Advertisement")."""
    examples: list[Example] = []
    first_seen: dict[str, str] = {}
    for path in paths:
        for example in _read_file(path):
            if example.text in first_seen and not allow_repeats:
                raise DataError(f"{example.source}: duplicate text, first seen at {first_seen[example.text]}")
            first_seen[example.text] = example.source
            examples.append(example)
    return examples


def label_names(examples: Sequence[Example]) -> list[str]:
    """The labels of the data, sorted: labels come from the data, not from code."""
    return sorted({label for example in examples for label in example.labels})


def label_matrix(examples: Sequence[Example], labels: Sequence[str]) -> np.ndarray:
    """A 0/1 matrix of shape (len(examples), len(labels))."""
    return np.array([[label in e.labels for label in labels] for e in examples], dtype=np.int8).reshape(
        len(examples), len(labels)
    )


def check_trainable(examples: Sequence[Example]) -> list[str]:
    """The labels, if every one has at least MIN_POSITIVES positives; raises DataError naming the ones short."""
    labels = label_names(examples)
    if len(labels) < 2:
        raise DataError(f"the data has {len(labels)} label(s) ({', '.join(labels) or 'none'}); at least 2 needed")
    counts = label_matrix(examples, labels).sum(axis=0)
    short = [f"{label} ({int(n)})" for label, n in zip(labels, counts, strict=True) if n < MIN_POSITIVES]
    if short:
        raise DataError(
            f"label(s) with fewer than {MIN_POSITIVES} positives, whose threshold cannot be tuned: {', '.join(short)}"
        )
    return labels


def near_duplicates(texts: Sequence[str], cosine: float = NEAR_DUPLICATE_COSINE) -> list[tuple[int, int, float]]:
    """Pairs (i, j, similarity) with i < j whose TF-IDF cosine similarity is at least `cosine`."""
    if len(texts) < 2:
        return []
    matrix = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
    pairs = []
    for start in range(0, matrix.shape[0], 512):
        block = (matrix[start : start + 512] @ matrix.T).tocoo()
        for i, j, value in zip(block.row + start, block.col, block.data, strict=True):
            if i < j and value >= cosine:
                pairs.append((int(i), int(j), float(value)))
    return pairs


def _read_file(path: Path) -> Iterator[Example]:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if path.suffix.lower() == ".csv":
        yield from _read_csv(path)
    else:
        yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[Example]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(f"{where}: invalid JSON: {error.msg}") from None
            if not isinstance(record, dict):
                raise DataError(f"{where}: expected a JSON object with `text` and `labels`")
            yield _example(record.pop("text", None), record.pop("labels", None), where, record)


def _read_csv(path: Path) -> Iterator[Example]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", "labels"} <= set(reader.fieldnames):
            raise DataError(f"{path}:1: the header must name the columns `text` and `labels`")
        start = 2
        for row in reader:
            labels = [label.strip() for label in (row.get("labels") or "").split("|") if label.strip()]
            yield _example(row.get("text"), labels, f"{path}:{start}", {})
            start = reader.line_num + 1


def _example(text: object, labels: object, where: str, extra: dict[str, Any]) -> Example:
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"{where}: `text` is missing or empty")
    if not isinstance(labels, list) or not all(isinstance(label, str) and label.strip() for label in labels):
        raise DataError(f"{where}: `labels` must be a list of non-empty strings")
    return Example(text, frozenset(labels), where, extra)
