"""The job, run from the client: check the model card and the output folder, have every worker load and verify the
model, plan the partitions, tag those not already done (one task each; Dask reruns the tasks of a lost worker),
and finish the folder once every partition is there."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from distributed import Client, Future, as_completed

from service.archive.output import OutputFolder, Record
from service.archive.plan import Partition, number, scan
from service.archive.progress import Progress
from service.archive.source import ArchiveError, expand
from service.archive.worker import PLUGIN, ModelPlugin, tag_partition
from service.domain.limits import Limits
from service.domain.tags import Options
from service.domain.validation import check_options
from service.model.card import card_path, read_card, sha256_bytes

_LOGGER = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ArchiveJob:
    """One run: input paths or glob patterns, the output folder, the model and how to tag."""

    inputs: tuple[str, ...]
    out: Path
    model_path: Path
    model_key: str = ""
    options: Options = dataclasses.field(default_factory=Options)
    max_text_chars: int = 20_000
    partition_rows: int = 10_000
    overwrite: bool = False

    def __post_init__(self) -> None:
        """Raise ArchiveError for options the service would refuse, or limits below 1."""
        found = [f"{v.field.strip('.')}: {v.description}" for v in check_options(self.options, self.limits, "")]
        small = [name for name in ("max_text_chars", "partition_rows") if getattr(self, name) < 1]
        found += [f"{name} must be at least 1" for name in small]
        if self.options.top_k < 0:
            found.append(f"top_k must be 0 (no cap) or more, got {self.options.top_k}")
        if found:
            raise ArchiveError("; ".join(found))

    @property
    def limits(self) -> Limits:
        """What a row may hold."""
        return Limits(max_text_chars=self.max_text_chars)


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a run did: rows tagged and rejected in the whole output, partitions (skipped: done before, failed:
    not written), rows tagged by this run, its seconds and the labels assigned."""

    rows: int
    rejected: int
    partitions: int
    skipped: int
    failed: tuple[str, ...]
    tagged: int
    seconds: float
    labels: dict[str, int]

    @property
    def paragraphs_per_second(self) -> float:
        """Rows read (tagged or rejected) by this run per second."""
        return self.tagged / self.seconds if self.seconds > 0 else 0.0


def tag_archive(job: ArchiveJob, client: Client, stream: TextIO = sys.stderr) -> Summary:
    """Run `job` on the cluster of `client`. Raises ArchiveError or ModelError, before any row is written, when
    the input, the model or the output folder cannot be used; a partition whose task fails is
    named in the summary's `failed` (rerun to write it), and `_SUCCESS` is then not written."""
    started, clock = _now(), time.perf_counter()
    limits = job.limits
    card = read_card(job.model_path, job.model_key)
    files = expand(job.inputs)
    folder = OutputFolder(job.out)
    folder.refuse_other_models(card.version, job.overwrite)
    settings = {"threshold": job.options.threshold, "top_k": job.options.top_k, "max_text_chars": job.max_text_chars}
    digest = sha256_bytes(card_path(job.model_path).read_bytes())
    key: Record = {"model_version": card.version, "card_sha256": digest, "settings": settings}
    try:
        client.register_plugin(ModelPlugin(job.model_path, job.model_key, card.version), name=PLUGIN)
        folder.prepare(job.overwrite)
        partitions = number(client.gather(client.map(scan, files, rows=job.partition_rows, pure=False)))
        manifest: Record = {**key, "model_path": str(job.model_path), "started": started, "finished": None}
        manifest["inputs"] = [{"file": name, "bytes": os.path.getsize(name)} for name in files]
        manifest["partition_rows"] = job.partition_rows
        folder.write_manifest(manifest)
        records = {p.name: record for p in partitions if (record := folder.done(p, key)) is not None}
        todo = [p for p in partitions if p.name not in records]
        progress = Progress(sum(p.rows for p in todo), stream)
        futures = client.map(tag_partition, todo, out=job.out, job=key, options=job.options, limits=limits, pure=False)
        failed = _collect(dict(zip(futures, todo, strict=True)), records, progress)
        progress.close()
    finally:
        client.unregister_worker_plugin(PLUGIN)
    tagged = sum(p.rows for p in todo if p.name not in failed)
    summary = _summary(
        partitions, records, failed=failed, skipped=len(partitions) - len(todo), read=tagged, clock=clock
    )
    if not failed:
        done = [records[p.name] for p in partitions]
        manifest.update(finished=_now(), partitions=[_listed(r) for r in done], summary=dataclasses.asdict(summary))
        folder.finish(manifest, done)
    return summary


def _collect(
    futures: dict[Future[Record], Partition], records: dict[str, Record], progress: Progress
) -> tuple[str, ...]:
    """Wait for the partition tasks, keeping each record; returns the partitions whose task failed (logged)."""
    failed = []
    for future in as_completed(futures):
        partition = futures[future]
        if future.status == "error":
            _LOGGER.error("partition %s (%s) failed: %r", partition.name, partition.path, future.exception())
            failed.append(partition.name)
        else:
            records[partition.name] = future.result()
        progress.advance(partition.rows)
        future.release()
    return tuple(sorted(failed))


def _summary(
    partitions: list[Partition],
    records: dict[str, Record],
    *,
    failed: tuple[str, ...],
    skipped: int,
    read: int,
    clock: float,
) -> Summary:
    labels: Counter[str] = Counter()
    for record in records.values():
        labels.update(record["labels"])
    return Summary(
        rows=sum(r["rows"] for r in records.values()),
        rejected=sum(len(r["rejected"]) for r in records.values()),
        partitions=len(partitions),
        skipped=skipped,
        failed=failed,
        tagged=read,
        seconds=time.perf_counter() - clock,
        labels=dict(labels),
    )


def _listed(record: Record) -> dict[str, Any]:
    """A partition as the manifest lists it."""
    partition = record["partition"]
    return {
        "name": partition["name"],
        "file": partition["path"],
        "line": partition["line"],
        "rows": record["rows"],
        "rejected": len(record["rejected"]),
        "sha256": record["sha256"],
        "bytes": record["bytes"],
    }


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
