"""Flood maps from a trained model: input checks, tiling with overlap and blending.

``FloodMapper`` wraps a model and the facts its checkpoint carries (channels,
normalisation statistics, training cell sizes and radar interval) and refuses inputs
it was not trained for, saying what it expects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from floodcast.data.channels import DERIVED_CHANNELS, grid_key, manning_channel
from floodcast.data.samples import make_input, tile_origins
from floodcast.data.terrain import DemRouting
from floodcast.defaults import MANNING_N, PREDICT_TILE
from floodcast.errors import InputError
from floodcast.models.cut import model_cut
from floodcast.predict.postprocess import remove_isolated

CELL_SIZE_TOLERANCE = 2.0  # refuse grids more than 2x finer/coarser than any training DEM
INTERVAL_TOLERANCE = 0.25  # refuse radar intervals more than 25 % off the training interval


@dataclass
class FloodMap:
    probability: np.ndarray  # [y, x] wet probability
    wet: np.ndarray  # [y, x] bool after the probability cut (and postprocessing)
    depth: np.ndarray | None = None  # [y, x] m, when the model has a depth head
    cut: float = 0.5  # the wet-probability cut that made ``wet`` (recorded in metadata)


def _blend_weights(p: int, overlap: int) -> np.ndarray:
    """Tile weights: 1 in the centre, a sin² taper to ~0 across the overlap (max 1).

    Two tiles overlapping by ``overlap`` cells get weights sin² and cos² there, which sum
    to 1 (a partition of unity, as overlap-add with a Hann window): transitions between
    tiles are smooth, and a tile's own edge cells (where zero padding makes a conv net
    least reliable) carry almost no weight, so no seams show along tile edges. The
    linear ramp used before left 1/(overlap+1) of the weight on the edge cell; a
    Gaussian (MONAI's sliding window) needs a half-tile overlap to cross over smoothly.
    """
    if overlap <= 0:
        return np.ones((p, p), np.float32)
    i = np.arange(p, dtype=np.float64)
    edge = np.minimum(i, p - 1 - i)  # distance (cells) to the nearer tile edge
    t = np.where(edge < overlap, np.sin(0.5 * np.pi * (edge + 0.5) / overlap) ** 2, 1.0)
    return np.outer(t, t).astype(np.float32)


class FloodMapper:
    """Model + checkpoint facts -> flood maps on any DEM grid."""

    def __init__(self, model, extra: dict, patch: int | None = None, overlap: int | None = None):
        self.model = model.eval()
        self.extra = extra
        data = extra["data"]
        self.channels: list[str] = data["channels"]
        self.stats: dict = data["stats"]
        self.frames: int = int(data["spec"]["frames"])
        self.extras: list[str] = list(data["spec"]["extra_channels"])
        # Manning n of the mapped DEM (a number or an [H, W] grid) for a model with the
        # ``manning`` channel; callers with a land surface (serve --manning) set it
        self.manning: float | np.ndarray = MANNING_N
        from floodcast.data.reference_storm import check_settings

        check_settings(data, self.extras, "this model")
        self.threshold: float = float(data["spec"]["threshold"])
        # one tiling for predict, nowcast and serve: the training patch, at least PREDICT_TILE
        self.patch = int(patch or max(int(data["spec"]["patch"]), PREDICT_TILE))
        self.overlap = int(self.patch // 4 if overlap is None else overlap)
        self.cell_sizes = data.get("cell_sizes_m") or []
        self.intervals = data.get("intervals_s") or []
        self.postprocess = bool(extra.get("postprocess", False))
        # the wet-probability cut fitted on the validation events (``floodcast calibrate``)
        self.cut = model_cut(extra)
        # autoregressive models trained with --depth-residual predict the depth change
        self.residual = bool(getattr(getattr(model, "config", None), "depth_residual", False))
        self._routing_key: tuple | None = None  # DEM whose D8 routing is cached
        self._routing: DemRouting | None = None

    def take_manning(self, manning: float | np.ndarray, given: bool, name) -> str | None:
        """Set the n of the ``manning`` channel from a land surface; returns the note to show
        when the user ``given`` --manning/--landcover to a model (``name``) without it."""
        self.manning = manning
        if given and "manning" not in self.extras:
            return (
                f"note: {name} has no manning input channel; --manning/--landcover change nothing"
            )
        return None

    @classmethod
    def load(cls, path: str | Path, **kw) -> FloodMapper:
        from floodcast.models.checkpoint import load_model

        model, extra = load_model(path)
        if "data" not in extra:
            raise InputError(
                f"{path}: no training-data facts in the checkpoint (not from `floodcast train`)"
            )
        return cls(model, extra, **kw)

    def describe(self) -> str:
        return (
            f"{self.frames} rain frames (mm/h) every {self.intervals or '?'} s + DEM "
            f"(cells {self.cell_sizes or '?'} m) + {self.extras or 'no state channels'}"
        )

    def check(self, n_frames: int, cell_size: float, interval_s: float | None) -> None:
        """Refuse inputs the model was not trained for, saying what it expects."""
        if n_frames < self.frames:
            raise InputError(
                f"got {n_frames} rain frames, the model needs the last {self.frames} "
                f"(it expects {self.describe()})"
            )
        if self.cell_sizes:
            lo, hi = min(self.cell_sizes), max(self.cell_sizes)
            if cell_size < lo / CELL_SIZE_TOLERANCE or cell_size > hi * CELL_SIZE_TOLERANCE:
                raise InputError(
                    f"DEM cell size {cell_size:.1f} m is far from the training cell "
                    f"sizes {self.cell_sizes} m; resample the DEM (model expects "
                    f"{self.describe()})"
                )
        if interval_s is not None and self.intervals:
            near = min(self.intervals, key=lambda v: abs(v - interval_s))
            if abs(interval_s - near) > INTERVAL_TOLERANCE * near:
                raise InputError(
                    f"radar interval {interval_s:.0f} s differs from the training "
                    f"intervals {self.intervals} s (model expects {self.describe()})"
                )

    def _derived(
        self, elevation: np.ndarray, cell_size: float, accum: np.ndarray, time_h: float
    ) -> dict[str, np.ndarray]:
        """Whole-grid derived channels; the DEM's routing is cached, as a served DEM is
        mapped many times."""
        names = [c for c in self.extras if c in DERIVED_CHANNELS]
        out = {}
        if "manning" in self.extras:
            out["manning"] = manning_channel(self.manning, np.shape(elevation))
        if not names:
            return out
        key = grid_key(elevation, cell_size)
        if self._routing_key != key:
            self._routing_key, self._routing = key, DemRouting(elevation, cell_size)
        return {**self._routing.grids(names, accum, time_h), **out}

    def warm_up(self, elevation: np.ndarray, cell_size: float) -> float:
        """Do the once-per-DEM work of the derived channels now (D8 routing, the uniform-storm
        runs of ``reference_depth`` / ``matched_depth``: seconds to minutes), so that the first
        map of this DEM does not pay it (``serve`` calls this at startup). Returns seconds."""
        t0 = time.perf_counter()
        self._derived(elevation, cell_size, np.zeros(np.shape(elevation), np.float32), 1.0)
        return time.perf_counter() - t0

    @torch.no_grad()
    def predict(
        self,
        rain: np.ndarray,
        elevation: np.ndarray,
        cell_size: float,
        interval_s: float,
        prev_depth: np.ndarray | None = None,
        cut: float | None = None,
        progress=None,
    ) -> FloodMap:
        """Map from rain frames [t, y, x] (mm/h, since the event began) on the DEM grid.

        The last ``frames`` frames are the input window; state channels use all frames.
        ``cut`` is the wet-probability cut (None: the model's calibrated cut, else 0.5).
        ``progress(done, total)`` is called after each batch of tiles (a progress bar).
        """
        cut = self.cut if cut is None else float(cut)
        rain = np.asarray(rain, np.float32)
        if rain.ndim != 3 or rain.shape[1:] != elevation.shape:
            raise InputError(
                f"rain {rain.shape} must be [t, y, x] on the DEM grid {elevation.shape}"
            )
        if np.isnan(rain).any():
            raise InputError(f"rain has {int(np.isnan(rain).sum())} NaN values (no coverage)")
        self.check(rain.shape[0], cell_size, interval_s)
        ny, nx = elevation.shape
        p = min(self.patch, ny, nx) if min(ny, nx) < self.patch else self.patch
        dt_h = interval_s / 3600.0
        win_all = rain[-self.frames :]
        accum = rain.sum(0) * dt_h
        t_h = rain.shape[0] * dt_h
        derived = self._derived(elevation, cell_size, accum, t_h)
        w = _blend_weights(p, min(self.overlap, p - 1))
        prob = np.zeros((ny, nx), np.float32)
        dep = np.zeros((ny, nx), np.float32)
        wsum = np.zeros((ny, nx), np.float32)
        rows = tile_origins(ny, p, min(self.overlap, p - 1))
        cols = tile_origins(nx, p, min(self.overlap, p - 1))
        batch, where = [], []
        has_depth = False
        for r in rows:
            for c in cols:
                sl = (slice(r, r + p), slice(c, c + p))
                prev = None if prev_depth is None else prev_depth[sl]
                batch.append(
                    make_input(
                        win_all[:, sl[0], sl[1]],
                        elevation[sl],
                        self.stats,
                        self.extras,
                        accum_tile=accum[sl],
                        time_h=t_h,
                        prev_depth=prev,
                        derived={c: g[sl] for c, g in derived.items()},
                    )
                )
                where.append(sl)
        for i in range(0, len(batch), 8):
            out = self.model(torch.from_numpy(np.stack(batch[i : i + 8])))
            pr = torch.softmax(out["logits"], 1)[:, 1].numpy()
            dp = out["depth"][:, 0].numpy() if "depth" in out else None
            has_depth = dp is not None
            for j, sl in enumerate(where[i : i + 8]):
                prob[sl] += pr[j] * w
                wsum[sl] += w
                if dp is not None:
                    dep[sl] += dp[j] * w
            if progress is not None:
                progress(min(i + 8, len(batch)), len(batch))
        prob /= np.maximum(wsum, 1e-12)
        depth = dep / np.maximum(wsum, 1e-12) if has_depth else None
        if depth is not None and self.residual:
            # the head predicts the change over the interval (autoregressive models)
            base = 0.0 if prev_depth is None else np.asarray(prev_depth, np.float32)
            depth = np.maximum(base + depth, 0.0)
        wet = prob > cut
        if self.postprocess:
            wet = remove_isolated(wet)
        wet &= np.isfinite(elevation)
        return FloodMap(prob, wet, depth, cut)
