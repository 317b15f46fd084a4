"""The training report: the summary table printed at the end, and one precision-recall curve per label, as a PNG
beside the model card."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve

from service.model.card import ModelCard


def write_pr_curves(
    path: Path,
    y: np.ndarray,
    probabilities: np.ndarray,
    labels: Sequence[str],
    *,
    thresholds: Sequence[float],
    title: str,
) -> bool:
    """Plot each label's precision-recall curve with its tuned threshold marked; False if matplotlib is absent."""
    try:
        import matplotlib  # noqa: PLC0415 - optional: the report is skipped where matplotlib is not installed

        matplotlib.use("Agg")
        from matplotlib import pyplot  # noqa: PLC0415
    except ImportError:
        return False
    figure, axes = pyplot.subplots(figsize=(6, 5))
    for j, label in enumerate(labels):
        precision, recall, cuts = precision_recall_curve(y[:, j], probabilities[:, j])
        (line,) = axes.plot(recall, precision, label=label)
        at = min(int(np.searchsorted(cuts, thresholds[j])), len(cuts) - 1)
        axes.plot(recall[at], precision[at], "o", color=line.get_color())
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1.01), ylim=(0, 1.01), title=title)
    axes.legend(loc="lower left")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return True


def print_summary(card: ModelCard) -> None:
    """The model's version, and per label its threshold and cross-validated and held-out P, R and F1."""
    print(f"\nmodel {card.version}  ({card.data['rows']} paragraphs)")
    header = ("label", "threshold", "cv P", "cv R", "cv F1", "test P", "test R", "test F1")
    print("{:<14}{:>10}  {:>6} {:>6} {:>6}  {:>6} {:>6} {:>6}".format(*header))
    test = card.metrics["test"] or {"per_label": {}}
    for label in card.labels:
        cv, held = card.metrics["cv"]["per_label"][label], test["per_label"].get(label)
        row = f"{label:<14}{card.thresholds[label]:>10.3f}  " + _prf(cv)
        if held:
            row += "  " + _prf(held)
        print(row)
    for split in ("cv", "test"):
        figures = card.metrics[split]
        if figures:
            print(
                f"{split}: micro F1 {figures['micro_f1']:.3f}  macro F1 {figures['macro_f1']:.3f}  "
                f"Hamming loss {figures['hamming_loss']:.3f}"
            )


def _prf(figures: dict[str, Any]) -> str:
    return f"{figures['precision']:>6.3f} {figures['recall']:>6.3f} {figures['f1']:>6.3f}"
