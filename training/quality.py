"""Metrics on paragraphs a model was not trained on: per-label precision, recall, F1, and calibration."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, hamming_loss, precision_recall_fscore_support

CALIBRATION_BINS = 10


def label_metrics(y: np.ndarray, predicted: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Per label precision, recall, F1 and support, plus micro and macro F1 and Hamming loss."""
    precision, recall, f1, support = precision_recall_fscore_support(y, predicted, zero_division=0)
    return {
        "per_label": {
            label: {
                "precision": round(float(precision[j]), 4),
                "recall": round(float(recall[j]), 4),
                "f1": round(float(f1[j]), 4),
                "support": int(support[j]),
            }
            for j, label in enumerate(labels)
        },
        "micro_f1": round(float(f1_score(y, predicted, average="micro", zero_division=0)), 4),
        "macro_f1": round(float(f1_score(y, predicted, average="macro", zero_division=0)), 4),
        "hamming_loss": round(float(hamming_loss(y, predicted)), 4),
    }


def masked_metrics(y: np.ndarray, predicted: np.ndarray, keep: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """label_metrics counting only the cells where `keep` is true (labels marked optional count neither way)."""
    hits, guesses, truths = (y & predicted & keep), (predicted & keep), (y & keep)
    per_label, f1s = {}, []
    for j, label in enumerate(labels):
        tp, p, t = int(hits[:, j].sum()), int(guesses[:, j].sum()), int(truths[:, j].sum())
        precision, recall = (tp / p if p else 0.0), (tp / t if t else 0.0)
        f1 = 2 * tp / (p + t) if p + t else 0.0
        f1s.append(f1)
        per_label[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": t,
        }
    tp, p, t = int(hits.sum()), int(guesses.sum()), int(truths.sum())
    wrong = ((y != predicted) & keep).sum() / max(int(keep.sum()), 1)
    return {
        "per_label": per_label,
        "micro_f1": round(2 * tp / (p + t), 4) if p + t else 0.0,
        "macro_f1": round(float(np.mean(f1s)), 4),
        "hamming_loss": round(float(wrong), 4),
    }


def calibration(y: np.ndarray, probabilities: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """Per label the expected calibration error over equal-width bins, and the reliability table itself."""
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    report: dict[str, Any] = {}
    for j, label in enumerate(labels):
        bins = np.clip(np.digitize(probabilities[:, j], edges[1:-1]), 0, CALIBRATION_BINS - 1)
        table, error = [], 0.0
        for b in range(CALIBRATION_BINS):
            members = bins == b
            if not members.any():
                continue
            mean_score, positive_rate = float(probabilities[members, j].mean()), float(y[members, j].mean())
            error += members.mean() * abs(mean_score - positive_rate)
            table.append(
                {
                    "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                    "count": int(members.sum()),
                    "mean_score": round(mean_score, 4),
                    "positive_rate": round(positive_rate, 4),
                }
            )
        report[label] = {"ece": round(float(error), 4), "reliability": table}
    return report


def evaluate(
    y: np.ndarray, probabilities: np.ndarray, thresholds: Sequence[float], labels: Sequence[str]
) -> dict[str, Any]:
    """label_metrics at the given thresholds, with the calibration report under `calibration`."""
    predicted = (probabilities >= np.asarray(thresholds)).astype(np.int8)
    return {**label_metrics(y, predicted, labels), "calibration": calibration(y, probabilities, labels)}
