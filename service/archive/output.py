"""The output folder: each partition written whole or not at all (a temporary name, fsync, rename) with a record in
`_partitions/` of what it holds; then `_rejected.jsonl` and `_manifest.json`, and `_SUCCESS` last. The folder
belongs to one model version: another model's output is only replaced when asked to."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from service.archive.plan import Partition
from service.archive.source import ArchiveError

MANIFEST = "_manifest.json"
REJECTED = "_rejected.jsonl"
SUCCESS = "_SUCCESS"
RECORDS = "_partitions"
Record = dict[str, Any]


def write_whole(path: Path, chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write `chunks` to a temporary name beside `path`, fsync it and rename it into place, so that `path` is
    either absent or whole; returns the bytes' sha256 and count."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    digest, size = hashlib.sha256(), 0
    try:
        with open(temporary, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return digest.hexdigest(), size


def json_bytes(value: object) -> bytes:
    """`value` as one line of UTF-8 JSON."""
    return (json.dumps(value, ensure_ascii=False) + "\n").encode("utf-8")


class OutputFolder:
    """The job's output folder, which the client and every worker see at the same path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def part(self, name: str) -> Path:
        """Where the partition `name` is written."""
        return self.path / name

    def record(self, name: str) -> Path:
        """Where the record of partition `name` is written (after the partition itself)."""
        return self.path / RECORDS / name.replace(".jsonl", ".json")

    def write_record(self, record: Record) -> None:
        """Write a finished partition's record, which marks it done."""
        write_whole(self.record(record["partition"]["name"]), [json_bytes(record)])

    def done(self, partition: Partition, job: Record) -> Record | None:
        """The record of `partition` if it was written by a job with the same settings and model (`job`) from the
        same input, and the partition file is there with its size; else None (it is to be written)."""
        try:
            record: Record = json.loads(self.record(partition.name).read_text(encoding="utf-8"))
            size = self.part(partition.name).stat().st_size
        except (OSError, ValueError):
            return None
        same = record.get("partition") == partition.to_json() and record.get("job") == job
        return record if same and record.get("bytes") == size else None

    def refuse_other_models(self, version: str, overwrite: bool) -> None:
        """Raise ArchiveError if the folder holds another model's output and `overwrite` is not given."""
        found = self._versions() - {version}
        if found and not overwrite:
            raise ArchiveError(
                f"{self.path} holds output of model {', '.join(sorted(found))}; tagging it with model {version} "
                "would mix the two: pass --overwrite to replace it, or choose another folder"
            )

    def prepare(self, overwrite: bool) -> None:
        """Create the folder; with `overwrite`, remove the job's earlier output (nothing else). `_SUCCESS` goes
        until this job is done."""
        if overwrite:
            for path in [*self.path.glob("part-*.jsonl"), *(self.path / n for n in (MANIFEST, REJECTED, SUCCESS))]:
                path.unlink(missing_ok=True)
            shutil.rmtree(self.path / RECORDS, ignore_errors=True)
        (self.path / RECORDS).mkdir(parents=True, exist_ok=True)
        (self.path / SUCCESS).unlink(missing_ok=True)

    def write_manifest(self, manifest: Record) -> None:
        """Write `_manifest.json` (at the start, claiming the folder, and complete at the end)."""
        write_whole(self.path / MANIFEST, [json.dumps(manifest, indent=2, ensure_ascii=False).encode("utf-8")])

    def finish(self, manifest: Record, records: Sequence[Record]) -> None:
        """With every partition written: `_rejected.jsonl` (in partition order), the manifest, then `_SUCCESS`."""
        missing = [r["partition"]["name"] for r in records if not self.part(r["partition"]["name"]).is_file()]
        if missing:
            raise ArchiveError(f"{self.path}: partitions {missing} are missing; rerun the job to write them")
        write_whole(self.path / REJECTED, (json_bytes(row) for record in records for row in record["rejected"]))
        self.write_manifest(manifest)
        for stale in self.path.glob(".part-*.tmp"):  # left by a worker killed while writing
            stale.unlink(missing_ok=True)
        write_whole(self.path / SUCCESS, [])

    def _versions(self) -> set[str]:
        """The model versions the folder's manifest and partition records name."""
        versions: set[str] = set()
        for path in [self.path / MANIFEST, *(self.path / RECORDS).glob("*.json")]:
            try:
                versions.add(str(json.loads(path.read_text(encoding="utf-8"))["job"]["model_version"]))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return versions
