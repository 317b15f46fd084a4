from collections.abc import Sequence
from typing import Any

class Tables:
    """The linear tables in C, scored with the vectorizer's exact tokens (default token pattern only)."""

    def __init__(
        self,
        terms: Sequence[bytes],
        rows: bytes,
        intercept: Sequence[float],
        stop_words: Sequence[bytes],
        lowercase: bool,
        min_n: int,
        max_n: int,
        binary: bool,
        sublinear: bool,
        l2: bool,
    ) -> None: ...
    def scores(self, texts: Sequence[str]) -> list[list[float]]:
        """Per text, per label, the pipeline's predict_proba."""

def pack_records(
    record_key: bytes,
    id_key: bytes,
    ids: list[str],
    rows: list[list[float]],
    thresholds: tuple[float, ...],
    top_k: int,
    layouts: dict[tuple[int, ...], Any],
) -> tuple[bytes, list[tuple[str, ...]]] | None:
    """Per row, a length-delimited record: the id, then the row's layout's pieces with each 32-bit score between
    them, the layout chosen by the labels the row assigns (service.domain.tagging.assigned). The exact twin of
    service.api.encoder.ParagraphsEncoder.encode; None for what it cannot write exactly or has no layout for."""
