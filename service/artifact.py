"""Model artifacts: the card beside each model, its signature, and the digests of the files it names, verified
before anything is parsed or unpickled. Standard library only."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any


class ArtifactError(Exception):
    """A model artifact is missing, altered, unsigned or incompatible; the message says which and why."""


def card_path(model_path: Path) -> Path:
    """The model card of a joblib file: the same name with a `.json` suffix."""
    return model_path.with_suffix(".json")


def tables_path(model_path: Path) -> Path:
    """The linear tables of a joblib file: <name>.tables.npz."""
    return model_path.with_name(model_path.stem + ".tables.npz")


def sha256_bytes(data: bytes) -> str:
    """Lowercase hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def card_signature(card: dict[str, Any], key: str) -> str:
    """HMAC-SHA256 (hex) of the card without its `signature`, as canonical UTF-8 JSON, keyed with `key`."""
    unsigned = {name: value for name, value in card.items() if name != "signature"}
    payload = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()


def read_card(model_path: Path, key: str = "") -> dict[str, Any]:
    """Read and parse the model card of `model_path`, checking its signature when `key` is set; raises
    ArtifactError if it is missing, not JSON, unsigned or signed with another key."""
    path = card_path(model_path)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: model card not found (train a model with `make train`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path}: unreadable model card: {error}") from None
    if not isinstance(card, dict) or not isinstance(card.get("artifact"), dict):
        raise ArtifactError(f"{path}: not a model card (no `artifact` entry)")
    if key:
        signature = card.get("signature")
        if not isinstance(signature, str):
            raise ArtifactError(f"{path}: the card is not signed and TAGGER_MODEL_KEY is set")
        if not hmac.compare_digest(signature, card_signature(card, key)):
            raise ArtifactError(f"{path}: the card's signature does not match TAGGER_MODEL_KEY")
    return card


def read_verified(model_path: Path, card: dict[str, Any], entry: str) -> bytes:
    """The bytes of the file the card's `entry` ("artifact" for the joblib, "tables") names, after checking
    them against the card's sha256. Nothing is unpickled or parsed here."""
    where = card_path(model_path)
    described = card.get(entry)
    if not isinstance(described, dict):
        raise ArtifactError(f"{where}: the card has no `{entry}` entry")
    name = str(described.get("file", ""))
    if not name or Path(name).name != name:
        raise ArtifactError(f"{where}: {entry}.file must be a bare file name, got {name!r}")
    try:
        data = (where.parent / name).read_bytes()
    except OSError as error:
        raise ArtifactError(f"{where.parent / name}: cannot read the model file: {error}") from None
    if sha256_bytes(data) != described.get("sha256"):
        raise ArtifactError(f"{where.parent / name}: sha256 does not match the model card; refusing to load it")
    return data
