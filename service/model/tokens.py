"""Tokens and n-grams exactly as a fitted TfidfVectorizer makes them, with a faster path for its default pattern.
No scikit-learn: the vectorizer's settings are plain values (TokenSettings)."""

from __future__ import annotations

import dataclasses
import re

DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
# Bytes that are not word characters become spaces, so that str.split() yields the runs of word characters.
_ASCII_NON_WORD = bytes(b if re.fullmatch(r"\w", chr(b)) else 32 for b in range(128)) + bytes([32] * 128)
# Non-ASCII symbols common in news copy that are not word characters (checked against the regex itself); a
# character class finds them far faster than str.translate with a mapping, which looks up every character.
_NON_WORD_SYMBOLS = re.compile(
    "["
    + "".join(
        re.escape(ch)
        for ch in "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00ab\u00bb\u20ac\u00a3\u00a5\u20b9\u20a6\u2022"
        "\u00b7\u00b0\u00d7\u00a7\u00a9\u00ae\u2122\u2032\u2033\u2039\u203a\u201e\u201a\u00a0\u2009\u202f"
        "\u200b\u2010\u2011\u2212\u00bd\u00bc\u00be"
        if not re.fullmatch(r"\w", ch)
    )
    + "]"
)


@dataclasses.dataclass(frozen=True)
class TokenSettings:
    """What decides a word-level TfidfVectorizer's n-grams: lower-casing, the token pattern, the n-gram range
    and the stop words (already resolved to a list)."""

    lowercase: bool = True
    token_pattern: str = DEFAULT_TOKEN_PATTERN
    ngram_range: tuple[int, int] = (1, 1)
    stop_words: frozenset[str] = frozenset()


class Tokenizer:
    """The vectorizer's preprocessing (lower-casing), tokens, stop words and word n-grams."""

    def __init__(self, settings: TokenSettings, shortest_term: int = 2) -> None:
        self._lowercase = settings.lowercase
        self._findall = re.compile(settings.token_pattern).findall
        self._default_tokens = settings.token_pattern == DEFAULT_TOKEN_PATTERN
        self._min_n, self._max_n = settings.ngram_range
        self._stop = settings.stop_words
        self._raw_unigrams = self._default_tokens and self._max_n == 1 and not self._stop and shortest_term > 1

    def tokens(self, text: str, keep_short: bool = False) -> list[str]:
        """The vectorizer's tokens. For its default pattern (runs of 2+ word characters) and text that is ASCII
        once common non-word symbols are blanked, a byte-level split gives the same tokens 4-5x faster."""
        if self._lowercase:
            text = text.lower()
        if self._default_tokens:
            if not text.isascii():
                blanked = _NON_WORD_SYMBOLS.sub(" ", text)
                if not blanked.isascii():
                    return self._findall(text)
                text = blanked
            words = text.encode("ascii").translate(_ASCII_NON_WORD).decode("ascii").split()
            return words if keep_short else [word for word in words if len(word) > 1]
        return self._findall(text)

    def lookup_grams(self, text: str) -> list[str]:
        """grams(), except that a unigram model with the default pattern may keep 1-character tokens: they are
        never in its vocabulary, so looking them up changes nothing and filtering them costs time."""
        if self._raw_unigrams:
            return self.tokens(text, keep_short=True)
        return self.grams(text)

    def grams(self, text: str) -> list[str]:
        tokens = self.tokens(text)
        if self._stop:
            tokens = [token for token in tokens if token not in self._stop]
        if self._max_n == 1:
            return tokens
        grams = list(tokens) if self._min_n == 1 else []
        for n in range(max(self._min_n, 2), min(self._max_n, len(tokens)) + 1):
            grams.extend(map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False)))  # shifted copies
        return grams
