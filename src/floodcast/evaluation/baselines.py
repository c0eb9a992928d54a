"""Baselines every model must beat, fitted on the training split only.

- all-dry: predict dry everywhere (what 83 % "accuracy" really measured).
- climatology: wet where the pixel was wet in more than half of the training samples
  of the same terrain tile.
- terrain heuristic: wet where (rain accumulated since the event began, mm) x
  (upslope contributing area, cells; D8) exceeds a threshold fitted on the
  training split for the best CSI.
"""

from __future__ import annotations

import numpy as np

from floodcast.io.dem_tools import contributing_area  # noqa: F401  (re-exported)
from floodcast.metrics import Contingency

BASELINES = ("all_dry", "climatology", "terrain_heuristic")


class Climatology:
    """Per-pixel wet frequency of each terrain tile over the training samples."""

    def __init__(self) -> None:
        self.count: dict[tuple, np.ndarray] = {}
        self.n: dict[tuple, int] = {}

    def add(self, key: tuple, wet: np.ndarray) -> None:
        if key not in self.count:
            self.count[key] = np.zeros(wet.shape, np.int64)
            self.n[key] = 0
        self.count[key] += wet
        self.n[key] += 1

    def predict(self, key: tuple, shape: tuple[int, int]) -> np.ndarray:
        if key not in self.count:  # unseen terrain: climatology knows nothing -> dry
            return np.zeros(shape, bool)
        return self.count[key] > 0.5 * self.n[key]


class TerrainHeuristic:
    """wet = accumulated rain (mm) x contributing area (cells) > threshold (fitted)."""

    def __init__(self, candidates: np.ndarray | None = None) -> None:
        self.candidates = candidates if candidates is not None else np.logspace(0, 7, 57)
        self.tables = [Contingency() for _ in self.candidates]
        self.threshold: float | None = None

    def add(self, score: np.ndarray, wet: np.ndarray) -> None:
        for thr, tab in zip(self.candidates, self.tables, strict=False):
            tab.update(Contingency.from_masks(score > thr, wet))

    def fit(self) -> float:
        csis = [t.scores()["csi"] for t in self.tables]
        csis = [-1.0 if np.isnan(c) else c for c in csis]
        self.threshold = float(self.candidates[int(np.argmax(csis))])
        return self.threshold

    def predict(self, score: np.ndarray) -> np.ndarray:
        if self.threshold is None:
            raise RuntimeError("fit() the heuristic on the training split first")
        return score > self.threshold
