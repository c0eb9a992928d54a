"""Flood-map verification metrics from a 2x2 contingency table.

One module used by the solver checks, training, evaluation and serving alike.
Counts accumulate over batches (as pysteps' verification does), so a metric over a
whole test split is computed from summed counts, never averaged per sample.

Formulas (hits a, false alarms b, misses c, correct negatives d, n = a+b+c+d):
    accuracy = (a + d) / n
    all-dry accuracy = (b + d) / n          (predict dry everywhere)
    CSI = a / (a + b + c)                   (critical success index)
    POD = a / (a + c)                       (probability of detection)
    FAR = b / (a + b)                       (false alarm ratio)
    bias = (a + b) / (a + c)                (frequency bias)
    F1 = 2a / (2a + b + c)
    MCC = (a d - b c) / sqrt((a+b)(a+c)(b+d)(c+d))
Undefined ratios (0/0) are NaN, never silently 0 or 1.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from floodcast.defaults import PROB_BINS, PROB_CUT
from floodcast.errors import InputError

FORMULAS = {
    "accuracy": "(hits + correct_negatives) / n",
    "all_dry_accuracy": "(false_alarms + correct_negatives) / n",
    "csi": "hits / (hits + misses + false_alarms)",
    "pod": "hits / (hits + misses)",
    "far": "false_alarms / (hits + false_alarms)",
    "bias": "(hits + false_alarms) / (hits + misses)",
    "f1": "2 hits / (2 hits + misses + false_alarms)",
    "mcc": "(hits*cn - fa*misses) / sqrt((hits+fa)(hits+misses)(fa+cn)(misses+cn))",
}


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den > 0 else math.nan


@dataclass
class Contingency:
    """Accumulating 2x2 table of wet (positive) / dry (negative) cells."""

    hits: int = 0
    false_alarms: int = 0
    misses: int = 0
    correct_negatives: int = 0

    @classmethod
    def from_masks(cls, pred: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None):
        """Build a table from boolean wet masks of equal shape (``valid`` masks cells out)."""
        pred = np.asarray(pred, dtype=bool)
        truth = np.asarray(truth, dtype=bool)
        if pred.shape != truth.shape:
            raise ValueError(f"prediction shape {pred.shape} != truth shape {truth.shape}")
        if valid is not None:
            valid = np.asarray(valid, dtype=bool)
            pred, truth = pred[valid], truth[valid]
        a = int(np.count_nonzero(pred & truth))
        b = int(np.count_nonzero(pred & ~truth))
        c = int(np.count_nonzero(~pred & truth))
        d = int(pred.size - a - b - c)
        return cls(a, b, c, d)

    def update(self, other: Contingency) -> Contingency:
        self.hits += other.hits
        self.false_alarms += other.false_alarms
        self.misses += other.misses
        self.correct_negatives += other.correct_negatives
        return self

    def __add__(self, other: Contingency) -> Contingency:
        return Contingency(**asdict(self)).update(other)

    @property
    def n(self) -> int:
        return self.hits + self.false_alarms + self.misses + self.correct_negatives

    def scores(self) -> dict[str, float]:
        """All scores as a dict (NaN where undefined)."""
        a, b, c, d = self.hits, self.false_alarms, self.misses, self.correct_negatives
        den = math.sqrt(float(a + b) * (a + c) * (b + d) * (c + d))
        return {
            "accuracy": _ratio(a + d, self.n),
            "all_dry_accuracy": _ratio(b + d, self.n),
            "csi": _ratio(a, a + b + c),
            "pod": _ratio(a, a + c),
            "far": _ratio(b, a + b),
            "bias": _ratio(a + b, a + c),
            "f1": _ratio(2 * a, 2 * a + b + c),
            "mcc": _ratio(a * d - b * c, den),
            "wet_fraction_truth": _ratio(a + c, self.n),
            "wet_fraction_pred": _ratio(a + b, self.n),
        }


def scores(
    pred: np.ndarray, truth: np.ndarray, valid: np.ndarray | None = None
) -> dict[str, float]:
    """Scores of boolean wet masks ``pred`` against ``truth``."""
    return Contingency.from_masks(pred, truth, valid).scores()


def csi(pred: np.ndarray, truth: np.ndarray) -> float:
    """Critical success index of two boolean masks."""
    return scores(pred, truth)["csi"]


# --- probability histograms and the best-CSI cut (used by training and calibration) ---


def prob_histogram(prob: np.ndarray, wet: np.ndarray) -> np.ndarray:
    """Counts [2, PROB_BINS] of the wet probability of truly dry (row 0) and truly wet
    (row 1) cells, in equal bins over [0, 1] (p = 1 in the last bin)."""
    b = (
        np.minimum(
            (np.asarray(prob, np.float64).ravel() * PROB_BINS).astype(np.int64), PROB_BINS - 1
        )
        + PROB_BINS * np.asarray(wet, bool).ravel()
    )
    return np.bincount(b, minlength=2 * PROB_BINS).reshape(2, PROB_BINS)


def fit_cut(wet_hist: np.ndarray, dry_hist: np.ndarray) -> dict:
    """The probability cut with the best CSI from histograms over [0, 1] of the wet
    probability of truly wet (``wet_hist``) and truly dry (``dry_hist``) cells.

    Cells with probability above bin edge i are called wet, so for cut i: hits = wet
    cells in bins >= i, false alarms = dry cells in bins >= i, misses = wet cells below.
    """
    wet = np.asarray(wet_hist, np.float64)
    dry = np.asarray(dry_hist, np.float64)
    if wet.shape != dry.shape or wet.ndim != 1:
        raise InputError(f"histograms must be 1-D and alike; got {wet.shape} and {dry.shape}")
    if wet.sum() == 0:
        raise InputError("no wet cell in the calibration events: cannot fit a cut")
    hits = wet[::-1].cumsum()[::-1]  # wet cells at or above each bin
    fa = dry[::-1].cumsum()[::-1]
    misses = wet.sum() - hits
    csi = hits / np.maximum(hits + misses + fa, 1.0)
    edges = np.linspace(0.0, 1.0, len(wet) + 1)[:-1]
    i = int(np.argmax(csi))
    half = int(np.searchsorted(edges, PROB_CUT))
    return {
        "cut": float(edges[i]),
        "csi": float(csi[i]),
        "csi_at_default": float(csi[half]),
        "bias": float((hits[i] + fa[i]) / wet.sum()),
    }


TALLY_SCORES = ("csi", "pod", "far", "bias", "mcc")  # per threshold in Tally.report


class Tally:
    """Contingency tables per depth threshold (m) plus squared-error sums of depth maps, also
    over the flooded cells (above the lowest threshold in the prediction or the truth);
    ``merge`` pools them (downscaling evaluation, the depth-source fit)."""

    def __init__(self, thresholds: tuple[float, ...]):
        self.tabs = {t: Contingency() for t in thresholds}
        self.se = self.n = self.se_wet = self.n_wet = 0.0

    def add(self, pred: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> Tally:
        for t, tab in self.tabs.items():
            tab.update(Contingency.from_masks(pred > t, truth > t, valid))
        err = (pred - truth)[valid]
        wet = ((pred > min(self.tabs)) | (truth > min(self.tabs)))[valid]
        self.se += float((err**2).sum())
        self.n += err.size
        self.se_wet += float((err[wet] ** 2).sum())
        self.n_wet += int(wet.sum())
        return self

    def merge(self, other: Tally) -> Tally:
        for t in self.tabs:
            self.tabs[t].update(other.tabs[t])
        self.se += other.se
        self.n += other.n
        self.se_wet += other.se_wet
        self.n_wet += other.n_wet
        return self

    def report(self) -> dict:
        out = {}
        for t, tab in self.tabs.items():
            s = tab.scores()
            out.update({f"{k}@{t:g}": s[k] for k in TALLY_SCORES})
            out[f"wet_truth@{t:g}"] = tab.hits + tab.misses
        out["rmse_m"] = math.sqrt(self.se / self.n) if self.n else math.nan
        out["rmse_wet_m"] = math.sqrt(self.se_wet / self.n_wet) if self.n_wet else math.nan
        return out
