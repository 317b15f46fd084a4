"""The archive job on a real LocalCluster of two worker processes on loopback: output equal to TagParagraphs over a
real channel, resumed runs, a worker killed mid-job, a tampered model, bad rows, another model's output, and
`_SUCCESS` only when every partition is there."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from distributed import Client, LocalCluster

from service.archive.job import ArchiveJob, Summary, tag_archive
from service.archive.source import ArchiveError
from service.domain.errors import ModelError
from service.domain.tags import Options
from service.gen import tagger_service_pb2 as pb
from service.gen import tagger_service_pb2_grpc as pb_grpc
from tests.corpus import rows
from tests.harness import copy_model, wait_for

TEXTS = [text for text, _ in rows()]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """A client of two worker processes with one thread each, on loopback, without a dashboard."""
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            timeout=60,
        ) as cluster,
        Client(cluster, timeout=60) as dask_client,
    ):
        yield dask_client


def write_jsonl(path: Path, count: int, join: int = 1) -> Path:
    """`count` rows with ids and a `source` field; each text joins `join` corpus paragraphs."""
    lines = []
    for i in range(count):
        text = " ".join(TEXTS[(i * 7 + j * 13) % len(TEXTS)] for j in range(join))
        lines.append(json.dumps({"id": f"r{i}", "text": text, "source": f"s{i % 3}"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(client: Client, inputs: list[Path], out: Path, model: Path, **fields: Any) -> Summary:
    job = ArchiveJob(tuple(map(str, inputs)), out, model, partition_rows=64)
    return tag_archive(dataclasses.replace(job, **fields), client)


def output(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for part in sorted(out.glob("part-*.jsonl")) for line in part.read_text().splitlines()]


def mtimes(out: Path) -> dict[str, int]:
    return {str(p.relative_to(out)): p.stat().st_mtime_ns for p in [*out.glob("part-*"), *out.glob("_partitions/*")]}


@pytest.mark.parametrize("options", [Options(), Options(threshold=0.3, top_k=1)])
def test_archive_rows_equal_the_services_tag_paragraphs(client, bundle_path, grpc_server, tmp_path, options):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 300)
    csv_rows = [f'c{i},"{TEXTS[i].replace(chr(34), chr(34) * 2)}",wire' for i in range(20)]
    (tmp_path / "b.csv").write_text("id,text,source\n" + "\n".join(csv_rows) + "\n", encoding="utf-8")
    summary = run(client, [jsonl, tmp_path / "*.csv"], tmp_path / "out", bundle_path, options=options)
    got = {row["id"]: row for row in output(tmp_path / "out")}
    inputs = [json.loads(line) for line in jsonl.read_text().splitlines()]
    inputs += [{"id": f"c{i}", "text": TEXTS[i], "source": "wire"} for i in range(20)]
    assert summary.rows == len(got) == len(inputs) == 320 and summary.rejected == 0
    request_options = pb.TagOptions(top_k=options.top_k)
    if options.threshold is not None:
        request_options.threshold = options.threshold
    with grpc.insecure_channel(grpc_server.address) as channel:
        stub = pb_grpc.TaggerServiceStub(channel)
        for start in range(0, len(inputs), 100):
            batch = inputs[start : start + 100]
            paragraphs = [pb.Paragraph(id=row["id"], text=row["text"]) for row in batch]
            response = stub.TagParagraphs(pb.TagParagraphsRequest(paragraphs=paragraphs, options=request_options))
            for row, result in zip(batch, response.results, strict=True):
                mine = got[row["id"]]
                assert mine["labels"] == list(result.labels)
                # the API carries scores as 32-bit floats; the archive keeps the scorer's doubles
                served = {x.label: x.score for x in result.scores}
                assert {label: np.float32(score) for label, score in mine["scores"].items()} == served
                assert mine["model_version"] == response.model_version
                assert mine["source"] == row["source"]


def test_archive_rerun_skips_finished_partitions(client, bundle_path, tmp_path):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 400)
    first = run(client, [jsonl], tmp_path / "out", bundle_path)
    before, content = mtimes(tmp_path / "out"), output(tmp_path / "out")
    second = run(client, [jsonl], tmp_path / "out", bundle_path)
    assert first.partitions == second.partitions == second.skipped == 7 and second.tagged == 0
    assert mtimes(tmp_path / "out") == before and (tmp_path / "out" / "_SUCCESS").exists()
    (tmp_path / "out" / "part-00003.jsonl").unlink()
    third = run(client, [jsonl], tmp_path / "out", bundle_path)
    after = mtimes(tmp_path / "out")
    assert third.skipped == 6 and third.tagged == 64 and output(tmp_path / "out") == content
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {"part-00003.jsonl", "_partitions/part-00003.json"}


def test_archive_worker_killed_mid_job_gives_exact_output(client, bundle_path, tmp_path):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 40_000, join=4)
    run(client, [jsonl], tmp_path / "reference", bundle_path, partition_rows=500)
    out = tmp_path / "out"
    job = threading.Thread(target=lambda: run(client, [jsonl], out, bundle_path, partition_rows=500))
    job.start()
    assert wait_for(lambda: len(list(out.glob("part-*.jsonl"))) >= 2, 60)
    assert wait_for(lambda: any(client.processing().values()), 30)
    busy = next(address for address, keys in client.processing().items() if keys)
    os.kill(client.run(os.getpid)[busy], signal.SIGKILL)
    assert not (out / "_SUCCESS").exists() and len(list(out.glob("part-*.jsonl"))) < 80, "the job ended too soon"
    job.join(120)
    assert not job.is_alive() and (out / "_SUCCESS").exists()
    reference = sorted(p.name for p in (tmp_path / "reference").glob("part-*.jsonl"))
    assert sorted(p.name for p in out.glob("part-*.jsonl")) == reference and len(reference) == 80
    for name in reference:
        assert (out / name).read_bytes() == (tmp_path / "reference" / name).read_bytes()
    ids = [row["id"] for row in output(out)]
    assert len(ids) == len(set(ids)) == 40_000
    client.wait_for_workers(2, timeout=60)


@pytest.mark.parametrize("suffix", [".tables.npz", ".joblib"])
def test_archive_refuses_a_tampered_model_on_the_workers(client, bundle_path, tmp_path, suffix):
    model = copy_model(bundle_path, tmp_path)
    tampered = model.with_name(model.stem + suffix)
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 does not match the model card"):
        run(client, [write_jsonl(tmp_path / "a.jsonl", 50)], tmp_path / "out", model)
    assert not list(tmp_path.glob("out/part-*")) and not (tmp_path / "out" / "_manifest.json").exists()


def test_archive_bad_rows_land_in_rejected_with_file_and_line(client, bundle_path, tmp_path):
    good = json.dumps({"id": "g1", "text": TEXTS[0]})
    lines = [good.encode(), b"{not json", b"", json.dumps({"id": "x"}).encode(), json.dumps({"text": " "}).encode()]
    lines += [json.dumps({"text": "war " * 40}).encode(), b"[1, 2]", b'{"text": "caf\xe9"}']
    lines += [b'{"id": true, "text": "a"}', b'{"text": "war \\ud800 in the east"}']
    lines.append(json.dumps({"text": TEXTS[1]}).encode())
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(b"\n".join(lines) + b"\n")
    (tmp_path / "b.csv").write_text(f'id,text\nc1,"{TEXTS[2]}"\nc2,too,many\nc3,\n', encoding="utf-8")
    summary = run(client, [jsonl, tmp_path / "b.csv"], tmp_path / "out", bundle_path, max_text_chars=120)
    rejected = [json.loads(line) for line in (tmp_path / "out" / "_rejected.jsonl").read_text().splitlines()]
    where = [(Path(r["file"]).name, r["line"]) for r in rejected]
    assert where == [("a.jsonl", n) for n in (2, 4, 5, 6, 7, 8, 9, 10)] + [("b.csv", 3), ("b.csv", 4)]
    reasons = [r["reason"] for r in rejected]
    expected = ["invalid JSON", "text: missing", "must not be empty", "max_text_chars", "not a JSON object"]
    expected += ["not valid UTF-8", "id: must be a string", "lone surrogate", "CSV: the record has 3 fields", "empty"]
    assert all(part in reason for part, reason in zip(expected, reasons, strict=True)), reasons
    ids = sorted(str(row["id"]) for row in output(tmp_path / "out"))
    assert ids == sorted(["g1", f"{jsonl}:11", "c1"]) and summary.rejected == 10 and summary.rows == 3


def test_archive_refuses_another_models_output_without_overwrite(client, bundle_path, tmp_path):
    other = copy_model(bundle_path, tmp_path)
    card = json.loads(other.with_suffix(".json").read_text())
    other.with_suffix(".json").write_text(json.dumps({**card, "version": "another-version"}))
    jsonl = write_jsonl(tmp_path / "a.jsonl", 100)
    run(client, [jsonl], tmp_path / "out", bundle_path)
    before = mtimes(tmp_path / "out")
    with pytest.raises(ArchiveError, match="--overwrite"):
        run(client, [jsonl], tmp_path / "out", other)
    assert mtimes(tmp_path / "out") == before
    run(client, [jsonl], tmp_path / "out", other, overwrite=True)
    assert {row["model_version"] for row in output(tmp_path / "out")} == {"another-version"}
    assert (tmp_path / "out" / "_SUCCESS").exists()


def test_archive_writes_success_only_when_every_partition_is_there(client, bundle_path, tmp_path):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 300)
    (tmp_path / "out" / "part-00002.jsonl").mkdir(parents=True)  # the partition cannot be renamed into place
    first = run(client, [jsonl], tmp_path / "out", bundle_path)
    assert first.failed == ("part-00002.jsonl",) and not (tmp_path / "out" / "_SUCCESS").exists()
    assert len(list((tmp_path / "out").glob("part-*.jsonl"))) == 5  # four partitions and the folder in the way
    (tmp_path / "out" / "part-00002.jsonl").rmdir()
    second = run(client, [jsonl], tmp_path / "out", bundle_path)
    assert second.failed == () and second.skipped == 4 and (tmp_path / "out" / "_SUCCESS").exists()
    manifest = json.loads((tmp_path / "out" / "_manifest.json").read_text())
    assert [p["name"] for p in manifest["partitions"]] == [f"part-{i:05d}.jsonl" for i in range(5)]
    for listed in manifest["partitions"]:
        assert hashlib.sha256((tmp_path / "out" / listed["name"]).read_bytes()).hexdigest() == listed["sha256"]


def test_archive_command_runs_an_embedded_cluster(bundle_path, tmp_path):
    jsonl = write_jsonl(tmp_path / "a.jsonl", 200)
    command = [sys.executable, "-m", "service.archive", "tag-archive", "--in", str(jsonl), "--out", str(tmp_path / "o")]
    command += ["--model", str(bundle_path), "--workers", "2", "--partition-rows", "50", "--top-k", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "rows tagged: 200, rejected: 0" in done.stdout and "partitions: 4 (0 already done, 0 failed)" in done.stdout
    assert (tmp_path / "o" / "_SUCCESS").exists() and all(len(row["labels"]) <= 1 for row in output(tmp_path / "o"))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"options": Options(threshold=1.5)}, "threshold: must be a number in [0, 1], got 1.5"),
        ({"options": Options(top_k=-1)}, "top_k must be 0 (no cap) or more"),
        ({"partition_rows": 0}, "partition_rows must be at least 1"),
    ],
)
def test_archive_job_refuses_bad_options_before_it_starts(tmp_path, fields, message):
    with pytest.raises(ArchiveError) as excinfo:
        ArchiveJob(("a.jsonl",), tmp_path / "out", tmp_path / "m.joblib", **fields)
    assert message in str(excinfo.value)
    command = [sys.executable, "-m", "service.archive", "tag-archive", "--in", "a.jsonl", "--out", str(tmp_path)]
    done = subprocess.run([*command, "--threshold", "1.5"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "threshold: must be a number in [0, 1]" in done.stderr
