"""`python -m service.archive tag-archive --in FILE... --out FOLDER`: tag a whole archive and print a summary."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from service.archive.cluster import dask_client
from service.archive.job import ArchiveJob, Summary, tag_archive
from service.archive.source import ArchiveError
from service.config import ArchiveSettings, SettingsError, read
from service.domain.errors import TaggerError
from service.domain.tags import Options


def main(argv: list[str] | None = None) -> int:
    """Run the job: exit 0 when the output is complete, 1 when partitions failed or the job was refused, 2 on
    bad settings."""
    try:
        settings = read(ArchiveSettings, None, None, prog="python -m service.archive")
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    args = _parser(settings).parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.workers < 1:
            raise ArchiveError(f"--workers must be at least 1, got {args.workers}")
        job = ArchiveJob(
            inputs=tuple(args.inputs),
            out=args.out,
            model_path=args.model,
            model_key=settings.model_key,
            options=Options(threshold=args.threshold, top_k=args.top_k),
            max_text_chars=args.max_text_chars,
            partition_rows=args.partition_rows,
            overwrite=args.overwrite,
        )
    except ArchiveError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        with dask_client(args.scheduler, args.workers) as client:
            summary = tag_archive(job, client)
    except (TaggerError, ArchiveError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(describe(summary))
    if summary.failed:
        print(f"error: partitions {', '.join(summary.failed)} failed; rerun the same command", file=sys.stderr)
        return 1
    return 0


def describe(summary: Summary) -> str:
    """The final summary, a few lines for people."""
    labels = ", ".join(f"{label} {count}" for label, count in summary.labels.items()) or "none"
    return (
        f"rows tagged: {summary.rows}, rejected: {summary.rejected} (see _rejected.jsonl)\n"
        f"partitions: {summary.partitions} ({summary.skipped} already done, {len(summary.failed)} failed)\n"
        f"this run: {summary.tagged} rows in {summary.seconds:.1f} s, "
        f"{summary.paragraphs_per_second:.0f} paragraphs/s\n"
        f"labels assigned: {labels}"
    )


def _parser(settings: ArchiveSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m service.archive", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    tag = commands.add_parser("tag-archive", help="tag JSONL/CSV files into a folder of JSONL partitions")
    tag.add_argument("--in", dest="inputs", nargs="+", required=True, help="JSONL or CSV files or glob patterns")
    tag.add_argument("--out", type=Path, required=True, help="output folder (partitions, manifest, _SUCCESS)")
    tag.add_argument("--model", type=Path, default=settings.model_path, help=f"model ({settings.model_path})")
    tag.add_argument("--scheduler", default=settings.scheduler, help="Dask scheduler address (default: embedded)")
    tag.add_argument("--workers", type=int, default=settings.archive_workers, help="embedded worker processes")
    tag.add_argument("--threshold", type=float, help="one threshold for every label instead of the tuned ones")
    tag.add_argument("--top-k", type=int, default=0, help="at most K labels per paragraph (0: no cap)")
    tag.add_argument("--max-text-chars", type=int, default=settings.max_text_chars, help="longest paragraph")
    tag.add_argument("--partition-rows", type=int, default=settings.partition_rows, help="rows per partition")
    tag.add_argument("--overwrite", action="store_true", help="replace output of another model in --out")
    return parser


if __name__ == "__main__":
    sys.exit(main())
