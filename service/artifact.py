"""Model artifacts: the card beside each joblib file, its digest and signature, verified before unpickling."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from pathlib import Path
from typing import Any

import joblib
import sklearn


class ArtifactError(Exception):
    """A model artifact is missing, altered, unsigned or incompatible; the message says which and why."""


def card_path(model_path: Path) -> Path:
    """The model card of a joblib file: the same name with a `.json` suffix."""
    return model_path.with_suffix(".json")


def sha256_bytes(data: bytes) -> str:
    """Lowercase hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def card_signature(card: dict[str, Any], key: str) -> str:
    """HMAC-SHA256 (hex) of the card without its `signature`, as canonical UTF-8 JSON, keyed with `key`."""
    unsigned = {name: value for name, value in card.items() if name != "signature"}
    payload = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()


def read_card(model_path: Path) -> dict[str, Any]:
    """Read and parse the model card of `model_path`; raises ArtifactError if it is missing or not JSON."""
    path = card_path(model_path)
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{path}: model card not found (train a model with `make train`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ArtifactError(f"{path}: unreadable model card: {error}") from None
    if not isinstance(card, dict) or not isinstance(card.get("artifact"), dict):
        raise ArtifactError(f"{path}: not a model card (no `artifact` entry)")
    return card


def verify(model_path: Path, card: dict[str, Any], key: str) -> bytes:
    """Check the card's signature (when `key` is set) and scikit-learn version, then return the joblib's bytes
    after checking them against the card's digest. Nothing is unpickled here."""
    where = card_path(model_path)
    if key:
        signature = card.get("signature")
        if not isinstance(signature, str):
            raise ArtifactError(f"{where}: the card is not signed and TAGGER_MODEL_KEY is set")
        if not hmac.compare_digest(signature, card_signature(card, key)):
            raise ArtifactError(f"{where}: the card's signature does not match TAGGER_MODEL_KEY")
    if card.get("sklearn_version") != sklearn.__version__:
        raise ArtifactError(
            f"{where}: trained with scikit-learn {card.get('sklearn_version')}, "
            f"installed is {sklearn.__version__}; retrain with `make train`"
        )
    name = str(card["artifact"].get("file", ""))
    if not name or Path(name).name != name:
        raise ArtifactError(f"{where}: artifact.file must be a bare file name, got {name!r}")
    try:
        data = (where.parent / name).read_bytes()
    except OSError as error:
        raise ArtifactError(f"{where.parent / name}: cannot read the model file: {error}") from None
    if sha256_bytes(data) != card["artifact"].get("sha256"):
        raise ArtifactError(f"{where.parent / name}: sha256 does not match the model card; refusing to unpickle")
    return data


def load_bundle(model_path: Path, key: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify and unpickle a model: returns (card, bundle). Only the verified bytes are ever unpickled."""
    card = read_card(model_path)
    data = verify(model_path, card, key)
    bundle = joblib.load(io.BytesIO(data))
    if not isinstance(bundle, dict) or not {"pipeline", "labels", "thresholds"} <= bundle.keys():
        raise ArtifactError(f"{model_path}: not a tagger bundle (expected pipeline, labels, thresholds)")
    if list(bundle["labels"]) != list(card.get("labels", [])):
        raise ArtifactError(f"{model_path}: labels {bundle['labels']} differ from the card's {card.get('labels')}")
    return card, bundle
