"""The archive job's output line: byte for byte what json.dumps writes for the documented row, for any id, labels,
scores and carried input fields; and the `assigned` rule it uses is decide()'s."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.archive.line import OWN, LineFormat
from service.domain.tagging import applied_thresholds, assigned, decide
from service.domain.tags import Options

# Any text, lone surrogates apart: the reader rejects rows holding them (no UTF-8 line can carry one).
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
# Field names that clash with the row's own, and their input_ forms, come up often.
NAMES = st.one_of(TEXT, st.sampled_from([*OWN, "input_labels", "input_scores", "%s", "%(x)s"]))
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
SCORE = st.floats(min_value=0.0, max_value=1.0)
LINES = settings(max_examples=300, deadline=None)


def documented_row(
    labels: list[str], version: str, *, row_id: Any, chosen: list[int], scores: list[float], extra: dict[str, Any]
) -> dict[str, object]:
    """The row as the README documents it, built as a dictionary."""
    row: dict[str, object] = {
        "id": row_id,
        "labels": [labels[i] for i in chosen],
        "scores": dict(zip(labels, scores, strict=True)),
        "model_version": version,
    }
    for name, value in extra.items():
        row[f"input_{name}" if name in OWN else name] = value
    return row


@LINES
@given(
    labels=st.lists(TEXT, min_size=1, max_size=5, unique=True),
    version=TEXT,
    row_id=st.one_of(TEXT, st.integers()),
    extra=st.dictionaries(NAMES.filter(lambda name: name not in ("id", "text")), VALUES, max_size=4),
    data=st.data(),
)
def test_archive_line_is_json_dumps_of_the_documented_row(labels, version, row_id, extra, data):
    scores = data.draw(st.lists(SCORE, min_size=len(labels), max_size=len(labels)))
    chosen = data.draw(st.lists(st.sampled_from(range(len(labels))), unique=True))
    line = LineFormat(labels, version).line(row_id, chosen, scores, extra)
    row = documented_row(labels, version, row_id=row_id, chosen=chosen, scores=scores, extra=extra)
    assert line == json.dumps(row, ensure_ascii=False) + "\n"


@LINES
@given(
    scores=st.lists(SCORE, min_size=1, max_size=6),
    data=st.data(),
    threshold=st.none() | SCORE,
    top_k=st.integers(0, 7),
)
def test_assigned_is_the_labels_decide_assigns(scores, data, threshold, top_k):
    labels = [f"l{i}" for i in range(len(scores))]
    tuned = data.draw(st.lists(SCORE, min_size=len(scores), max_size=len(scores)))
    options = Options(threshold=threshold, top_k=top_k)
    chosen = assigned(scores, applied_thresholds(tuned, options), top_k)
    assert [labels[i] for i in chosen] == list(decide(labels, tuned, scores, options).labels)
    # decide's rule, written out: by score, highest first, ties in model order; reaching the threshold; top_k
    applied = tuned if threshold is None else [threshold] * len(scores)
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    expected = [i for i in ranked if scores[i] >= applied[i]]
    assert list(chosen) == (expected[:top_k] if top_k else expected)
