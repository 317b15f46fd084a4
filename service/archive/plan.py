"""The job's plan: each input file cut into partitions of so many records, found by one sequential scan of the file
(a Dask task per file, run where the data is, files in parallel). The same input gives the same partitions, which
is what lets a rerun skip the ones already written."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

from service.archive.source import READ_BUFFER, ArchiveError, is_csv, records


@dataclasses.dataclass(frozen=True)
class Partition:
    """`rows` records of `path` (of `size` bytes) from byte `offset`, the first at `line`; `header` holds a CSV
    file's columns (empty for JSONL). `name` is its output file."""

    name: str
    path: str
    size: int
    offset: int
    line: int
    rows: int
    header: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The partition as its record and the manifest hold it."""
        return {**dataclasses.asdict(self), "header": list(self.header)}


def scan(path: str, rows: int) -> list[Partition]:
    """The partitions of `path`, `rows` records each (the last may hold fewer), named later by number()."""
    starts: list[tuple[int, int]] = []
    count = 0
    header: tuple[str, ...] = ()
    with open(path, "rb", buffering=READ_BUFFER) as file:
        size = os.fstat(file.fileno()).st_size
        found = records(file, is_csv(path))
        if is_csv(path):
            header = _header(path, next(found, None))
        for line, offset, _ in found:
            if count % rows == 0:
                starts.append((offset, line))
            count += 1
    sizes = [rows] * len(starts)
    if starts:
        sizes[-1] = count - rows * (len(starts) - 1)
    return [Partition("", path, size, o, n, k, header) for (o, n), k in zip(starts, sizes, strict=True)]


def number(scanned: Sequence[Sequence[Partition]]) -> list[Partition]:
    """The files' partitions in input order, named part-00000.jsonl, part-00001.jsonl, ..."""
    flat = [partition for partitions in scanned for partition in partitions]
    return [dataclasses.replace(p, name=f"part-{i:05d}.jsonl") for i, p in enumerate(flat)]


def _header(path: str, first: tuple[int, int, bytes | list[str] | str] | None) -> tuple[str, ...]:
    """The CSV file's columns; raises ArchiveError unless they include `text`."""
    columns = first[2] if first is not None else []
    if not isinstance(columns, list) or "text" not in columns:
        raise ArchiveError(f"{path}: a CSV input needs a header row with a `text` column (and `id`)")
    return tuple(columns)
