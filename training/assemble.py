"""`python -m training.assemble SLICE ...`: merge hand-written corpus slices, drop duplicates, split 85/15."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sklearn.model_selection import train_test_split

from training.data import SHIPPED_TEST, SHIPPED_TRAIN, Example, near_duplicates, read_examples
from training.estimator import RANDOM_STATE

TEST_SHARE = 0.15


def assemble(slices: list[Path]) -> tuple[list[Example], list[Example], int]:
    """Merge the slices (exact duplicates are refused by read_examples), keep the first of each near-duplicate
    pair, and split with the label combination as stratum. Returns (train, test, dropped)."""
    examples = read_examples(slices)
    dropped = {j for _, j, _ in near_duplicates([e.text for e in examples])}
    kept = [e for i, e in enumerate(examples) if i not in dropped]
    strata = ["+".join(sorted(e.labels)) + ("/hard" if e.extra.get("hard_negative") else "") for e in kept]
    train, test = train_test_split(kept, test_size=TEST_SHARE, random_state=RANDOM_STATE, stratify=strata)
    return list(train), list(test), len(dropped)


def write_jsonl(path: Path, examples: list[Example]) -> None:
    """One compact JSON object per line: text, labels (sorted), then the extra fields."""
    with path.open("w", encoding="utf-8") as out:
        for e in examples:
            record = {"text": e.text, "labels": sorted(e.labels), **e.extra}
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Write training/data/train.jsonl and test.jsonl from the slices given."""
    parser = argparse.ArgumentParser(prog="python -m training.assemble", description=__doc__)
    parser.add_argument("slices", type=Path, nargs="+")
    args = parser.parse_args(argv)
    train, test, dropped = assemble(args.slices)
    write_jsonl(SHIPPED_TRAIN, train)
    write_jsonl(SHIPPED_TEST, test)
    print(f"train {len(train)}, test {len(test)}, near-duplicates dropped {dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
