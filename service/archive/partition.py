"""One partition tagged: its rows read, scored in batches, written whole as JSON lines, then its record. Plain Python
over the model layer, with no Dask: the worker task calls it with the model its plugin loaded."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from service.archive.line import LineFormat
from service.archive.output import OutputFolder, Record, write_whole
from service.archive.plan import Partition
from service.archive.source import Paragraph, Rejected, read_rows
from service.domain.limits import Limits
from service.domain.tagging import applied_thresholds, assigned
from service.domain.tags import Options
from service.model.loader import Model

# Paragraphs scored and written at a time: a partition is streamed, never held whole.
_BATCH = 512


def write_partition(
    model: Model, partition: Partition, folder: OutputFolder, job: Record, *, options: Options, limits: Limits
) -> Record:
    """Tag `partition` with `model`, write it whole, then its record, and return the record."""
    rejected: list[Rejected] = []
    counts = [0] * len(model.labels)
    rows = read_rows(
        partition.path,
        offset=partition.offset,
        line=partition.line,
        count=partition.rows,
        header=partition.header,
        limits=limits,
    )
    lines = _tagged(model, rows, options, rejected, counts)
    sha256, size = write_whole(folder.part(partition.name), lines)
    record = {
        "partition": partition.to_json(),
        "job": job,
        "rows": partition.rows - len(rejected),
        "rejected": [{"file": r.file, "line": r.line, "reason": r.reason} for r in rejected],
        "labels": dict(zip(model.labels, counts, strict=True)),
        "sha256": sha256,
        "bytes": size,
    }
    folder.write_record(record)
    return record


def _tagged(
    model: Model,
    rows: Iterator[Paragraph | Rejected],
    options: Options,
    rejected: list[Rejected],
    counts: list[int],
) -> Iterator[bytes]:
    """The output lines of `rows`, a batch at a time as one chunk of UTF-8; rejected rows are appended to
    `rejected`, and `counts` counts each label's assignments (model order)."""
    form = LineFormat(model.labels, model.version)
    thresholds, top_k = applied_thresholds(model.thresholds, options), options.top_k
    while batch := list(itertools.islice(rows, _BATCH)):
        paragraphs = [row for row in batch if isinstance(row, Paragraph)]
        if len(paragraphs) < len(batch):
            rejected.extend(row for row in batch if isinstance(row, Rejected))
        lines = []
        for paragraph, scores in zip(paragraphs, model.scores([p.text for p in paragraphs]), strict=True):
            chosen = assigned(scores, thresholds, top_k)
            for i in chosen:
                counts[i] += 1
            lines.append(form.line(paragraph.id, chosen, scores, paragraph.extra))
        yield "".join(lines).encode("utf-8")
