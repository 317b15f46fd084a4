"""The model card: the contract between training and serving. One typed definition, written by training and read
by serving through this code, with its JSON form, its file names and its signature computed here. Standard
library only: a card is read and its signature checked before anything else of a model is parsed."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from service.domain.errors import ModelError

# JSON-shaped values the card carries for people and reports (data digests, the settings search, metrics).
Json = dict[str, Any]


def card_path(model_path: Path) -> Path:
    """The model card of a joblib file: the same name with a `.json` suffix."""
    return model_path.with_suffix(".json")


def tables_path(model_path: Path) -> Path:
    """The linear tables of a joblib file: <name>.tables.npz."""
    return model_path.with_name(model_path.stem + ".tables.npz")


def sha256_bytes(data: bytes) -> str:
    """Lowercase hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One file of the model, named relative to the card's folder, with the sha256 of its bytes."""

    file: str
    sha256: str


@dataclasses.dataclass(frozen=True)
class ModelCard:
    """What a model is: version, labels and thresholds, its files with their digests, how it was made and how
    well it scored. `extra` keeps fields this code does not know, so a card reads and writes back unchanged."""

    version: str
    labels: tuple[str, ...]
    thresholds: dict[str, float]
    artifact: FileEntry
    tables: FileEntry | None = None
    created: str = ""
    sklearn_version: str = ""
    python: str = ""
    data: Json = dataclasses.field(default_factory=dict)
    test_data: str | None = None
    settings: Json = dataclasses.field(default_factory=dict)
    metrics: Json = dataclasses.field(default_factory=dict)
    signature: str | None = None
    extra: Json = dataclasses.field(default_factory=dict)

    def to_json(self) -> Json:
        """The card as written to disk: every field by name, `extra` merged in, absent optional entries left out."""
        known = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        known["labels"] = list(self.labels)
        for name in ("artifact", "tables"):
            entry = known.pop(name)
            if entry is not None:
                known[name] = dataclasses.asdict(entry)
        if self.signature is None:
            del known["signature"]
        return {**self.extra, **known}

    @classmethod
    def from_json(cls, raw: object, where: Path) -> ModelCard:
        """Read a card's JSON object; raises ModelError naming `where` when a required field is missing or wrong."""
        if not isinstance(raw, dict) or not isinstance(raw.get("artifact"), dict):
            raise ModelError(f"{where}: not a model card (no `artifact` entry)")
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        try:
            labels = tuple(str(label) for label in raw.get("labels") or ())
            thresholds = {str(k): float(v) for k, v in (raw.get("thresholds") or {}).items()}
            card = cls(
                **{k: v for k, v in raw.items() if k in names - {"labels", "thresholds", "artifact", "tables"}},
                labels=labels,
                thresholds=thresholds,
                artifact=_entry(raw["artifact"]),
                tables=_entry(raw["tables"]) if raw.get("tables") is not None else None,
                extra={k: v for k, v in raw.items() if k not in names},
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ModelError(f"{where}: malformed model card: {error}") from None
        if not labels or set(thresholds) != set(labels) or not all(0.0 <= t <= 1.0 for t in thresholds.values()):
            raise ModelError(f"{where}: every label needs a threshold in [0, 1], got {raw.get('thresholds')}")
        return card

    def signed(self, key: str) -> ModelCard:
        """This card with its signature set (HMAC-SHA256 under `key`); unsigned when `key` is empty."""
        return dataclasses.replace(self, signature=signature(self.to_json(), key) if key else None)

    def dumps(self) -> str:
        """The card file's text."""
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"

    def flat_metrics(self) -> dict[str, float]:
        """The metrics flattened: "test.micro_f1", "test.f1.defence", "cv.macro_f1", ..."""
        flat: dict[str, float] = {}
        for split, figures in self.metrics.items():
            if not isinstance(figures, dict):
                continue
            for name, value in figures.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    flat[f"{split}.{name}"] = float(value)
            for label, per_label in (figures.get("per_label") or {}).items():
                for name in ("precision", "recall", "f1"):
                    if name in per_label:
                        flat[f"{split}.{name}.{label}"] = float(per_label[name])
        return flat


def signature(card: Json, key: str) -> str:
    """HMAC-SHA256 (hex) of the card's JSON without `signature`, as canonical UTF-8 JSON, keyed with `key`."""
    unsigned = {name: value for name, value in card.items() if name != "signature"}
    payload = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).hexdigest()


def read_card(model_path: Path, key: str = "") -> ModelCard:
    """Read and parse the model card of `model_path`, checking its signature when `key` is set (over the JSON as
    read, so fields this code does not know are covered too); raises ModelError if it is missing, not JSON,
    unsigned or signed with another key."""
    path = card_path(model_path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: model card not found (train a model with `make train`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{path}: unreadable model card: {error}") from None
    card = ModelCard.from_json(raw, path)
    if key:
        if not isinstance(raw.get("signature"), str):
            raise ModelError(f"{path}: the card is not signed and TAGGER_MODEL_KEY is set")
        if not hmac.compare_digest(raw["signature"], signature(raw, key)):
            raise ModelError(f"{path}: the card's signature does not match TAGGER_MODEL_KEY")
    return card


def read_verified(model_path: Path, card: ModelCard, entry: str) -> bytes:
    """The bytes of the file the card's `entry` ("artifact" for the joblib, "tables") names, after checking them
    against the card's sha256. Nothing is unpickled or parsed here."""
    where = card_path(model_path)
    described: FileEntry | None = getattr(card, entry)
    if described is None:
        raise ModelError(f"{where}: the card has no `{entry}` entry")
    if not described.file or Path(described.file).name != described.file:
        raise ModelError(f"{where}: {entry}.file must be a bare file name, got {described.file!r}")
    try:
        data = (where.parent / described.file).read_bytes()
    except OSError as error:
        raise ModelError(f"{where.parent / described.file}: cannot read the model file: {error}") from None
    if sha256_bytes(data) != described.sha256:
        raise ModelError(f"{where.parent / described.file}: sha256 does not match the model card; refusing to load it")
    return data


def _entry(raw: Any) -> FileEntry:
    return FileEntry(file=str(raw["file"]), sha256=str(raw["sha256"]))
