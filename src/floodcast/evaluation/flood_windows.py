"""Which radar window the flood verification transplants onto the DEM (``--window``).

The DEM covers a window of a few radar cells; the verification puts it where it rains so
there is flooding to score. Where exactly is a choice that can favour one forecast:

* ``past`` (default): per start time, the rainiest window over the spin-up frames up to and
  including the start -- only what a forecaster knows at issue time. Cores that decay after
  the start count against every forecast alike.
* ``sequence``: one window for the whole sequence, the rainiest over *all* its frames,
  including the ones after each start (the truth). That picks where the cores did persist,
  which favours forecasts that hold intensity (extrapolation, persistence) over ones that
  regress to the mean (STEPS); kept to compare with the v1/v2 results.
"""

from __future__ import annotations

import numpy as np

from floodcast.errors import InputError

WINDOW_MODES = ("past", "sequence")


def check_window_mode(mode: str) -> None:
    """An unknown ``--window`` is an error naming the option and the valid modes."""
    if mode not in WINDOW_MODES:
        raise InputError(f"--window must be one of {list(WINDOW_MODES)}, got {mode!r}")


def rainiest_window(rain: np.ndarray, rows: float, cols: float) -> tuple[float, float]:
    """(row0, col0) of the ``rows`` x ``cols`` window (radar cells) with the most rain summed
    over the frames of ``rain`` [t, Y, X], among windows fully covered in every frame."""
    from scipy.ndimage import uniform_filter

    tot = np.nansum(rain, 0)
    cover = np.isfinite(rain).all(0).astype(float)
    h, w = max(1, int(np.ceil(rows))), max(1, int(np.ceil(cols)))
    s = uniform_filter(tot, (h, w), mode="constant")
    c = uniform_filter(cover, (h, w), mode="constant")
    s[c < 0.999] = -1
    hh, ww = h // 2, w // 2
    s[:hh], s[tot.shape[0] - (h - hh) + 1 :] = -1, -1
    s[:, :ww], s[:, tot.shape[1] - (w - ww) + 1 :] = -1, -1
    i, j = np.unravel_index(int(np.argmax(s)), s.shape)
    if s[i, j] < 0:
        raise InputError("no fully covered radar window of the DEM's size")
    return float(i - hh), float(j - ww)


def issue_window(
    rain: np.ndarray, start: int, spin_frames: int, rows: float, cols: float, mode: str = "past"
) -> tuple[float, float]:
    """The window of start ``start`` (index of the last observed frame of ``rain``).

    ``past`` reads only frames ``start - spin_frames + 1 .. start`` (coverage too: radar
    footprints are fixed, so the future frames' coverage is the same); ``sequence`` reads
    every frame (see the module docstring)."""
    check_window_mode(mode)
    if mode == "sequence":
        return rainiest_window(rain, rows, cols)
    lo = max(0, start - max(int(spin_frames), 1) + 1)
    return rainiest_window(rain[lo : start + 1], rows, cols)


def window_crop(rain: np.ndarray, row0: float, col0: float, rows: float, cols: float, pad: float):
    """(crop, row0, col0): ``rain`` [t, Y, X] cut to the window plus ``pad`` radar cells on
    every side (clipped to the grid), and the window's origin inside the crop."""
    p = int(np.ceil(pad))
    r0, c0 = max(0, int(row0) - p), max(0, int(col0) - p)
    r1 = min(rain.shape[1], int(np.ceil(row0 + rows)) + p + 1)
    c1 = min(rain.shape[2], int(np.ceil(col0 + cols)) + p + 1)
    return rain[:, r0:r1, c0:c1], row0 - r0, col0 - c0
