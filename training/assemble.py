"""`python -m training.assemble [--append] SLICE ...`: merge hand-written corpus slices, drop duplicates, split
85/15; with --append, split only the new slices and add them to the shipped files, whose split never moves."""

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


def append(slices: list[Path]) -> tuple[list[Example], list[Example], int]:
    """The new slices' paragraphs that are not near-duplicates of the shipped corpus or of each other, split as
    assemble() splits. Returns (new train, new test, dropped)."""
    shipped = read_examples([SHIPPED_TRAIN, SHIPPED_TEST])
    new = read_examples(slices)
    texts = [e.text for e in shipped] + [e.text for e in new]
    dropped = {j - len(shipped) for _, j, _ in near_duplicates(texts) if j >= len(shipped)}
    shipped_texts = {e.text for e in shipped}
    kept = [e for i, e in enumerate(new) if i not in dropped and e.text not in shipped_texts]
    strata = ["+".join(sorted(e.labels)) + ("/hard" if e.extra.get("hard_negative") else "") for e in kept]
    rare = {stratum for stratum in strata if strata.count(stratum) < 2}
    strata = ["rare" if stratum in rare else stratum for stratum in strata]
    train, test = train_test_split(kept, test_size=TEST_SHARE, random_state=RANDOM_STATE, stratify=strata)
    return list(train), list(test), len(new) - len(kept)


def write_jsonl(path: Path, examples: list[Example], mode: str = "w") -> None:
    """One compact JSON object per line: text, labels (sorted), then the extra fields."""
    with path.open(mode, encoding="utf-8") as out:
        for e in examples:
            record = {"text": e.text, "labels": sorted(e.labels), **e.extra}
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")


def main(argv: list[str] | None = None) -> int:
    """Write training/data/train.jsonl and test.jsonl from the slices given."""
    parser = argparse.ArgumentParser(prog="python -m training.assemble", description=__doc__)
    parser.add_argument("slices", type=Path, nargs="+")
    parser.add_argument("--append", action="store_true", help="add the slices to the shipped files")
    args = parser.parse_args(argv)
    train, test, dropped = (append if args.append else assemble)(args.slices)
    write_jsonl(SHIPPED_TRAIN, train, "a" if args.append else "w")
    write_jsonl(SHIPPED_TEST, test, "a" if args.append else "w")
    print(f"train {len(train)}, test {len(test)}, near-duplicates dropped {dropped}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
