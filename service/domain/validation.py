"""Request validation: every limit, checked at the edge, reported as field violations."""

from __future__ import annotations

import math
from collections.abc import Sequence

from service.domain.document import split_paragraphs
from service.domain.errors import InvalidRequest, Violation
from service.domain.limits import Limits
from service.domain.tags import Options


def check_options(options: Options, limits: Limits, prefix: str = "options") -> list[Violation]:
    """Violations of the tag options: threshold in [0, 1] and a number; explain_terms within its limit."""
    found = []
    if options.threshold is not None and not (math.isfinite(options.threshold) and 0 <= options.threshold <= 1):
        found.append(Violation(f"{prefix}.threshold", f"must be a number in [0, 1], got {options.threshold}"))
    if options.explain_terms > limits.max_explain_terms:
        found.append(
            Violation(
                f"{prefix}.explain_terms",
                f"must be at most {limits.max_explain_terms} (max_explain_terms), got {options.explain_terms}",
            )
        )
    return found


def check_text(text: str, field: str, limits: Limits) -> list[Violation]:
    """Violations of one paragraph's text: empty, whitespace only, or over max_text_chars code points."""
    if not text or text.isspace():  # what str.strip() would leave empty, without copying the text
        return [Violation(field, "must not be empty or only whitespace")]
    if len(text) > limits.max_text_chars:
        return [_over(field, f"is {len(text)} characters", limits.max_text_chars, "max_text_chars")]
    return []


def check_batch(texts: Sequence[str], options: Options, limits: Limits) -> None:
    """Raise InvalidRequest unless the batch has 1..max_paragraphs valid texts and valid options."""
    if _plainly_valid(texts, options, limits):
        return
    found = check_options(options, limits)
    if not texts:
        found.append(Violation("paragraphs", "must hold at least one paragraph"))
    elif len(texts) > limits.max_paragraphs:
        found.append(_over("paragraphs", f"holds {len(texts)} paragraphs", limits.max_paragraphs, "max_paragraphs"))
    else:
        for i, text in enumerate(texts):
            found.extend(check_text(text, f"paragraphs[{i}].text", limits))
    if found:
        raise InvalidRequest(found)


def _plainly_valid(texts: Sequence[str], options: Options, limits: Limits) -> bool:
    """True for a batch that breaks none of check_batch's rules and has no threshold to check: most calls, which
    are passed in one look. Anything else goes through the rules, which name each violation."""
    if not 0 < len(texts) <= limits.max_paragraphs or options.threshold is not None:
        return False
    if options.explain_terms > limits.max_explain_terms:
        return False
    longest = limits.max_text_chars
    for text in texts:  # noqa: SIM110 - all() over a generator costs a frame more, on every call
        if not text or len(text) > longest or text.isspace():
            return False
    return True


def check_document(text: str, options: Options, limits: Limits, context_weight: float = 0.0) -> list[str]:
    """The document's paragraphs; raises InvalidRequest unless it fits max_document_chars and yields at least
    one paragraph, each within max_text_chars, and context_weight is in [0, 1]."""
    found = check_options(options, limits)
    if not 0.0 <= context_weight <= 1.0:  # NaN fails too
        found.append(Violation("context_weight", f"must be in [0, 1], got {context_weight}"))
    paragraphs: list[str] = []
    if len(text) > limits.max_document_chars:
        found.append(_over("text", f"is {len(text)} characters", limits.max_document_chars, "max_document_chars"))
    else:
        paragraphs = split_paragraphs(text)
        if not paragraphs:
            found.append(Violation("text", "holds no paragraph: it is empty once HTML and blank lines are removed"))
    found.extend(
        _over("text", f"paragraph {i} is {len(p)} characters", limits.max_text_chars, "max_text_chars")
        for i, p in enumerate(paragraphs)
        if len(p) > limits.max_text_chars
    )
    if found:
        raise InvalidRequest(found)
    return paragraphs


def _over(field: str, measured: str, limit: int, name: str) -> Violation:
    """The one wording of every over-the-limit violation: what was measured, the limit and its setting's name."""
    return Violation(field, f"{measured}, over the limit of {limit} ({name})")
