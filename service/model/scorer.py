"""The fast scorer: TF-IDF + one-vs-rest logistic regression computed from the linear tables in plain Python, with
the vectorizer's own tokens. No scikit-learn, and no NumPy on the scoring path: for one paragraph, C-level sums
over a few dozen rows cost less than the dispatch of a dozen small array operations."""

from __future__ import annotations

import functools
import itertools
import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Literal, Protocol

import numpy as np

from service.domain.errors import ModelError
from service.domain.tags import Evidence
from service.model.tables import LinearTables
from service.model.tokens import DEFAULT_TOKEN_PATTERN, Tokenizer

try:  # the optional compiled scorer, built at install when a C compiler is present
    from service.model._speedups import Tables as CompiledTables
except ImportError:  # pragma: no cover - depends on the install
    CompiledTables = None  # type: ignore[assignment,misc]

_LOGGER = logging.getLogger(__name__)
COMPILED = CompiledTables is not None
COMPILED_MISSING = "the compiled scorer was not built at install (no C compiler?)"
_ONE = 1
# Which implementation scores: `auto` takes the compiled one where it can reproduce the tables, else Python.
Implementation = Literal["auto", "compiled", "python"]
IMPLEMENTATIONS: tuple[Implementation, ...] = ("auto", "compiled", "python")


class Scorer(Protocol):
    """What the model needs from a scorer: per-label probabilities for a batch, and evidence for one text."""

    def scores(self, texts: Sequence[str]) -> list[list[float]]: ...

    def evidence(self, text: str, k: int) -> Evidence: ...


class FastScorer:
    """Scores as Pipeline.predict_proba does, to within TOLERANCE (service.model.tables), from the tables.

    Each term's row holds idf² and idf x coefficient per label, so that a text's decision values are sums over
    its terms: sum(tf x idf x coef) / sqrt(sum(tf² x idf²)) + intercept, which is the L2-normalised TF-IDF row
    dotted with the coefficients."""

    def __init__(self, tables: LinearTables, implementation: Implementation = "auto") -> None:
        self._tables = tables
        self._intercept: list[float] = tables.intercept.tolist()
        self._binary = tables.binary
        self._sublinear = tables.sublinear_tf
        self._l2 = tables.l2_norm
        self.tokenizer = Tokenizer(tables.tokens, shortest_term=min(map(len, tables.terms), default=2))
        # scores(texts): per text, per label probabilities; the compiled scorer's own method when it serves, so
        # that a call reaches C without a Python frame between
        self.scores: Callable[[Sequence[str]], list[list[float]]] = self.python_scores
        self.compiled = implementation != "python" and _use_compiled(tables, implementation)
        if self.compiled:
            self.scores = _compiled_tables(tables).scores
        else:
            _ = self._rows  # the Python scorer's dictionary, built now rather than on the first call

    @functools.cached_property
    def _rows(self) -> dict[str, tuple[float, ...]]:
        """Each term's row for the pure-Python scorer and for evidence. Beside the compiled scorer it is built on
        the first call that needs it (explain terms), which saves its 15-20 MiB in servers that never explain."""
        tables = self._tables
        rows = np.column_stack([tables.idf * tables.idf, tables.coef * tables.idf[:, np.newaxis]]).tolist()
        return {term: tuple(row) for term, row in zip(tables.terms, rows, strict=True)}

    def python_scores(self, texts: Sequence[str]) -> list[list[float]]:
        """scores() by the pure-Python scorer, whichever implementation serves."""
        return [list(map(_sigmoid, self.decision(text))) for text in texts]

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """As Pipeline.predict_proba: shape (len(texts), labels)."""
        return np.array(self.scores(texts), dtype=np.float64).reshape(len(texts), len(self._intercept))

    def decision(self, text: str) -> list[float]:
        """Per label, the logistic regression's decision value for `text`.

        Summed as if every term occurred once (whole columns at a time, no Python loop per term), then corrected
        for the few terms that occur more than once."""
        grams = self.tokenizer.lookup_grams(text)
        counts = Counter(grams)
        get = self._rows.get
        rows = list(filter(None, map(get, counts)))
        if not rows:
            return list(self._intercept)
        sums: list[float] = list(map(sum, zip(*rows, strict=True)))  # sum of idf², then idf x coef per label
        if len(counts) != len(grams) and not self._binary:
            for term in itertools.compress(counts, map(_ONE.__lt__, counts.values())):
                row = get(term)
                if row is not None:
                    extra = self._tf(counts[term]) - 1.0
                    sums[0] += extra * (extra + 2.0) * row[0]  # tf² - 1 = (tf - 1)(tf + 1)
                    for j in range(1, len(row)):
                        sums[j] += extra * row[j]
        scale = 1.0 / math.sqrt(sums[0]) if self._l2 and sums[0] > 0 else 1.0
        return [total * scale + b for total, b in zip(sums[1:], self._intercept, strict=True)]

    def evidence(self, text: str, k: int) -> Evidence:
        """Per label, the k terms with the largest positive contribution (TF-IDF value x coefficient), strongest
        first (ties by term)."""
        terms, weights, rows = self._terms(text)
        norm_sq = sum(w * w * row[0] for w, row in zip(weights, rows, strict=True))
        scale = 1.0 / math.sqrt(norm_sq) if self._l2 and norm_sq > 0 else 1.0
        evidence: Evidence = []
        for j in range(1, len(self._intercept) + 1):
            found = [(w * row[j] * scale, term) for term, w, row in zip(terms, weights, rows, strict=True)]
            ranked = sorted((-weight, term) for weight, term in found if weight > 0)
            evidence.append([(term, -weight) for weight, term in ranked[:k]])
        return evidence

    def _terms(self, text: str) -> tuple[list[str], list[float], list[tuple[float, ...]]]:
        """The text's n-grams that are in the vocabulary, each once, with its term frequency and its row."""
        terms: list[str] = []
        weights: list[float] = []
        rows: list[tuple[float, ...]] = []
        for term, count in Counter(self.tokenizer.lookup_grams(text)).items():
            row = self._rows.get(term)
            if row is not None:
                terms.append(term)
                rows.append(row)
                weights.append(1.0 if self._binary else self._tf(count))
        return terms, weights, rows

    def _tf(self, count: int) -> float:
        """The vectorizer's term frequency for a term counted `count` times (when not binary)."""
        return 1.0 + math.log(count) if self._sublinear else float(count)


def _sigmoid(x: float) -> float:
    """The logistic function, without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _use_compiled(tables: LinearTables, implementation: Implementation) -> bool:
    """Whether the compiled scorer can score `tables`; raises ModelError when `compiled` was asked for and it
    cannot, and logs (once per reason) when `auto` falls back to Python."""
    reason = ""
    if CompiledTables is None:
        reason = COMPILED_MISSING
    elif tables.tokens.ngram_range[1] > 64:
        reason = "it supports n-grams of at most 64 words"
    elif tables.tokens.token_pattern != DEFAULT_TOKEN_PATTERN:
        reason = f"it supports only the default token pattern, not {tables.tokens.token_pattern!r}"
    if not reason:
        return True
    if implementation == "compiled":
        raise ModelError(f"TAGGER_SCORER=compiled, but the compiled scorer cannot serve this model: {reason}")
    _log_fallback(reason)
    return False


@functools.cache
def _log_fallback(reason: str) -> None:
    _LOGGER.warning("the compiled scorer is not used (%s); scoring with the pure-Python scorer", reason)


def _utf8(terms: Sequence[str]) -> list[bytes]:
    """Each term as UTF-8. One encode of them all, split at newlines (which no term of the default token pattern
    holds), takes a tenth of the time of 80,000 encodes at start."""
    encoded = "\n".join(terms).encode("utf-8", "surrogatepass").split(b"\n")
    if len(encoded) == len(terms):
        return encoded
    return [term.encode("utf-8", "surrogatepass") for term in terms]


def _compiled_tables(tables: LinearTables) -> CompiledTables:
    """The tables in the compiled scorer's form: terms as UTF-8, and one row of idf², idf x coef per term."""
    weighted = tables.coef * tables.idf[:, np.newaxis]
    rows = np.ascontiguousarray(np.column_stack([tables.idf * tables.idf, weighted]), dtype=np.float64)
    return CompiledTables(
        terms=_utf8(tables.terms),
        rows=rows.tobytes(),
        intercept=tables.intercept.tolist(),
        stop_words=[word.encode("utf-8", "surrogatepass") for word in sorted(tables.tokens.stop_words)],
        lowercase=tables.tokens.lowercase,
        min_n=tables.tokens.ngram_range[0],
        max_n=tables.tokens.ngram_range[1],
        binary=tables.binary,
        sublinear=tables.sublinear_tf,
        l2=tables.l2_norm,
    )
