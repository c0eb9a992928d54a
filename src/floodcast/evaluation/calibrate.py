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

from floodcast.defaults import PROB_BINS
from floodcast.errors import InputError
from floodcast.metrics import fit_cut, prob_histogram


def calibrate(
    model_path: str | Path,
    data: str,
    split: str = "val",
    max_events: int | None = None,
    write: bool = True,
    start: int = 0,
    steps: int | None = None,
) -> dict:
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

    res = rollout_scores(
        mapper, data, split, max_events=max_events, on_map=count, start=start, steps=steps
    )
    fit = {
        **fit_cut(hist[1], hist[0]),
        "split": split,
        "events": len(res["events"]),
        "data": str(data),
        "start": start,
        "steps": res["steps"],
    }
    if write:
        save_model(mapper.model, model_path, {**mapper.extra, "cut": fit["cut"], "cut_fit": fit})
    return fit
