"""The model on disk: the joblib file, its linear tables and the card, written in that order (the card last: it is
the commit marker), each atomically."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy
import sklearn

from service.model.card import FileEntry, ModelCard, card_path, sha256_bytes, tables_path
from service.model.tables import LinearTables
from training.data import Example


def data_summary(paths: Sequence[Path], examples: Sequence[Example], labels: Sequence[str]) -> dict[str, Any]:
    """The training files with their sha256 and rows, a digest of them all in order, and positives per label."""
    files: list[dict[str, Any]] = [
        {
            "path": str(path),
            "sha256": sha256_bytes(path.read_bytes()),
            "rows": sum(e.source.rsplit(":", 1)[0] == str(path) for e in examples),
        }
        for path in paths
    ]
    combined = hashlib.sha256("".join(f["sha256"] for f in files).encode()).hexdigest()
    positives = {label: sum(label in e.labels for e in examples) for label in labels}
    return {"files": files, "sha256": combined, "rows": len(examples), "positives": positives}


def libraries() -> dict[str, str]:
    """The versions that decide what a pickle means and how it scores."""
    return {"sklearn": sklearn.__version__, "numpy": np.__version__, "scipy": scipy.__version__}


def model_version(data: dict[str, Any], settings: dict[str, Any], labels: Sequence[str]) -> str:
    """A digest of the data's content in order, the chosen settings and the libraries: same inputs, same version."""
    identity = {
        "data": data["sha256"],
        "settings": settings,
        "labels": list(labels),
        "libraries": libraries(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def write_model(
    model_path: Path, bundle: dict[str, Any], card: ModelCard, key: str = "", tables: LinearTables | None = None
) -> ModelCard:
    """Write the joblib file, the tables (when given) and then `card` with their names and digests (signed when
    `key` is set), each to a temporary file renamed into place; the previous model is kept under .prev names.
    Returns the card as written."""
    model_path.parent.mkdir(parents=True, exist_ok=True)
    targets = [model_path, *([tables_path(model_path)] if tables is not None else []), card_path(model_path)]
    temporary = [_temporary(target) for target in targets]
    try:
        joblib.dump(bundle, temporary[0])
        artifact = FileEntry(model_path.name, sha256_bytes(temporary[0].read_bytes()))
        entry = None
        if tables is not None:
            data = tables.to_bytes()
            temporary[1].write_bytes(data)
            entry = FileEntry(targets[1].name, sha256_bytes(data))
        card = dataclasses.replace(card, artifact=artifact, tables=entry).signed(key)
        temporary[-1].write_text(card.dumps(), encoding="utf-8")
        keep_previous(model_path)
        for written, target in zip(temporary, targets, strict=True):
            os.replace(written, target)
    finally:
        for leftover in temporary:
            with suppress(FileNotFoundError):
                leftover.unlink()
    return card


def previous_path(model_path: Path) -> Path:
    """Where the previous model is kept: <name>.prev.joblib (its card <name>.prev.json, its tables
    <name>.prev.tables.npz)."""
    return model_path.with_name(model_path.stem + ".prev" + model_path.suffix)


def model_files(model_path: Path) -> list[Path]:
    """The files of a model in the order they are written: joblib, tables, card (the card last)."""
    return [model_path, tables_path(model_path), card_path(model_path)]


def keep_previous(model_path: Path) -> None:
    """Copy the current model's files, if its joblib and card exist, to their .prev names."""
    if model_path.exists() and card_path(model_path).exists():
        copy_model(model_path, previous_path(model_path))


def copy_model(source: Path, target: Path) -> None:
    """Copy the files of the model at `source` to those of `target`, each atomically, the card last. A file the
    source lacks is left alone at the target: the card names the files that belong to it."""
    for original, copy in zip(model_files(source), model_files(target), strict=True):
        if original.exists():
            copy_atomically(original, copy)


def copy_atomically(source: Path, target: Path) -> None:
    """Copy `source` to a temporary file beside `target`, then rename it into place."""
    tmp = _temporary(target)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        with suppress(FileNotFoundError):
            tmp.unlink()


def now_rfc3339() -> str:
    """The current time in RFC 3339, UTC, to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _temporary(target: Path) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    os.chmod(name, 0o644)  # mkstemp makes 0600; a model is read by the server's user, often not the trainer's
    return Path(name)
