"""One-dict summary of a RadarSequence, for ``floodcast radar info`` and reports."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from floodcast.io.radar import RadarSequence


def summarize(seq: RadarSequence) -> dict:
    """Numbers for ``floodcast radar info``: frames, interval, grid, coverage, max, gaps."""
    finite = np.isfinite(seq.rain_mmh)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mx = float(np.nanmax(seq.rain_mmh)) if finite.any() else float("nan")
        mean = float(np.nanmean(seq.rain_mmh)) if finite.any() else float("nan")
    return {
        "source": seq.source,
        "frames": int(seq.shape[0]),
        "start": str(seq.times[0]),
        "end": str(seq.times[-1]),
        "interval_s": seq.interval_s,
        "grid": f"{seq.shape[1]} x {seq.shape[2]} (y, x)",
        "cell_size_m": seq.cell_size,
        "crs": seq.crs,
        "extent": tuple(round(v, 3) for v in seq.extent),
        "coverage": float(finite.mean()),
        "max_rate_mmh": mx,
        "mean_rate_mmh": mean,
        "n_clipped": seq.n_clipped,
        "gaps": [(str(a), str(b)) for a, b in seq.gaps()],
        "skipped": seq.attrs.get("skipped", []),
        "units_in": seq.attrs.get("unit_in"),
        "flipped": seq.attrs.get("flipped", False),
    }
