from collections.abc import Sequence

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
