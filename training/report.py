"""The training report: one precision-recall curve per label, as a PNG beside the model card."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_curve


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
