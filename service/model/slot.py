"""Live model rollout: watch the model card (the commit marker), verify a new model, swap it in atomically."""

from __future__ import annotations

import gc
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

from service.domain.errors import ModelError
from service.model.card import card_path
from service.model.loader import Model, load_model
from service.model.scorer import Implementation

_LOGGER = logging.getLogger(__name__)


class ModelSlot:
    """The model in service. Calls read `current` once and keep that model to the end; a reload replaces it
    with one assignment, so a call never sees half of a swap. Listeners hear of every swap, after it."""

    def __init__(self, model: Model, key: str = "", implementation: Implementation = "auto") -> None:
        self.current = model
        self._key = key
        self._implementation = implementation
        self._seen = _card_digest(model.path)
        self._listeners: list[Callable[[Model], None]] = []
        self.reloads: dict[str, int] = {"ok": 0, "refused": 0}

    def on_swap(self, listener: Callable[[Model], None]) -> None:
        """Call `listener(new_model)` after every swap (from the thread that reloads)."""
        self._listeners.append(listener)

    def reload_if_changed(self) -> bool:
        """Load the model again if its card changed since last seen; True when a new model went into service.
        A model that fails verification is refused (logged); the current one keeps serving."""
        digest = _card_digest(self.current.path)
        if digest is None or digest == self._seen:
            return False
        self._seen = digest
        try:
            model = load_model(self.current.path, self._key, self._implementation)
        except ModelError as reason:
            self.reloads["refused"] += 1
            _LOGGER.error("model reload refused, still serving %s: %s", self.current.version, reason)
            return False
        previous, self.current = self.current, model
        self.reloads["ok"] += 1
        _LOGGER.info("model reloaded: %s -> %s", previous.version, model.version)
        del previous
        gc.collect()  # the old model's reference cycles: free them now, not at some later full collection
        for listener in self._listeners:
            listener(model)
        return True


def _card_digest(model_path: Path) -> str | None:
    try:
        return hashlib.sha256(card_path(model_path).read_bytes()).hexdigest()
    except OSError:
        return None
