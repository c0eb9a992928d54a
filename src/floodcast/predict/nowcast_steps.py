"""STEPS ensemble (pysteps.nowcasts.steps, one set of AR(2) parameters, cascade statistics
and noise for the whole grid) on the dB field. Called from
:func:`floodcast.predict.nowcast.extrapolate` (method "steps", and where SSEPS cannot fit)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

import numpy as np

from floodcast import defaults
from floodcast.errors import InputError


def steps_db(
    db, velocity, n_steps, n_members, seed, thr_db, levels, cell_size_m, interval_s, options
) -> np.ndarray:
    """STEPS members [M, n_steps, y, x] in dB (AR(2), or AR(1) for frames too alike)."""
    from pysteps import nowcasts

    kw = {
        "n_ens_members": n_members,
        "precip_thr": thr_db,
        "n_cascade_levels": levels,
        "kmperpixel": cell_size_m / 1000.0,
        "timestep": interval_s / 60.0,
        **defaults.STEPS_OPTIONS,
        **(options or {}),
        "seed": seed,
        "num_workers": 1,
        "fft_method": "numpy",
    }
    kw.update(grid_mask(kw, db.shape[1:], cell_size_m, interval_s))
    steps = nowcasts.get_method("steps")
    return ar2_or_ar1(
        lambda fr, order: steps(fr, velocity, n_steps, ar_order=order, **kw), db, "STEPS"
    )


def grid_mask(kw: dict, shape: tuple[int, ...], cell_size_m: float, interval_s: float) -> dict:
    """No rain mask where pysteps' incremental one would cover the whole grid in one step.

    pysteps dilates the rain mask each step by a diamond of radius (n - 1) / 2 cells, n =
    mask_f * timestep / kmperpixel, built as a dense array: on rain already on a DEM grid of
    2 m cells (5-min frames, n = 2,500) the dilation runs out of memory. A diamond that
    reaches every cell from any wet one (radius >= ny + nx - 2) masks nothing, so the
    result is the same without it."""
    if kw.get("mask_method") != "incremental":
        return {}
    mask_f = float((kw.get("mask_kwargs") or {}).get("mask_f", 1.0))
    n = mask_f * (interval_s / 60.0) / (cell_size_m / 1000.0)
    return {"mask_method": None} if int((n - 1) / 2.0) >= sum(shape) - 2 else {}


def ar2_or_ar1(forecast: Callable[[np.ndarray, int], np.ndarray], db, name: str) -> np.ndarray:
    """``forecast(frames, ar_order)`` on the last 3 dB frames with AR(2), or on the last 2
    with AR(1) when they are too alike for an AR(2) fit (lag-1 = lag-2 correlation: a
    singular Yule-Walker system); pysteps' long log silenced. Serves STEPS and SSEPS."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return np.asarray(forecast(db[-3:], 2))
    except np.linalg.LinAlgError:
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                return np.asarray(forecast(db[-2:], 1))
        except (np.linalg.LinAlgError, ValueError) as exc:
            raise InputError(
                f"{name} failed on these frames ({exc}; identical frames?); "
                "use method='extrapolation'"
            ) from exc
