"""Rain for inference on a DEM grid: from a rain file or from radar in its own projection."""

from __future__ import annotations

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem


def rain_from_file(spec: str, dem: Dem) -> tuple[np.ndarray, float]:
    """Frames [t, y, x] (mm/h) on the DEM grid and the frame interval (s) from a rain file."""
    from floodcast.io.rain import read_rain

    series = read_rain(spec, dem)
    rates = np.asarray(series.rates_mmh, np.float32)
    if rates.ndim == 1:  # uniform hyetograph
        rates = np.broadcast_to(rates[:, None, None], (len(rates),) + dem.shape).copy()
    times = np.asarray(series.times_s, float)
    if len(times) < 2:
        raise InputError(f"{spec}: need at least 2 frames to know the radar interval")
    interval = float(np.median(np.diff(times)))
    return rates, interval


def radar_on_dem(seq, dem: Dem) -> np.ndarray:
    """Reproject a RadarSequence onto the DEM grid (bilinear); NaN where radar has no coverage."""
    if not dem.georeferenced:
        raise InputError(
            f"{dem.source}: the DEM has no CRS, so radar cannot be placed on it; "
            "give rain already on the DEM grid (--rain FILE)"
        )
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    import xarray as xr
    from rasterio.enums import Resampling

    ds = seq.to_xarray()
    ny, nx = dem.shape
    tr = dem.transform
    target = xr.DataArray(
        np.zeros((ny, nx), np.float32),
        dims=("y", "x"),
        coords={"y": tr.f + tr.e * (np.arange(ny) + 0.5), "x": tr.c + tr.a * (np.arange(nx) + 0.5)},
    ).rio.write_crs(dem.crs)
    out = ds["rain"].rio.reproject_match(target, resampling=Resampling.bilinear, nodata=np.nan)
    arr = np.asarray(out.values, np.float32)
    if np.isnan(arr).all():
        raise InputError(f"radar ({seq.source}) does not cover the DEM {dem.source}")
    return arr


def read_depth_map(path: str, dem: Dem) -> np.ndarray:
    """A depth map (m) on the DEM grid: a raster the DEM readers read, or ``.npz`` with
    ``depth``; NaN (nodata) becomes 0 m."""
    from floodcast.io.dem import read_dem

    arr = read_dem(path).elevation if not path.endswith(".npz") else np.load(path)["depth"]
    arr = np.nan_to_num(np.asarray(arr, np.float32))
    if arr.shape != dem.shape:
        raise InputError(f"{path}: depth grid {arr.shape} != DEM grid {dem.shape}")
    return arr
