"""Request validation: every limit, checked at the edge, reported as field violations. No gRPC."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from service.config import Settings
from service.document import split_paragraphs
from service.tagging import Options


@dataclasses.dataclass(frozen=True)
class Violation:
    """One invalid field: its path in the request (`paragraphs[1].text`) and what is wrong with it."""

    field: str
    description: str


# Violations spelled out in an error: the message and the BadRequest detail travel in response headers, which
# gRPC clients cap (8 KiB soft, 16 KiB hard by default), so a batch of 1,000 empty paragraphs names the first few.
MAX_REPORTED = 20
_MAX_IN_MESSAGE = 5


class InvalidRequest(Exception):
    """The request breaks one or more limits; `violations` names each field (the first MAX_REPORTED of them)."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        more = len(violations) - MAX_REPORTED
        self.violations = tuple(violations[:MAX_REPORTED]) + (
            (Violation(violations[MAX_REPORTED].field, f"and {more} more violation(s)"),) if more > 0 else ()
        )
        message = "; ".join(f"{v.field}: {v.description}" for v in violations[:_MAX_IN_MESSAGE])
        if len(violations) > _MAX_IN_MESSAGE:
            message += f"; and {len(violations) - _MAX_IN_MESSAGE} more violation(s)"
        super().__init__(message)


def check_options(options: Options, settings: Settings, prefix: str = "options") -> list[Violation]:
    """Violations of the tag options: threshold in [0, 1] and a number; explain_terms within its limit."""
    found = []
    if options.threshold is not None and not (math.isfinite(options.threshold) and 0 <= options.threshold <= 1):
        found.append(Violation(f"{prefix}.threshold", f"must be a number in [0, 1], got {options.threshold}"))
    if options.explain_terms > settings.max_explain_terms:
        found.append(
            Violation(
                f"{prefix}.explain_terms",
                f"must be at most {settings.max_explain_terms} (max_explain_terms), got {options.explain_terms}",
            )
        )
    return found


def check_text(text: str, field: str, settings: Settings) -> list[Violation]:
    """Violations of one paragraph's text: empty, whitespace only, or over max_text_chars code points."""
    if not text.strip():
        return [Violation(field, "must not be empty or only whitespace")]
    if len(text) > settings.max_text_chars:
        return [
            Violation(
                field,
                f"is {len(text)} characters, over the limit of {settings.max_text_chars} (max_text_chars)",
            )
        ]
    return []


def check_batch(texts: Sequence[str], options: Options, settings: Settings) -> None:
    """Raise InvalidRequest unless the batch has 1..max_paragraphs valid texts and valid options."""
    found = check_options(options, settings)
    if not texts:
        found.append(Violation("paragraphs", "must hold at least one paragraph"))
    elif len(texts) > settings.max_paragraphs:
        found.append(
            Violation(
                "paragraphs",
                f"holds {len(texts)} paragraphs, over the limit of {settings.max_paragraphs} (max_paragraphs)",
            )
        )
    else:
        for i, text in enumerate(texts):
            found.extend(check_text(text, f"paragraphs[{i}].text", settings))
    if found:
        raise InvalidRequest(found)


def check_document(text: str, options: Options, settings: Settings) -> list[str]:
    """The document's paragraphs; raises InvalidRequest unless it fits max_document_chars and yields at least
    one paragraph, each within max_text_chars."""
    found = check_options(options, settings)
    paragraphs: list[str] = []
    if len(text) > settings.max_document_chars:
        found.append(
            Violation(
                "text",
                f"is {len(text)} characters, over the limit of {settings.max_document_chars} (max_document_chars)",
            )
        )
    else:
        paragraphs = split_paragraphs(text)
        if not paragraphs:
            found.append(Violation("text", "holds no paragraph: it is empty once HTML and blank lines are removed"))
    found.extend(
        Violation(
            "text",
            f"paragraph {i} is {len(p)} characters, over the limit of {settings.max_text_chars} (max_text_chars)",
        )
        for i, p in enumerate(paragraphs)
        if len(p) > settings.max_text_chars
    )
    if found:
        raise InvalidRequest(found)
    return paragraphs
