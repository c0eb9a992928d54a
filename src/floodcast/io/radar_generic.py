"""Generic radar stacks: NetCDF / zarr (time, y, x) with xarray, GeoTIFF frames with rasterio.

Units come from the variable's ``units`` attribute (or ``units=``): mm/h as is,
kg m-2 s-1 (= mm/s) × 3600, mm or kg m-2 (depth per interval) × 60 / interval min,
dBZ through Marshall–Palmer. Anything else fails naming the file and variable.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from affine import Affine

from floodcast.errors import InputError
from floodcast.io.radar_pysteps import check_spacing
from floodcast.io.radar_sources import time_from_name
from floodcast.io.radar_units import dbz_to_mmh, depth_to_mmh

_X = ("x", "lon", "longitude", "easting", "projection_x_coordinate")
_Y = ("y", "lat", "latitude", "northing", "projection_y_coordinate")
_RATE = {"mm/h", "mm h-1", "mm hr-1", "mm/hr", "mm.h-1", "mm h**-1", "mm/hour"}
_FLUX = {"kg m-2 s-1", "mm/s", "mm s-1", "kg m**-2 s**-1"}
_DEPTH = {"mm", "kg m-2", "kg m**-2", "mm per interval"}
_DBZ = {"dbz", "dbz "}


def convert_units(
    values: np.ndarray, unit: str | None, interval_min: float | None, where: str
) -> np.ndarray:
    """Values in ``unit`` to mm/h (see module docstring); errors name ``where``."""
    if unit is None:
        raise InputError(f"{where}: no 'units' attribute; pass units= (mm/h, mm or dBZ)")
    u = unit.strip()
    if u in _RATE:
        return values.astype(np.float32, copy=False)
    if u in _FLUX:
        return (values * 3600.0).astype(np.float32)
    if u in _DEPTH:
        if not interval_min:
            raise InputError(
                f"{where}: unit {unit!r} is a depth per interval, but the "
                "interval is unknown (one frame and no 'accutime' attribute)"
            )
        return depth_to_mmh(values, interval_min).astype(np.float32)
    if u.lower() in _DBZ:
        return dbz_to_mmh(values).astype(np.float32)
    raise InputError(f"{where}: unknown rain unit {unit!r} (expected mm/h, kg m-2 s-1, mm, dBZ)")


def read_stack(
    files: list[Path],
    kind: str,
    *,
    t0=None,
    t1=None,
    units=None,
    variable=None,
    skip_bad: bool = False,
) -> dict:
    """Read a generic stack into the raw dict used by ``read_radar``; with ``skip_bad``
    unreadable files are left out (a gap) and listed in ``attrs["skipped"]``."""
    skipped: list[tuple[str, str]] = []
    if skip_bad:
        files = [f for f in files if _readable(f, skipped)]
        if not files:
            raise InputError(f"no readable radar file ({len(skipped)} unreadable)")
    if kind == "geotiff":
        raw = _read_geotiffs(files, t0, t1, units)
        raw["attrs"]["skipped"] = skipped
        return raw
    parts = [_read_xr(f, kind, variable, units) for f in files]
    parts.sort(key=lambda p: p["times"][0])
    first = parts[0]
    for p in parts[1:]:
        if p["rain"].shape[1:] != first["rain"].shape[1:]:
            raise InputError(
                f"{p['file']}: grid {p['rain'].shape[1:]} differs from "
                f"{first['rain'].shape[1:]} of {first['file']}"
            )
    rain = np.concatenate([p["rain"] for p in parts])
    times = np.concatenate([p["times"] for p in parts]).astype("datetime64[s]")
    names = [p["file"] for p in parts for _ in p["times"]]
    keep = np.ones(len(times), bool)
    if t0 is not None:
        keep &= times >= t0
    if t1 is not None:
        keep &= times <= t1
    if not keep.any():
        raise InputError(f"no frames between {t0} and {t1} in {files[0]}")
    rain, times, names = (
        rain[keep],
        times[keep],
        [n for n, k in zip(names, keep, strict=False) if k],
    )
    if len(np.unique(times)) != len(times):
        raise InputError(f"duplicate times in {sorted(set(names))}")
    check_spacing(list(times), [f"{n}@{t}" for n, t in zip(names, times, strict=False)])
    interval = float(np.diff(times).astype(float).min()) / 60 if len(times) > 1 else None
    rain = convert_units(
        rain, first["unit"], first["accutime"] or interval, f"{first['file']}:{first['var']}"
    )
    return {
        "rain": rain,
        "times": times,
        "transform": first["transform"],
        "crs": first["crs"],
        "cell_size": first["cell_size"],
        "attrs": {
            "files": names,
            "skipped": skipped,
            "flipped": first["flipped"],
            "unit_in": first["unit"],
            "variable": first["var"],
        },
    }


def _read_xr(path: Path, kind: str, variable: str | None, units: str | None) -> dict:
    import rioxarray  # noqa: F401
    import xarray as xr

    try:
        with warnings.catch_warnings():  # "no consolidated metadata": harmless here
            warnings.simplefilter("ignore", RuntimeWarning)
            ds = xr.open_zarr(path) if kind == "zarr" else xr.open_dataset(path)
    except Exception as exc:
        raise InputError(f"{path}: cannot open as {kind}: {exc}") from exc
    with ds:
        # zarr keeps the CF grid-mapping variable as data: make it a coordinate so
        # rioxarray finds the CRS through the variable's ``grid_mapping``.
        gms = {
            ds[v].attrs.get("grid_mapping") or ds[v].encoding.get("grid_mapping")
            for v in ds.data_vars
        }
        ds = ds.set_coords([v for v in ds.data_vars if v in gms or v == "spatial_ref"])
        if variable is None:
            cands = [v for v in ds.data_vars if _dim(ds[v].dims, _Y) and _dim(ds[v].dims, _X)]
            if not cands:
                raise InputError(
                    f"{path}: no data variable with y/x dimensions "
                    f"(variables: {list(ds.data_vars)})"
                )
            pref = [v for v in cands if v.lower() in ("rain", "precipitation", "rr", "rate")]
            variable = (pref or cands)[0]
        if variable not in ds:
            raise InputError(
                f"{path}: variable {variable!r} not found (variables: {list(ds.data_vars)})"
            )
        da = ds[variable]
        ydim, xdim = _dim(da.dims, _Y), _dim(da.dims, _X)
        tdims = [d for d in da.dims if d not in (ydim, xdim)]
        if len(tdims) > 1:
            raise InputError(f"{path}:{variable}: dims {da.dims}: expected (time, y, x)")
        if tdims:
            da = da.transpose(tdims[0], ydim, xdim)
            times = np.asarray(da[tdims[0]].values)
            if not np.issubdtype(times.dtype, np.datetime64):
                raise InputError(f"{path}:{tdims[0]}: time coordinate is not decoded as dates")
        else:
            t = time_from_name(path, None)
            if t is None:
                raise InputError(
                    f"{path}:{variable}: 2-D field with no time dimension and "
                    "no timestamp in the file name"
                )
            da, times = da.transpose(ydim, xdim).expand_dims("time"), np.array([t])
        rain = np.asarray(da.values, dtype=np.float32)
        unit = units or da.attrs.get("units")
        accutime = da.attrs.get("accutime") or ds.attrs.get("accutime")
        crs = da.rio.crs or ds.rio.crs
        tr, flipped = None, False
        if xdim in da.coords and ydim in da.coords and da.sizes[xdim] > 1 and da.sizes[ydim] > 1:
            x, y = np.asarray(da[xdim].values, float), np.asarray(da[ydim].values, float)
            if y[1] > y[0]:  # south-up: flip so row 0 = north
                rain, y, flipped = rain[:, ::-1], y[::-1], True
            dx, dy = x[1] - x[0], y[0] - y[1]
            if not (
                np.allclose(np.diff(x), dx, rtol=1e-4) and np.allclose(-np.diff(y), dy, rtol=1e-4)
            ):
                raise InputError(f"{path}:{variable}: x/y coordinates are not a regular grid")
            tr = Affine(dx, 0, x[0] - dx / 2, 0, -dy, y[0] + dy / 2)
    return {
        "rain": np.ascontiguousarray(rain),
        "times": times.astype("datetime64[s]"),
        "transform": tr,
        "crs": crs.to_string() if crs else None,
        "cell_size": _cell_m(tr, crs),
        "unit": unit,
        "accutime": accutime,
        "flipped": flipped,
        "file": str(path),
        "var": variable,
    }


def _dim(dims, names) -> str | None:
    for d in dims:
        if str(d).lower() in names:
            return d
    return None


def _cell_m(tr: Affine | None, crs) -> float:
    """Cell size in metres; degrees are converted at the grid's central latitude."""
    if tr is None:
        return float("nan")
    if crs is not None and crs.is_geographic:
        lat = tr.f  # top edge is close enough for a nominal size
        return abs(tr.a) * 111_320.0 * float(np.cos(np.radians(lat)))
    return abs(tr.a)


def _readable(path: Path, skipped: list) -> bool:
    """Open ``path`` and read its data once (GDAL for GeoTIFF, else xarray); False (and
    the reason appended to ``skipped``) if that fails."""
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import rasterio

            with rasterio.open(path) as src:
                src.read()
        else:
            import xarray as xr

            with xr.open_dataset(path) as ds:
                ds.load()
    except Exception as exc:
        skipped.append((str(path), f"unreadable ({type(exc).__name__}: {exc})"[:200]))
        return False
    return True


def _read_geotiffs(files: list[Path], t0, t1, units: str | None) -> dict:
    import rasterio

    timed = []
    for f in files:
        t = time_from_name(f, None)
        if t is None:
            raise InputError(f"{f}: no timestamp (YYYYmmddHHMM) in the GeoTIFF file name")
        if (t0 is None or t >= t0) and (t1 is None or t <= t1):
            timed.append((t, f))
    if not timed:
        raise InputError(f"no GeoTIFF frames between {t0} and {t1} in {files[0].parent}")
    timed.sort()
    check_spacing([t for t, _ in timed], [f for _, f in timed])
    frames, ref = [], None
    for _, f in timed:
        with rasterio.open(f) as src:
            if src.count != 1:
                raise InputError(f"{f}: {src.count} bands; one frame per GeoTIFF expected")
            a = src.read(1).astype(np.float32)
            if src.nodata is not None:
                a[a == src.nodata] = np.nan
            unit = units or src.tags().get("units") or (src.units[0] if src.units else None)
            crs = src.crs
            tr = src.transform if not src.transform.is_identity else None
            if tr is not None and tr.e > 0:
                # south-up: flip rows; the new top edge is the old last row's far edge
                a, tr = a[::-1], Affine(tr.a, tr.b, tr.c, tr.d, -tr.e, tr.f + tr.e * src.height)
        if ref is None:
            ref = (a.shape, tr, unit)
        elif a.shape != ref[0] or (tr is not None and not tr.almost_equals(ref[1])):
            raise InputError(f"{f}: grid differs from {timed[0][1]}")
        frames.append(a)
    times = np.array([t for t, _ in timed], dtype="datetime64[s]")
    interval = float(np.diff(times).astype(float).min()) / 60 if len(times) > 1 else None
    rain = convert_units(np.stack(frames), ref[2], interval, str(timed[0][1]))
    return {
        "rain": rain,
        "times": times,
        "transform": ref[1],
        "crs": crs.to_string() if crs else None,
        "cell_size": _cell_m(ref[1], crs),
        "attrs": {"files": [str(f) for _, f in timed], "skipped": [], "unit_in": ref[2]},
    }
