"""The recent radar frames of watch mode on the radar's own grid, around the DEM.

STEPS needs the rain on a grid wider than the DEM: on the DEM grid (a few km of 50 m
cells) rain moving at 25 km/h crosses the whole grid within the two intervals STEPS'
AR(2) model looks back, pysteps' alignment of the older frames then leaves them all NaN
and the cascade fails ("x contains non-finite values"); rain coming in from outside the
DEM is missed, and the cascade on 50 m cells of a 1 km product is slow. So watch mode keeps,
beside the DEM-grid frames the live solver takes, the last few native frames cropped to
the window ``floodcast nowcast --radar`` uses (the DEM plus
:data:`floodcast.predict.radar_nowcast.MARGIN_KM`, by its own
:func:`~floodcast.predict.radar_nowcast.crop_around`), and the live ensemble runs
:func:`~floodcast.predict.radar_nowcast.radar_nowcast` on them.

The window is saved in the watcher's state file (same atomic write as the solver state, so
the two never disagree): a restarted server has the frames STEPS needs at once, even when
the watch folder has been cleaned up since, without reading native files again.
"""

from __future__ import annotations

from collections import deque

import numpy as np
from affine import Affine

from floodcast.io.radar import RadarSequence

RADAR_HISTORY = 4  # frames kept: STEPS' AR(2) needs 3; one more spans a single late file


class RadarWindow:
    """The last :data:`RADAR_HISTORY` radar frames on one cropped radar grid."""

    def __init__(self, maxlen: int = RADAR_HISTORY):
        self.frames: deque[tuple[int, np.ndarray]] = deque(maxlen=maxlen)  # (unix s, [y, x])
        self.grid: dict | None = None  # transform, crs, cell_size, source of the frames

    def __len__(self) -> int:
        return len(self.frames)

    def clear(self) -> None:
        self.frames.clear()
        self.grid = None

    def add(self, crop: RadarSequence) -> None:
        """Append a cropped sequence's frames; a different grid (source, window) starts
        the window afresh: frames on two grids cannot be one STEPS input."""
        grid = {
            "transform": list(crop.transform)[:6],
            "crs": crop.crs,
            "cell_size": float(crop.cell_size),
            "source": crop.source,
            "shape": list(crop.shape[1:]),
        }
        if grid != self.grid:
            self.clear()
            self.grid = grid
        last = self.frames[-1][0] if self.frames else None
        for t, fr in zip(crop.times, crop.rain_mmh, strict=True):
            unix = int(np.datetime64(t, "s").astype(np.int64))
            if last is not None and unix <= last:  # a re-sent or older frame: keep order
                continue
            self.frames.append((unix, np.array(fr, np.float32)))  # a copy, not a view
            last = unix

    def sequence(self) -> RadarSequence | None:
        """The frames since the last gap as one sequence (None when empty), NaN kept:
        ``radar_nowcast`` treats no coverage as ``nowcast --radar`` does."""
        if not self.frames:
            return None
        g = self.grid
        seq = RadarSequence(
            np.stack([f for _, f in self.frames]),
            np.array([t for t, _ in self.frames], "datetime64[s]"),
            Affine(*g["transform"]),
            g["crs"],
            g["cell_size"],
            g["source"],
            attrs={"clipped_per_frame": [0] * len(self.frames)},
        )
        return seq.split_at_gaps()[-1]  # STEPS across a missing file would mis-time motion

    # ------------------------------------------------------------------ persistence
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """(JSON-able meta, arrays) for the watcher's state file; empty when no frames."""
        if not self.frames:
            return {}, {}
        meta = {**self.grid, "unix": [t for t, _ in self.frames]}
        return meta, {"radar_history": np.stack([f for _, f in self.frames])}

    def restore(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        """Back from :meth:`to_state` output; ValueError when the two do not agree."""
        self.clear()
        if not meta:
            return
        hist = np.asarray(arrays["radar_history"], np.float32)
        unix = [int(t) for t in meta["unix"]]
        if hist.ndim != 3 or len(hist) != len(unix) or list(hist.shape[1:]) != meta["shape"]:
            raise ValueError(f"radar window {hist.shape} does not match its metadata")
        self.grid = {k: meta[k] for k in ("transform", "crs", "cell_size", "source", "shape")}
        self.frames.extend(zip(unix, hist, strict=True))
