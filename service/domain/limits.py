"""The request limits, as the validation rules and GetModel see them."""

from __future__ import annotations

import dataclasses

# The proto documents this cap on TagOptions.explain_terms; TAGGER_MAX_EXPLAIN_TERMS may lower it, not raise it.
EXPLAIN_TERMS_CAP = 50


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one request may hold; lengths count Unicode code points."""

    max_text_chars: int = 20_000
    max_paragraphs: int = 1_000
    max_document_chars: int = 200_000
    max_explain_terms: int = EXPLAIN_TERMS_CAP
