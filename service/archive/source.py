"""Reading the input: the files a list of paths and glob patterns names, and their records (one JSONL line, or one
CSV record, which may span lines) with line numbers and byte offsets, read from any offset so that a partition is
read without the rest of its file. Rows become paragraphs to tag or rejected rows with a reason."""

from __future__ import annotations

import csv
import dataclasses
import glob
import itertools
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from service.domain.limits import Limits
from service.domain.validation import check_text

# Read buffer of input files: lines come a few hundred bytes at a time, and 64 KiB reads take a third off the
# cost of splitting them (the default is 8 KiB).
READ_BUFFER = 1 << 16
# A lone surrogate in text decoded with surrogateescape: the bytes there were not UTF-8.
_NOT_UTF8 = re.compile("[\ud800-\udfff]")


class ArchiveError(Exception):
    """The archive job cannot start or finish as asked; the message says why and what to do. Not a TaggerError:
    no call of the service ends with it, so it has no status code (service.api.status)."""


class Paragraph(NamedTuple):
    """A valid row: its id (the input's, or `file:line`), text, line and the input's other fields. A named tuple,
    made once per row: it costs less to build than a frozen dataclass."""

    id: str | int
    text: str
    line: int
    extra: dict[str, object]


@dataclasses.dataclass(frozen=True)
class Rejected:
    """A row that is not tagged: where it is and why."""

    file: str
    line: int
    reason: str


def expand(patterns: Sequence[str]) -> list[str]:
    """The files `patterns` (paths or glob patterns) name, in order, each once; raises ArchiveError for a path
    that does not exist or a pattern that matches no file."""
    files: dict[str, None] = {}
    for pattern in patterns:
        found = sorted(glob.glob(pattern, recursive=True)) if glob.has_magic(pattern) else [pattern]
        found = [name for name in found if Path(name).is_file()]
        if not found:
            raise ArchiveError(f"{pattern}: no such input file")
        files.update(dict.fromkeys(found))
    return list(files)


def is_csv(path: str) -> bool:
    """CSV (columns `id`, `text`, ...) by the `.csv` suffix; every other file is read as JSONL."""
    return path.lower().endswith(".csv")


def records(file: BinaryIO, csv_format: bool, line: int = 1) -> Iterator[tuple[int, int, bytes | list[str] | str]]:
    """(first line, byte offset, record) of each non-blank record from the file's position, which is at `line`:
    JSONL records are raw lines, CSV records lists of fields; a record the csv module cannot parse is its error."""
    if not csv_format:
        offset = file.tell()
        for raw in file:
            if raw.strip():
                yield line, offset, raw
            line, offset = line + 1, offset + len(raw)
        return
    feed = _Feed(file)
    reader = csv.reader(feed)
    while True:
        offset, first = feed.offset, line + reader.line_num
        try:
            fields: list[str] = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield first, offset, f"CSV: {error}"
            continue
        if fields:
            yield first, offset, fields


def read_rows(
    path: str, *, offset: int, line: int, count: int, header: Sequence[str], limits: Limits
) -> Iterator[Paragraph | Rejected]:
    """The `count` records of `path` from byte `offset` (at `line`), each as a Paragraph or a Rejected row."""
    with open(path, "rb", buffering=READ_BUFFER) as file:
        file.seek(offset)
        for first, _, record in itertools.islice(records(file, bool(header), line), count):
            fields = _fields(record, header)
            yield Rejected(path, first, fields) if isinstance(fields, str) else _row(path, first, fields, limits)


def _fields(record: bytes | list[str] | str, header: Sequence[str]) -> dict[str, object] | str:
    """The record's fields, or why it has none."""
    if isinstance(record, str):
        return record
    if isinstance(record, list):
        return _csv_fields(record, header)
    return _json_fields(record)


def _json_fields(record: bytes) -> dict[str, object] | str:
    try:
        value = json.loads(record.decode("utf-8"))
    except UnicodeDecodeError:
        return "not valid UTF-8"
    except json.JSONDecodeError as error:
        return f"invalid JSON: {error}"
    if not isinstance(value, dict):
        return f"not a JSON object but {type(value).__name__}"
    # A \u escape can stand for a lone surrogate, which no UTF-8 output line can hold: looked for only then.
    if b"\\u" in record and _NOT_UTF8.search(json.dumps(value, ensure_ascii=False)):
        return "not valid Unicode: a \\u escape of a lone surrogate"
    return value


def _csv_fields(record: list[str], header: Sequence[str]) -> dict[str, object] | str:
    if len(record) != len(header):
        return f"CSV: the record has {len(record)} fields, the header {len(header)}"
    if any(_NOT_UTF8.search(value) for value in record):
        return "not valid UTF-8"
    return dict(zip(header, record, strict=True))


def _row(path: str, line: int, fields: dict[str, object], limits: Limits) -> Paragraph | Rejected:
    text, row_id = fields.pop("text", None), fields.pop("id", None)
    if not isinstance(text, str):
        return Rejected(path, line, "text: missing" if text is None else "text: must be a string")
    violations = check_text(text, "text", limits)
    if violations:
        return Rejected(path, line, f"text: {violations[0].description}")
    if row_id is None or row_id == "":
        row_id = f"{path}:{line}"
    elif not isinstance(row_id, str | int) or isinstance(row_id, bool):
        return Rejected(path, line, "id: must be a string or an integer")
    return Paragraph(row_id, text, line, fields)


class _Feed:
    """The file's lines decoded for the csv module, counting the bytes handed out (the next record's offset).
    Bytes that are not UTF-8 are kept as lone surrogates, so that the row, not the file, is rejected."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.offset = file.tell()

    def __iter__(self) -> Iterator[str]:
        for raw in self._file:
            self.offset += len(raw)
            yield raw.decode("utf-8", "surrogateescape")
