"""SSEPS ensemble (pysteps.nowcasts.sseps; the short-space approach of Nerini et al. 2017):
STEPS whose AR(2) parameters, cascade statistics and noise spectrum (short-space FFT) are
estimated in local windows of the radar grid instead of once for the whole grid. Called from
:func:`floodcast.predict.nowcast.extrapolate` (method "sseps") on the dB field."""

from __future__ import annotations

import numpy as np

from floodcast import defaults
from floodcast.predict.nowcast_steps import ar2_or_ar1, grid_mask


def window_cells(shape: tuple[int, ...], cell_size_m: float) -> int:
    """Localization window (cells): defaults.SSEPS_WIN_KM on this grid, at least
    SSEPS_MIN_WIN_CELLS and at most the grid's smaller side (then SSEPS is global)."""
    n = int(round(defaults.SSEPS_WIN_KM * 1000.0 / cell_size_m))
    return int(np.clip(n, defaults.SSEPS_MIN_WIN_CELLS, min(shape)))


def sseps_db(
    db: np.ndarray,
    velocity: np.ndarray,
    n_steps: int,
    n_members: int,
    seed: int | None,
    thr_db: float,
    zero_db: float,
    n_cascade_levels: int,
    cell_size_m: float,
    interval_s: float,
    options: dict | None = None,
) -> np.ndarray:
    """SSEPS members [M, n_steps, y, x] in dB from dB frames [>= 3, y, x] (finite).

    ``options`` override ``defaults.SSEPS_OPTIONS`` (pysteps sseps keywords, win_size in
    cells included). Like STEPS here, a fit that fails for AR(2) (frames too alike) is
    retried with AR(1)."""
    from pysteps import nowcasts

    meta = {
        "accutime": interval_s / 60.0,
        "xpixelsize": float(cell_size_m),
        "threshold": float(thr_db),
        "zerovalue": float(zero_db),
    }
    kw = {
        "n_ens_members": int(n_members),
        "n_cascade_levels": int(n_cascade_levels),
        "win_size": window_cells(db.shape[1:], cell_size_m),
        **defaults.SSEPS_OPTIONS,
        **(options or {}),
        "seed": seed,
        "num_workers": 1,
        "fft_method": "numpy",
    }
    kw.update(grid_mask(kw, db.shape[1:], cell_size_m, interval_s))
    fn = nowcasts.get_method("sseps")
    return ar2_or_ar1(
        lambda fr, order: fn(fr, meta, velocity, int(n_steps), ar_order=order, **kw), db, "SSEPS"
    )
