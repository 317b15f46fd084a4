"""The word-vector table: words and int8 vectors with one scale per dimension, in a NumPy archive read without
pickles, written to a temporary name and renamed into place."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

SHIPPED_TABLE = Path(__file__).with_name("minilm-words.npz")


@dataclasses.dataclass(frozen=True)
class WordVectors:
    """`vectors[i]` is the vector of `words[i]`; `source` says how the table was made; `sha256` is the file's."""

    words: tuple[str, ...]
    vectors: np.ndarray
    source: str
    sha256: str

    def matrix(self, terms: Sequence[str]) -> np.ndarray:
        """One row per term: the term's vector, or zeros for a term (a bigram, a rare name) the table lacks."""
        index = {word: i for i, word in enumerate(self.words)}
        rows = np.array([index.get(term, -1) for term in terms])
        matrix = np.zeros((len(terms), self.vectors.shape[1]))
        found = rows >= 0
        matrix[found] = self.vectors[rows[found]]
        return matrix


def read_table(path: Path = SHIPPED_TABLE) -> WordVectors:
    """The table at `path`; raises ValueError naming the file when it is not a word-vector table."""
    data = path.read_bytes()
    with np.load(path, allow_pickle=False) as archive:
        if not {"words", "codes", "scales", "source"} <= set(archive.files):
            raise ValueError(f"{path}: not a word-vector table (expected words, codes, scales, source)")
        words, codes, scales = archive["words"], archive["codes"], archive["scales"]
        source = str(archive["source"])
    if codes.dtype != np.int8 or codes.shape != (len(words), len(scales)):
        raise ValueError(f"{path}: codes must be int8 of shape (words, dimensions)")
    vectors = codes.astype(np.float64) * scales.astype(np.float64)
    return WordVectors(tuple(str(w) for w in words), vectors, source, hashlib.sha256(data).hexdigest())


def write_table(path: Path, words: Sequence[str], vectors: np.ndarray, source: str) -> None:
    """Quantise `vectors` to int8 (one scale per dimension, the largest magnitude maps to 127) and write."""
    scales = np.abs(vectors).max(axis=0) / 127.0
    scales[scales == 0] = 1.0
    codes = np.clip(np.round(vectors / scales), -127, 127).astype(np.int8)
    temporary = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(
        temporary, words=np.array(list(words)), codes=codes, scales=scales.astype(np.float32), source=np.array(source)
    )
    os.replace(temporary, path)
