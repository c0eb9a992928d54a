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
from numba import njit

from floodcast.metrics import Contingency

BASELINES = ("all_dry", "climatology", "terrain_heuristic")


def contributing_area(elevation: np.ndarray, cell_size: float) -> np.ndarray:
    """Upslope contributing area (cells, >= 1) by D8 steepest descent on the raw DEM.

    Pits are kept on purpose: they are where rain collects, which is what the
    heuristic wants to see. (pysheds does D8 too, but its first import compiles for
    minutes and it breaks on NumPy 2.4, too heavy for a baseline.)
    """
    z = np.asarray(elevation, dtype=np.float64)
    z = np.where(np.isfinite(z), z, np.inf)  # nodata never receives flow
    return _d8_accumulate(z, float(cell_size))


@njit(cache=True)
def _d8_accumulate(z: np.ndarray, dx: float) -> np.ndarray:
    ny, nx = z.shape
    acc = np.ones((ny, nx))
    order = np.argsort(-z.ravel())  # highest first: every donor is done before its receiver
    diag = dx * np.sqrt(2.0)
    for idx in order:
        i, j = idx // nx, idx % nx
        if not np.isfinite(z[i, j]):
            continue
        best, bi, bj = 0.0, -1, -1
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                ii, jj = i + di, j + dj
                if (di == 0 and dj == 0) or ii < 0 or jj < 0 or ii >= ny or jj >= nx:
                    continue
                drop = (z[i, j] - z[ii, jj]) / (diag if di != 0 and dj != 0 else dx)
                if drop > best:
                    best, bi, bj = drop, ii, jj
        if bi >= 0:
            acc[bi, bj] += acc[i, j]
    return acc


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
        for thr, tab in zip(self.candidates, self.tables):
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
