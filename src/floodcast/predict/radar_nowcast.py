"""Rain nowcast for a DEM from radar in its own projection: crop, extrapolate, reproject.

The extrapolation runs on the radar grid around the DEM (plus a margin, so rain that flows
in within the lead is on the grid), then observed and forecast frames are reprojected onto
the DEM grid together.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from floodcast.defaults import NOWCAST_MARGIN_KM
from floodcast.errors import InputError
from floodcast.predict.nowcast import extrapolate

MARGIN_KM = NOWCAST_MARGIN_KM  # radar kept around the DEM for extrapolation (defaults.py)


def radar_nowcast(seq, dem, steps, method, members, seed, flow, margin_km, report=None):
    """Extrapolate on the radar grid around the DEM, then reproject obs + forecast onto it
    (``report``: see :func:`floodcast.predict.nowcast.extrapolate`)."""
    from floodcast.predict.inputs import radar_on_dem

    crop = crop_around(seq, dem, margin_km)
    fc = extrapolate(
        crop.rain_mmh,
        steps,
        method=method,
        n_members=members,
        seed=seed,
        flow=flow,
        cell_size_m=crop.cell_size,
        interval_s=crop.interval_s,
        report=report,
    )
    ens = fc if fc.ndim == 4 else fc[None]
    n_obs = len(crop.times)
    stack = np.concatenate([crop.rain_mmh] + list(ens), 0)
    # one reprojection for all frames; the synthetic times only need to increase
    times = crop.times[0] + np.arange(len(stack)) * np.timedelta64(1, "s")
    on_dem = radar_on_dem(
        replace(
            crop,
            rain_mmh=stack,
            times=times,
            attrs={**crop.attrs, "clipped_per_frame": [0] * len(stack)},
        ),
        dem,
    )
    obs = on_dem[:n_obs]
    f = on_dem[n_obs:].reshape(ens.shape[0], steps, *dem.shape)
    return obs, (f if fc.ndim == 4 else f[0]), float(crop.interval_s)


def crop_around(seq, dem, margin_km: float):
    """The radar window covering the DEM plus ``margin_km`` (the whole grid if smaller)."""
    if not dem.georeferenced:
        raise InputError(
            f"{dem.source}: the DEM has no CRS, so radar cannot be placed on it; "
            "give rain already on the DEM grid (--rain FILE)"
        )
    from affine import Affine
    from rasterio.warp import transform_bounds

    from floodcast.predict.outputs import _transform

    ny, nx = dem.shape
    tr = _transform(dem)
    left, top = tr @ (0, 0)
    right, bottom = tr @ (nx, ny)
    bl, bb, br, bt = transform_bounds(
        dem.crs, seq.crs, min(left, right), min(top, bottom), max(left, right), max(top, bottom)
    )
    inv = ~seq.transform
    cols, rows = zip(
        *(inv @ (x, y) for x, y in ((bl, bb), (bl, bt), (br, bb), (br, bt))), strict=False
    )
    pad = int(np.ceil(margin_km * 1000.0 / seq.cell_size))
    sy, sx = seq.shape[1:]
    r0, r1 = max(0, int(np.floor(min(rows))) - pad), min(sy, int(np.ceil(max(rows))) + pad)
    c0, c1 = max(0, int(np.floor(min(cols))) - pad), min(sx, int(np.ceil(max(cols))) + pad)
    if r1 - r0 < 1 or c1 - c0 < 1:
        raise InputError(f"radar ({seq.source}) does not cover the DEM {dem.source}")
    if r1 - r0 < 16 or c1 - c0 < 16:  # too small for optical flow: widen to at least 16 cells
        r0, r1 = max(0, min(r0, sy - 16)), min(sy, max(r1, r0 + 16))
        c0, c1 = max(0, min(c0, sx - 16)), min(sx, max(c1, c0 + 16))
    return replace(
        seq,
        rain_mmh=seq.rain_mmh[:, r0:r1, c0:c1],
        transform=seq.transform @ Affine.translation(c0, r0),
    )
