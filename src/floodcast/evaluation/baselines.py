"""Baselines every model must beat, fitted on the training split only.

- all-dry: predict dry everywhere (what 83 % "accuracy" really measured).
- climatology: wet where the pixel was wet in more than half of the training samples
  of the same terrain tile.
- terrain heuristic: wet where (rain accumulated since the event began, mm) x
  (upslope contributing area, cells; pysheds D8) exceeds a threshold fitted on the
  training split for the best CSI.
"""

from __future__ import annotations

import numpy as np

from floodcast.metrics import Contingency

BASELINES = ("all_dry", "climatology", "terrain_heuristic")


def contributing_area(elevation: np.ndarray, cell_size: float) -> np.ndarray:
    """Upslope contributing area (number of cells, >= 1) by D8 on the conditioned DEM (pysheds)."""
    from affine import Affine
    from pysheds.grid import Grid
    from pysheds.sview import Raster, ViewFinder

    if not hasattr(np, "in1d"):  # pysheds 0.5 still calls np.in1d, removed in NumPy 2.4
        np.in1d = lambda a, b, **kw: np.isin(np.ravel(a), b, **kw)  # type: ignore[attr-defined]
    z = np.asarray(elevation, dtype=np.float64)
    z = np.where(np.isfinite(z), z, np.nanmax(z) + 1.0)
    vf = ViewFinder(affine=Affine(cell_size, 0, 0, 0, -cell_size, 0), shape=z.shape, nodata=-9999.0)
    grid = Grid(viewfinder=vf)
    dem = Raster(z, viewfinder=vf)
    cond = grid.resolve_flats(grid.fill_depressions(grid.fill_pits(dem)))
    fdir = grid.flowdir(cond)
    acc = grid.accumulation(fdir)
    return np.maximum(np.asarray(acc, dtype=np.float64), 1.0)


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
