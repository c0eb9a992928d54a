"""Scores of text classifiers (relevance, information type, sentiment) and helpers.

Binary MCC comes from :class:`floodcast.metrics.Contingency` -- the same 2x2 maths as the
flood maps (the positive class plays "wet"); multi-class MCC, macro-F1, per-class F1 and
the confusion matrix come from scikit-learn. Every table puts the majority-class
baseline (:func:`majority_baseline`) beside each model: on a flood where 92 % of posts are
on-topic, "all on-topic" scores F1 0.95 and accuracy 0.92 but macro-F1 0.48 and MCC NaN.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np

from floodcast.metrics import Contingency


def majority_class(labels) -> str:
    """Most frequent label (ties broken alphabetically, so the choice is deterministic)."""
    counts = Counter(str(v) for v in labels)
    if not counts:
        raise ValueError("majority_class of an empty label list")
    return min(counts, key=lambda c: (-counts[c], c))


def majority_baseline(train_labels, n: int) -> list[str]:
    """Predict the training data's most frequent class for all ``n`` test posts."""
    return [majority_class(train_labels)] * n


def binary_mcc(y_true, y_pred, positive: str) -> float:
    """Matthews correlation of ``positive`` vs the rest (NaN when a margin is empty, as for
    a constant prediction)."""
    t = np.array([str(v) == positive for v in y_true])
    p = np.array([str(v) == positive for v in y_pred])
    if t.size == 0:
        return float("nan")
    return Contingency.from_masks(p, t).scores()["mcc"]


def classification_metrics(
    y_true, y_pred, positive: str | None = None, labels: list[str] | None = None
) -> dict:
    """Accuracy, macro-F1, MCC and F1 per class; precision/recall/F1 of ``positive``.

    ``labels`` fixes the classes macro-F1 averages over (default: those present in
    ``y_true`` or ``y_pred``). MCC is binary (via the 2x2 table) when ``positive`` is
    given, else scikit-learn's multi-class MCC (0 for a constant prediction).
    """
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        matthews_corrcoef,
        precision_recall_fscore_support,
    )

    y_true, y_pred = [str(v) for v in y_true], [str(v) for v in y_pred]
    classes = labels or sorted(set(y_true) | set(y_pred))
    out: dict = {"n": len(y_true)}
    if not y_true:
        return out | {
            "accuracy": math.nan,
            "macro_f1": math.nan,
            "mcc": math.nan,
            "f1_per_class": {},
        }
    per = f1_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
    out.update(
        accuracy=float(accuracy_score(y_true, y_pred)),
        macro_f1=float(np.mean(per)),
        f1_per_class={c: float(f) for c, f in zip(classes, per, strict=False)},
    )
    if positive is not None:
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=[positive], average=None, zero_division=0
        )
        out.update(
            precision=float(p[0]),
            recall=float(r[0]),
            f1=float(f[0]),
            mcc=binary_mcc(y_true, y_pred, positive),
        )
    else:
        out["mcc"] = float(matthews_corrcoef(y_true, y_pred))
    return out


def confusion(y_true, y_pred, labels: list[str]) -> list[list[int]]:
    """Confusion matrix as nested lists: row = true class, column = predicted class."""
    from sklearn.metrics import confusion_matrix

    m = confusion_matrix([str(v) for v in y_true], [str(v) for v in y_pred], labels=labels)
    return m.astype(int).tolist()


def pearson(x, y) -> float:
    """Pearson correlation; NaN when fewer than 3 pairs or a constant series."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def cohen_kappa(a, b) -> float:
    """Cohen's kappa between two label lists (NaN when empty)."""
    a, b = [str(v) for v in a], [str(v) for v in b]
    if not a:
        return float("nan")
    labels = sorted(set(a) | set(b))
    n = len(a)
    po = sum(x == y for x, y in zip(a, b, strict=False)) / n
    pe = sum((a.count(c) / n) * (b.count(c) / n) for c in labels)
    return float("nan") if math.isclose(pe, 1.0) else (po - pe) / (1 - pe)
