"""The model card and the artifact on disk: written joblib first, card last (the commit marker), atomically."""

from __future__ import annotations

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

from service.artifact import card_path, card_signature, sha256_bytes
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


def write_model(model_path: Path, bundle: dict[str, Any], card: dict[str, Any], key: str = "") -> dict[str, Any]:
    """Write the joblib file, then the card (signed when `key` is set), each to a temporary file renamed into
    place; the previous pair is kept as <name>.prev.joblib/.json. Returns the card as written."""
    model_path.parent.mkdir(parents=True, exist_ok=True)
    joblib_tmp, card_tmp = _temporary(model_path), _temporary(card_path(model_path))
    try:
        joblib.dump(bundle, joblib_tmp)
        card = {
            **card,
            "artifact": {"file": model_path.name, "sha256": sha256_bytes(joblib_tmp.read_bytes())},
        }
        if key:
            card["signature"] = card_signature(card, key)
        card_tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        keep_previous(model_path)
        os.replace(joblib_tmp, model_path)
        os.replace(card_tmp, card_path(model_path))
    finally:
        for leftover in (joblib_tmp, card_tmp):
            with suppress(FileNotFoundError):
                leftover.unlink()
    return card


def previous_path(model_path: Path) -> Path:
    """Where the previous model is kept: <name>.prev.joblib (its card: <name>.prev.json)."""
    return model_path.with_name(model_path.stem + ".prev" + model_path.suffix)


def keep_previous(model_path: Path) -> None:
    """Copy the current model and card, if both exist, to their .prev names (each atomically)."""
    if not (model_path.exists() and card_path(model_path).exists()):
        return
    previous = previous_path(model_path)
    copy_atomically(model_path, previous)
    copy_atomically(card_path(model_path), card_path(previous))


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
