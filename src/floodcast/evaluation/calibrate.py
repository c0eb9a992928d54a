"""The wet-probability cut, fitted on the validation events (never on the test events).

A model trained with class weights and wet oversampling does not put its CSI optimum at
p = 0.5: the 90-minute run measured a frequency bias of 0.68 on the test events, i.e. it
calls too few cells wet. ``calibrate`` scores the validation events exactly as the test
events are scored (whole grids, every frame from the event start, rolled out on the
model's own depth when autoregressive), counts the wet probability of truly wet and dry
cells, and keeps the cut with the best CSI. The cut travels in ``model.pt``
(``extra["cut"]``) and is the default of every command that maps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from floodcast.errors import InputError

PROB_BINS = 200
DEFAULT_CUT = 0.5


def model_cut(extra: dict) -> float:
    """The cut a model file carries (``extra["cut"]``), else 0.5."""
    return float(extra.get("cut", DEFAULT_CUT))


def prob_histogram(prob: np.ndarray, wet: np.ndarray) -> np.ndarray:
    """Counts [2, PROB_BINS] of the wet probability of truly dry (row 0) and truly wet
    (row 1) cells, in equal bins over [0, 1] (p = 1 in the last bin)."""
    b = np.minimum((np.asarray(prob, np.float64).ravel() * PROB_BINS).astype(np.int64),
                   PROB_BINS - 1) + PROB_BINS * np.asarray(wet, bool).ravel()
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
    half = int(np.searchsorted(edges, DEFAULT_CUT))
    return {"cut": float(edges[i]), "csi": float(csi[i]), "csi_at_default": float(csi[half]),
            "bias": float((hits[i] + fa[i]) / wet.sum())}


def calibrate(model_path: str | Path, data: str, split: str = "val",
              max_events: int | None = None, write: bool = True, start: int = 0,
              steps: int | None = None) -> dict:
    """Fit the cut of ``model_path`` on ``split`` of the store ``data`` and (``write``) store
    it in the model file, atomically. Returns the fit (cut, CSI at it and at 0.5, bias).

    ``start``/``steps`` choose the rollouts scored, as in ``rollout_scores``: an
    autoregressive model meant to take over from a running simulation is calibrated on
    hot-started rollouts (``start > 0``), one meant to run from a dry start on cold ones.
    """
    from floodcast.evaluation.rollout import rollout_scores
    from floodcast.models.checkpoint import save_model
    from floodcast.predict.mapper import FloodMapper

    if split == "test":
        raise InputError("calibrating on the test split would leak it into the scores; use val")
    mapper = FloodMapper.load(model_path)
    hist = np.zeros((2, PROB_BINS), np.int64)

    def count(fm, truth: np.ndarray, valid: np.ndarray, _event: str) -> None:
        hist[:] += prob_histogram(fm.probability[valid], truth[valid])

    res = rollout_scores(mapper, data, split, max_events=max_events, on_map=count, start=start,
                         steps=steps)
    fit = {**fit_cut(hist[1], hist[0]), "split": split, "events": len(res["events"]),
           "data": str(data), "start": start, "steps": res["steps"]}
    if write:
        save_model(mapper.model, model_path, {**mapper.extra, "cut": fit["cut"], "cut_fit": fit})
    return fit
