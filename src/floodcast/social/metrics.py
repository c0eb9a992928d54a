"""Classification metrics and correlation helpers used by the social reports."""

from __future__ import annotations

import math

import numpy as np


def classification_metrics(y_true, y_pred, positive: str | None = None) -> dict:
    """Accuracy, macro-F1 and (when ``positive`` is given) precision/recall/F1 of it."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    y_true, y_pred = [str(v) for v in y_true], [str(v) for v in y_pred]
    out = {
        "n": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)) if y_true else float("nan"),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0))
        if y_true else float("nan"),
    }
    if positive is not None and y_true:
        p, r, f, _ = precision_recall_fscore_support(
            y_true, y_pred, labels=[positive], average=None, zero_division=0)
        out.update(precision=float(p[0]), recall=float(r[0]), f1=float(f[0]))
    return out


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
    po = sum(x == y for x, y in zip(a, b)) / n
    pe = sum((a.count(c) / n) * (b.count(c) / n) for c in labels)
    return float("nan") if math.isclose(pe, 1.0) else (po - pe) / (1 - pe)
