"""A fitted TF-IDF + one-vs-rest logistic regression as plain numbers (the linear tables), and their file format.

Training writes the tables beside the joblib file; the server scores from them and never unpickles, so it does not
import scikit-learn at all. The file is a NumPy .npz archive read with allow_pickle=False: arrays and UTF-8 JSON,
nothing executable. Each file also holds the pipeline's own scores for a few check texts, which the server
reproduces before it serves the tables."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from typing import Any

import numpy as np

from service.model.tokens import TokenSettings

FORMAT = "tagger.linear-tables.v1"
# Scored by the pipeline when the tables are written and by the fast scorer when they are loaded: a model whose
# tables do not give these scores is not put in service (TF Serving calls this warm-up).
CHECK_TEXTS = (
    "Parliament approved the defence budget after ministers agreed new tax rises to pay for it.",
    "The central bank held interest rates at 4.5% as inflation eased for a third month.",
    "Rovers' defence held firm as the captain led the title campaign.",
    "Click here to subscribe",
    "",
    "\u201cWe will not be moved,\u201d the minister said \u2014 twice \u2014 before the \u00a32bn vote.",
)
# The largest difference from Pipeline.predict_proba that tables may show on any text they are checked on.
TOLERANCE = 1e-9


class TablesError(ValueError):
    """A tables file that cannot be read or is inconsistent; the message says what is wrong."""


@dataclasses.dataclass(frozen=True, eq=False)
class LinearTables:
    """Everything the fast scorer needs. `coef` is (terms x labels); `idf` is all ones without IDF weighting."""

    terms: tuple[str, ...]
    idf: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    tokens: TokenSettings
    binary: bool
    sublinear_tf: bool
    l2_norm: bool
    check_scores: np.ndarray

    def to_bytes(self) -> bytes:
        """The .npz file's content."""
        meta = {
            "format": FORMAT,
            "terms": list(self.terms),
            "tokens": {
                "lowercase": self.tokens.lowercase,
                "token_pattern": self.tokens.token_pattern,
                "ngram_range": list(self.tokens.ngram_range),
                "stop_words": sorted(self.tokens.stop_words),
            },
            "binary": self.binary,
            "sublinear_tf": self.sublinear_tf,
            "l2_norm": self.l2_norm,
            "check_texts": list(CHECK_TEXTS),
        }
        buffer = io.BytesIO()
        np.savez(
            buffer,
            meta=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
            idf=self.idf,
            coef=self.coef,
            intercept=self.intercept,
            check_scores=self.check_scores,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LinearTables:
        """Read tables written by to_bytes(); raises TablesError on anything else."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in ("meta", "idf", "coef", "intercept", "check_scores")}
            meta: dict[str, Any] = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise TablesError(f"not a linear tables file: {error}") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise TablesError(f"not a {FORMAT} file")
        try:
            tables = cls(
                terms=tuple(map(str, meta["terms"])),
                idf=np.asarray(arrays["idf"], dtype=np.float64),
                coef=np.asarray(arrays["coef"], dtype=np.float64),
                intercept=np.asarray(arrays["intercept"], dtype=np.float64),
                tokens=TokenSettings(
                    lowercase=bool(meta["tokens"]["lowercase"]),
                    token_pattern=str(meta["tokens"]["token_pattern"]),
                    ngram_range=(int(meta["tokens"]["ngram_range"][0]), int(meta["tokens"]["ngram_range"][1])),
                    stop_words=frozenset(str(word) for word in meta["tokens"]["stop_words"]),
                ),
                binary=bool(meta["binary"]),
                sublinear_tf=bool(meta["sublinear_tf"]),
                l2_norm=bool(meta["l2_norm"]),
                check_scores=np.asarray(arrays["check_scores"], dtype=np.float64),
            )
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise TablesError(f"incomplete linear tables: {error!r}") from None
        if tuple(meta.get("check_texts", ())) != CHECK_TEXTS:
            raise TablesError("the tables were checked on other texts than this server's CHECK_TEXTS")
        tables.validate()
        return tables

    @property
    def labels(self) -> int:
        """How many labels (columns of coef)."""
        return int(self.coef.shape[1])

    def validate(self) -> None:
        """Raise TablesError unless the shapes agree with each other."""
        terms, labels = len(self.terms), self.intercept.shape[0] if self.intercept.ndim == 1 else -1
        expected = {
            "idf": (self.idf.shape, (terms,)),
            "coef": (self.coef.shape, (terms, labels)),
            "check_scores": (self.check_scores.shape, (len(CHECK_TEXTS), labels)),
        }
        wrong = [f"{name} has shape {got}, expected {want}" for name, (got, want) in expected.items() if got != want]
        if labels < 1 or len(set(self.terms)) != terms or wrong:
            raise TablesError("inconsistent linear tables: " + ("; ".join(wrong) or "duplicate terms or no labels"))
