"""`make check-data`: the format checks, then the shipped corpus's make-up quotas, with its figures printed."""

from __future__ import annotations

import re
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from training.data import SHIPPED_TEST, SHIPPED_TRAIN, DataError, Example, near_duplicates, read_examples

LABELS = ("defence", "economic", "political")
REGISTERS = (
    "wire",
    "analysis",
    "press-release",
    "transcript",
    "opinion",
    "explainer",
    "headline",
    "feature",
    "boilerplate",
)
# Floors just under the shipped make-up (data card), so that a change that thins a part of it fails the check.
MIN_ROWS, MIN_POSITIVES, MIN_UNLABELLED, MIN_MULTI_SHARE = 9000, 1850, 2200, 0.26
MIN_HARD_NEGATIVES, MIN_HEADLINE_SHARE, MIN_REGIONS = 1300, 0.21, 180
MAX_NEAR_DUPLICATE_SHARE, RUN_WORDS, MAX_RUN_PARAGRAPHS = 0.01, 8, 3


def fields_problems(examples: Sequence[Example]) -> list[str]:
    """Lines whose labels, region, register or hard_negative break the shipped corpus's schema."""
    problems = []
    for e in examples:
        if not e.labels <= set(LABELS):
            problems.append(f"{e.source}: labels {sorted(e.labels)} are not a subset of {list(LABELS)}")
        if e.extra.get("register") not in REGISTERS:
            problems.append(f"{e.source}: register {e.extra.get('register')!r} is not one of {list(REGISTERS)}")
        if not isinstance(e.extra.get("region"), str) or not e.extra["region"].strip():
            problems.append(f"{e.source}: region must name a country or region, or be 'none'")
        hard = e.extra.get("hard_negative")
        if not isinstance(hard, bool) or (hard and e.labels):
            problems.append(f"{e.source}: hard_negative must be a bool, true only when labels is empty")
    return problems


def repeated_runs(texts: Sequence[str]) -> list[tuple[str, int]]:
    """Runs of RUN_WORDS consecutive words found in more than MAX_RUN_PARAGRAPHS paragraphs (template marks)."""
    seen: dict[str, set[int]] = defaultdict(set)
    for i, text in enumerate(texts):
        words = re.findall(r"\w+", text.lower())
        for j in range(len(words) - RUN_WORDS + 1):
            seen[" ".join(words[j : j + RUN_WORDS])].add(i)
    return sorted(((run, len(ids)) for run, ids in seen.items() if len(ids) > MAX_RUN_PARAGRAPHS), key=lambda r: -r[1])


def quotas(examples: Sequence[Example]) -> list[tuple[str, float, float, bool]]:
    """(name, measured, bound, passed) for every make-up rule of the shipped corpus."""
    labelled = [e for e in examples if e.labels]
    positives = Counter(label for e in examples for label in e.labels)
    regions = {e.extra.get("region") for e in examples} - {"none", None}
    registers = {e.extra.get("register") for e in examples}
    involved = {k for i, j, _ in near_duplicates([e.text for e in examples]) for k in (i, j)}
    runs = repeated_runs([e.text for e in examples])
    rows: list[tuple[str, float, float]] = [("paragraphs", len(examples), MIN_ROWS)]
    rows += [(f"positives: {label}", positives[label], MIN_POSITIVES) for label in LABELS]
    rows += [
        ("no label", len(examples) - len(labelled), MIN_UNLABELLED),
        (
            "multi-label share of labelled",
            sum(len(e.labels) > 1 for e in labelled) / max(len(labelled), 1),
            MIN_MULTI_SHARE,
        ),
        ("hard negatives", sum(e.extra.get("hard_negative") is True for e in examples), MIN_HARD_NEGATIVES),
        (
            "headline share",
            sum(e.extra.get("register") == "headline" for e in examples) / len(examples),
            MIN_HEADLINE_SHARE,
        ),
        ("named regions", len(regions), MIN_REGIONS),
        ("registers", len(registers & set(REGISTERS)), len(REGISTERS)),
    ]
    checks = [(name, float(value), float(bound), value >= bound) for name, value, bound in rows]
    share = len(involved) / len(examples)
    checks.append(("near-duplicate share (max)", share, MAX_NEAR_DUPLICATE_SHARE, share <= MAX_NEAR_DUPLICATE_SHARE))
    checks.append((f"{RUN_WORDS}-word runs in >{MAX_RUN_PARAGRAPHS} paragraphs (max)", len(runs), 0, not runs))
    for run, count in runs[:5]:
        print(f"  repeated run in {count} paragraphs: {run!r}")
    return checks


def print_figures(examples: Sequence[Example]) -> None:
    """Counts per label, label combination, register and region, and the length distribution."""
    combos = Counter("+".join(sorted(e.labels)) or "(none)" for e in examples)
    print("per label:", dict(Counter(label for e in examples for label in sorted(e.labels))))
    print("label combinations:", dict(combos.most_common()))
    print("registers:", dict(Counter(e.extra.get("register") for e in examples).most_common()))
    regions = Counter(e.extra.get("region") for e in examples)
    print(f"regions ({len(regions)}):", dict(regions.most_common()))
    words = np.array([len(e.text.split()) for e in examples])
    print(
        "words per paragraph: min {} p10 {} median {} p90 {} max {}".format(
            words.min(), *np.percentile(words, [10, 50, 90]).astype(int), words.max()
        )
    )


def main() -> int:
    """Check the shipped train and test files; exit 1 on any format error or quota missed."""
    try:
        examples = read_examples([SHIPPED_TRAIN, SHIPPED_TEST])
    except DataError as error:
        print(f"check-data: {error}", file=sys.stderr)
        return 1
    problems = fields_problems(examples)
    for problem in problems[:20]:
        print(f"check-data: {problem}", file=sys.stderr)
    print_figures(examples)
    checks = quotas(examples)
    for name, value, bound, passed in checks:
        print(f"{'ok  ' if passed else 'FAIL'} {name:<42} {value:>9.3f}  (bound {bound:g})")
    return 1 if problems or not all(passed for *_, passed in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
