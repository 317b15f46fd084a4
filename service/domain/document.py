"""Documents: strip HTML, unescape entities and split plain text into paragraphs at line breaks."""

from __future__ import annotations

import html
import re

_INVISIBLE = re.compile(r"(?is)<(script|style|head|template)\b.*?</\1\s*>|<!--.*?-->")
_BLOCK = re.compile(r"(?i)<\s*/?\s*(br|p|div|li|ul|ol|h[1-6]|tr|table|blockquote|section|article|figcaption)\b[^>]*>")
_TAG = re.compile(r"<[^<>]*>")
# A decimal character reference with more digits than any code point needs: html.unescape would turn it into
# U+FFFD, but parsing thousands of digits first raises ValueError (Python's int() digit limit).
_LONG_DECIMAL_REFERENCE = re.compile(r"&#0*[0-9]{8,};?")
_LEADING_ZEROS = re.compile(r"&#0+(?=[0-9])")


def split_paragraphs(text: str) -> list[str]:
    """The paragraphs of a document, in order: HTML tags stripped (block tags end a paragraph), entities
    unescaped, split at line breaks, each stripped, empty ones dropped."""
    text = _INVISIBLE.sub("", text)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    text = _LONG_DECIMAL_REFERENCE.sub("\ufffd", _LEADING_ZEROS.sub("&#", text))
    text = html.unescape(text)
    return [line.strip() for line in text.splitlines() if line.strip()]
