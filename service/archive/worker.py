"""What runs on the Dask workers: the model plugin, which loads and verifies the model once per worker process with
the model layer's own loader (digests, HMAC signature, check scores; the scorer it builds is the service's), and
the partition task, which tags one partition and writes it whole."""

from __future__ import annotations

import gc
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from distributed import Worker, WorkerPlugin, get_worker
from distributed.gc import disable_gc_diagnosis

from service.archive.output import OutputFolder, Record, json_bytes, write_whole
from service.archive.plan import Partition
from service.archive.source import Paragraph, Rejected, read_rows
from service.domain.errors import ModelError
from service.domain.limits import Limits
from service.domain.tags import Options, Tags
from service.model.loader import Model, load_model

PLUGIN = "tagger-archive-model"
# Paragraphs scored and written at a time: a partition is streamed, never held whole.
_BATCH = 512
# Output fields; an input field of the same name is carried as input_<name>.
_OWN = ("id", "labels", "scores", "model_version")


class ModelPlugin(WorkerPlugin):
    """Loads the model on each worker as it joins (a worker restarted after a crash too); setup raises ModelError,
    and the job stops before any row is written, when the model fails verification or is not `version`."""

    def __init__(self, model_path: Path, key: str, version: str) -> None:
        self.model_path, self.key, self.version = model_path, key, version
        self.model: Model | None = None

    def setup(self, worker: Worker) -> None:
        self.model = None
        model = load_model(self.model_path, self.key)
        if model.version != self.version:
            raise ModelError(f"{self.model_path}: the worker found model {model.version}, the job tags {self.version}")
        self.model = model
        # As the server does: long-lived objects (the model, distributed's own) leave the collector's view, so that
        # full collections do not walk every vocabulary string while partitions are scored; and distributed's GC
        # diagnosis, a Python callback on every collection, is turned off in this process.
        gc.collect()
        gc.freeze()
        disable_gc_diagnosis(force=True)


def tag_partition(partition: Partition, out: Path, job: Record, options: Options, limits: Limits) -> Record:
    """Tag `partition` with the worker's model, write it whole, then its record, and return the record."""
    plugin = get_worker().plugins.get(PLUGIN)
    model = plugin.model if isinstance(plugin, ModelPlugin) else None
    if model is None or model.version != job["model_version"]:
        raise ModelError(f"this worker holds no verified model {job['model_version']}")
    folder = OutputFolder(out)
    rejected: list[Rejected] = []
    labels: Counter[str] = Counter()
    rows = read_rows(
        partition.path,
        offset=partition.offset,
        line=partition.line,
        count=partition.rows,
        header=partition.header,
        limits=limits,
    )
    lines = _tagged(model, rows, options, rejected, labels)
    sha256, size = write_whole(folder.part(partition.name), lines)
    record = {
        "partition": partition.to_json(),
        "job": job,
        "rows": partition.rows - len(rejected),
        "rejected": [{"file": r.file, "line": r.line, "reason": r.reason} for r in rejected],
        "labels": {label: labels[label] for label in model.labels},
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
    labels: Counter[str],
) -> Iterator[bytes]:
    """The output lines of `rows`, a batch at a time; rejected rows are appended to `rejected`, assigned labels
    counted in `labels`."""
    while batch := list(itertools.islice(rows, _BATCH)):
        paragraphs = [row for row in batch if isinstance(row, Paragraph)]
        rejected.extend(row for row in batch if isinstance(row, Rejected))
        for paragraph, tags in zip(paragraphs, model.tag([p.text for p in paragraphs], options), strict=True):
            labels.update(tags.labels)
            yield json_bytes(_output_row(paragraph, tags, model.version))


def _output_row(paragraph: Paragraph, tags: Tags, version: str) -> dict[str, object]:
    row: dict[str, object] = {
        "id": paragraph.id,
        "labels": list(tags.labels),
        "scores": {s.label: s.score for s in tags.scores},
        "model_version": version,
    }
    for name, value in paragraph.extra.items():
        row[f"input_{name}" if name in _OWN else name] = value
    return row
