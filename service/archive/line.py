"""An output row as one line of JSON, byte for byte what `json.dumps(row, ensure_ascii=False)` writes for it, filled
into a template made once per model: a partition writes tens of thousands of rows, and a dictionary per row passed
through the json module's encoder costs more than scoring it (make bench-archive)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from json.encoder import encode_basestring  # the C function json.dumps(ensure_ascii=False) uses

# The row's own fields, in order; an input field of the same name is carried as input_<name>.
OWN = ("id", "labels", "scores", "model_version")
_OWN = frozenset(OWN)
_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


class LineFormat:
    """Output lines of one model (its labels, in order, and version)."""

    def __init__(self, labels: Sequence[str], version: str) -> None:
        self._labels = [encode_basestring(label) for label in labels]
        # Scores are the scorer's probabilities, finite Python floats, which json writes with float.__repr__ (%r).
        scores = ", ".join(f"{_escaped(label)}: %r" for label in self._labels)
        version_json = _escaped(encode_basestring(version))
        self._template = f'{{"id": %s, "labels": [%s], "scores": {{{scores}}}, "model_version": {version_json}%s}}\n'

    def line(
        self, row_id: str | int, assigned: Sequence[int], scores: Sequence[float], extra: Mapping[str, object]
    ) -> str:
        """The row of a paragraph: its id, the labels at `assigned` (indices, in order), every label's score, the
        model version and the input's other fields `extra`."""
        labels = ", ".join([self._labels[i] for i in assigned])
        return self._template % (_ENCODE(row_id), labels, *scores, _carried(extra))


def _carried(extra: Mapping[str, object]) -> str:
    """The input's other fields as the end of the row's JSON object (`, "name": value, ...`), or nothing. Encoded
    a field at a time: encoding them as one dictionary costs four times as much."""
    if not _OWN.isdisjoint(extra):  # renamed in a dictionary, so that a clash keeps one field, as json.dumps would
        extra = {f"input_{name}" if name in _OWN else name: value for name, value in extra.items()}
    return "".join([f", {encode_basestring(name)}: {_ENCODE(value)}" for name, value in extra.items()])


def _escaped(text: str) -> str:
    """`text` with its % signs doubled, to sit as itself in a %-template."""
    return text.replace("%", "%%")
