"""TagParagraphs' results written as tagger.v1 wire bytes straight from the score rows.

Built as protobuf messages, a one-paragraph reply costs a domain record and a Python message per label score: as
much of the server's CPU as scoring itself (make bench). Paragraphs given the same labels in the same order differ
only in their id and their scores, so the bytes around the scores are laid out once per model and assignment, and
a paragraph is one struct pack. The bytes are the ones protobuf's SerializeToString writes (tests/test_encoder.py
holds them to it). What a layout cannot hold is built as messages: evidence terms, and a score that may round to
0.0 as a 32-bit float (proto3 leaves zeros out)."""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Sequence
from typing import NamedTuple

from service.api import converters
from service.domain.tagging import applied_thresholds, assigned
from service.domain.tags import Options
from service.gen import tagger_service_pb2 as pb
from service.model.loader import Model

try:  # the compiled packer (service/model/_records.c), built with the compiled scorer; encode() is its fallback
    from service.model._speedups import pack_records
except ImportError:  # pragma: no cover - depends on the install
    pack_records = None  # type: ignore[assignment]
COMPILED = pack_records is not None

# Below the smallest normal 32-bit float a score may round to 0.0, which the wire leaves out.
_TINY = 2.0**-126
_FLOAT = struct.Struct("<f")
_OVERRIDES = 32
_NEW = tuple.__new__


class Results(NamedTuple):
    """A chunk's `TagParagraphsResponse.results` as wire bytes, and each paragraph's labels assigned."""

    data: bytes
    labels: list[tuple[str, ...]]


def encoder_of(model: Model) -> ParagraphsEncoder:
    """The encoder of `model`'s version, labels and thresholds; compiled where its scorer is."""
    return _encoder(model.version, model.labels, model.thresholds, model.implementation == "compiled")


class ParagraphsEncoder:
    """Encodes results for one model: its labels and tuned thresholds, and its version."""

    def __init__(
        self, version: str, labels: tuple[str, ...], thresholds: tuple[float, ...], compiled: bool = False
    ) -> None:
        if compiled and pack_records is None:
            raise ValueError("the compiled packer was not built at install")
        self._name = version
        self._compiled = compiled
        # TagParagraphsResponse.model_version (proto3 leaves an empty string out)
        self._version = _field(_MODEL_VERSION, version.encode()) if version else b""
        self._labels = labels
        self._thresholds = thresholds
        self._layouts: dict[tuple[int, ...], _Layout] = {}  # with the tuned thresholds, by labels assigned
        self._overrides: dict[bytes, dict[tuple[int, ...], _Layout]] = {}  # by a request's 32-bit threshold

    def __reduce__(
        self,
    ) -> tuple[Callable[..., ParagraphsEncoder], tuple[str, tuple[str, ...], tuple[float, ...], bool]]:
        """Pickled as its model's identity (tag() runs in worker processes): a worker keeps one encoder per model."""
        return _encoder, (self._name, self._labels, self._thresholds, self._compiled)

    def tag(self, model: Model, ids: Sequence[str], texts: Sequence[str], options: Options) -> Results:
        """Score `texts` with `model` (this encoder's) and encode their results: the finish of a TagParagraphs
        chunk, inline or in a worker (service.execution)."""
        if not options.explain_terms:
            encoded = self.encode(ids, model.scorer.scores(texts), options)
            if encoded is not None:
                return encoded
        tags = model.tag(texts, options)
        data = converters.results_reply(ids, tags).SerializeToString()
        return Results(data, [paragraph.labels for paragraph in tags])

    def reply(self, chunks: Sequence[Results]) -> bytes:
        """The TagParagraphsResponse: the chunks' results in order, then the model version."""
        if len(chunks) == 1:
            return chunks[0].data + self._version
        return b"".join([*(chunk.data for chunk in chunks), self._version])

    def encode(self, ids: Sequence[str], rows: list[list[float]], options: Options) -> Results | None:
        """The results of paragraphs with these ids and score rows under `options` (evidence aside); None when a
        score is too small for a layout."""
        thresholds = applied_thresholds(self._thresholds, options)
        layouts = self._layouts if options.threshold is None else self._override(options.threshold)
        if self._compiled:  # None when it lacks a layout (made below, for the next call) or a score is too small
            packed = pack_records(_RESULTS, _ID, list(ids), rows, tuple(thresholds), options.top_k, layouts)
            if packed is not None:
                return _NEW(Results, packed)  # as NamedTuple._make does, without a Python frame
        if min(map(min, rows)) < _TINY:
            return None
        pieces: list[bytes] = []
        labels: list[tuple[str, ...]] = []
        for paragraph_id, row in zip(ids, rows, strict=True):
            chosen = assigned(row, thresholds, options.top_k)
            layout = layouts.get(chosen) or layouts.setdefault(chosen, _layout(self._labels, thresholds, chosen))
            args = layout.args.copy()
            args[1::2] = row  # the scores between the constants
            body = layout.pack(*args)
            if paragraph_id:  # proto3 leaves an empty string out
                id_bytes = paragraph_id.encode()
                body = _ID + _length(len(id_bytes)) + id_bytes + body
            pieces.append(_RESULTS + _length(len(body)) + body)
            labels.append(layout.labels)
        return Results(b"".join(pieces), labels)

    def _override(self, threshold: float) -> dict[tuple[int, ...], _Layout]:
        """The layouts of a request's own threshold; those of the latest _OVERRIDES thresholds are kept."""
        key = _FLOAT.pack(threshold)  # as written: 0.0 and -0.0 differ on the wire
        layouts = self._overrides.get(key)
        if layouts is None:
            if len(self._overrides) >= _OVERRIDES:
                del self._overrides[next(iter(self._overrides))]
            layouts = self._overrides[key] = {}
        return layouts


class _Layout(NamedTuple):
    """A ParagraphTags after its id, for one assignment: constant bytes with a 32-bit score between each two. The
    compiled packer reads the first two fields."""

    pieces: tuple[bytes, ...]  # before each score, then after the last
    labels: tuple[str, ...]
    pack: Callable[..., bytes]
    args: list[bytes | float]


@functools.lru_cache(maxsize=4)
def _encoder(version: str, labels: tuple[str, ...], thresholds: tuple[float, ...], compiled: bool) -> ParagraphsEncoder:
    """One encoder per model (the one in service, and the one before a swap)."""
    return ParagraphsEncoder(version, labels, thresholds, compiled)


def _layout(labels: Sequence[str], thresholds: Sequence[float], chosen: tuple[int, ...]) -> _Layout:
    """The labels field of the labels `chosen` (in order), then each label's LabelScore with its score left open:
    label, score, threshold (left out when 0.0), assigned (left out when false)."""
    head = b"".join(_field(_LABELS, labels[i].encode()) for i in chosen)
    constants = []  # the bytes before each score, then the bytes after the last
    for i, (label, threshold) in enumerate(zip(labels, thresholds, strict=True)):
        label_field = _field(_LABEL, label.encode())
        threshold_bytes = _FLOAT.pack(threshold)
        tail = b"" if threshold_bytes == bytes(_FLOAT.size) else _THRESHOLD + threshold_bytes
        tail += _ASSIGNED if i in chosen else b""
        size = len(label_field) + len(_SCORE) + _FLOAT.size + len(tail)
        constants.append(head + _SCORES + _length(size) + label_field + _SCORE)
        head = tail
    layout = "<" + "".join(f"{len(constant)}sf" for constant in constants) + f"{len(head)}s"
    args: list[bytes | float] = [item for constant in constants for item in (constant, 0.0)]
    pack = struct.Struct(layout).pack
    return _Layout((*constants, head), tuple(labels[i] for i in chosen), pack, [*args, head])


def _key(message: type, field: str) -> bytes:
    """A field's key on the wire, from the generated descriptor: its number and wire type (32-bit for a float,
    varint for a bool, else length-delimited)."""
    descriptor = message.DESCRIPTOR.fields_by_name[field]  # type: ignore[attr-defined]
    wire_type = {descriptor.CPPTYPE_FLOAT: 5, descriptor.CPPTYPE_BOOL: 0}.get(descriptor.cpp_type, 2)
    return _varint(descriptor.number << 3 | wire_type)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


_SHORT_LENGTHS = [bytes((n,)) for n in range(0x80)]


def _length(size: int) -> bytes:
    """A length as a varint: one byte up to 127."""
    return _SHORT_LENGTHS[size] if size < 0x80 else _varint(size)


def _field(key: bytes, data: bytes) -> bytes:
    """A length-delimited field: key, length, bytes."""
    return key + _length(len(data)) + data


_RESULTS = _key(pb.TagParagraphsResponse, "results")
_MODEL_VERSION = _key(pb.TagParagraphsResponse, "model_version")
_ID = _key(pb.ParagraphTags, "id")
_LABELS = _key(pb.ParagraphTags, "labels")
_SCORES = _key(pb.ParagraphTags, "scores")
_LABEL = _key(pb.LabelScore, "label")
_SCORE = _key(pb.LabelScore, "score")
_THRESHOLD = _key(pb.LabelScore, "threshold")
_ASSIGNED = _key(pb.LabelScore, "assigned") + b"\x01"
