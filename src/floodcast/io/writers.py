"""Writers for simulation outputs: NetCDF depth series, mass-balance CSV, JSON (GeoTIFFs:
:mod:`floodcast.io.geotiff`).

Every writer builds its file under a temporary name beside the target and renames it
when complete (:func:`floodcast.io.atomic.atomic_path`), so readers never see half a file.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.io.atomic import atomic_path
from floodcast.io.dem import Dem

MASS_COLUMNS = (
    "time_s",
    "rain_in_m3",
    "inflow_m3",
    "boundary_out_m3",
    "infiltration_m3",
    "initial_m3",
    "stored_m3",
    "relative_error",
    "clipped_m3",
    "drainage_m3",
    "outlet_out_m3",
)


def grid_coords(dem: Dem) -> tuple[np.ndarray, np.ndarray, str]:
    """Cell-centre x [nx] and y [ny] coordinates (row 0 = north) and their units.

    Georeferenced grids use their CRS coordinates; otherwise local metres from the
    south-west corner (as an ESRI ASCII file with a zero origin would give).
    """
    ny, nx = dem.shape
    if dem.transform is not None:
        t = dem.transform
        x = t.c + t.a * (np.arange(nx) + 0.5)
        y = t.f + t.e * (np.arange(ny) + 0.5)
        units = "degrees" if dem.crs and "4326" in dem.crs else "m"
        return x, y, units
    c = dem.cell_size
    return (np.arange(nx) + 0.5) * c, (ny - np.arange(ny) - 0.5) * c, "m"


def _plain(value: Any) -> Any:
    """A JSON/NetCDF-attribute friendly version of ``value``."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_depth_netcdf(
    path: str | os.PathLike,
    times_s: np.ndarray,
    depth: np.ndarray,
    max_depth: np.ndarray,
    dem: Dem,
    attrs: Mapping[str, Any] | None = None,
    start_time: Any | None = None,
) -> Path:
    """Write ``depth(time, y, x)`` and ``max_depth(y, x)`` (m) as a CF-1.8 NetCDF file.

    GDAL/QGIS read it georeferenced (``NETCDF:depth.nc:max_depth``), xarray with
    ``decode_coords="all"`` gives the CRS (see :mod:`floodcast.io.cf`).

    Args:
        times_s: [n] save times (s from the run start).
        depth: [n, y, x] water depth (m). max_depth: [y, x] (m).
        dem: grid of the run (coords, CRS); its elevation is stored as ``elevation``.
        attrs: global attributes (solver settings…); nested values are stored as JSON.
        start_time: the run start (the radar's first time) for ``seconds since``;
            None: a nominal 1970-01-01 origin, said in the time's comment.
    """
    depth = np.asarray(depth, np.float32)
    if depth.ndim != 3 or depth.shape[1:] != tuple(dem.shape) or depth.shape[0] != len(times_s):
        raise ValueError(
            f"depth {depth.shape} does not match times {len(times_s)} x DEM {dem.shape}"
        )
    ds = depth_dataset(times_s, depth, max_depth, dem, start_time)
    ds.attrs.update(netcdf_attrs(attrs or {}))
    write_cf_netcdf(ds, path, ("depth", "max_depth", "elevation"))
    return Path(path)


def netcdf_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Attributes netCDF can store: bools as 0/1, nested values and None as JSON."""
    out = {}
    for key, value in attrs.items():
        value = _plain(value)
        if isinstance(value, bool):  # netCDF attributes have no boolean type
            value = int(value)
        out[key] = json.dumps(value) if isinstance(value, (dict, list)) or value is None else value
    return out


def depth_dataset(
    times_s: np.ndarray,
    depth: np.ndarray,
    max_depth: np.ndarray,
    dem: Dem,
    start_time: Any | None = None,
) -> Any:
    """The CF ``xarray.Dataset`` of a run (what :func:`write_depth_netcdf` writes)."""
    import xarray as xr

    from floodcast.io.cf import make_cf, time_coord

    x, y, _ = grid_coords(dem)
    tvals, tattrs, tenc = time_coord(times_s, start_time)
    ds = xr.Dataset(
        {
            "depth": (
                ("time", "y", "x"),
                np.asarray(depth, np.float32),
                {"units": "m", "long_name": "water depth"},
            ),
            "max_depth": (
                ("y", "x"),
                np.asarray(max_depth, np.float32),
                {"units": "m", "long_name": "maximum water depth over the run"},
            ),
            "elevation": (
                ("y", "x"),
                dem.elevation.astype(np.float32),
                {
                    "units": "m",
                    "long_name": "bed elevation (NaN = wall)",
                    "standard_name": "surface_altitude",
                },
            ),
        },
        coords={"time": ("time", tvals, tattrs), "y": ("y", y), "x": ("x", x)},
    )
    ds["time"].encoding.update(tenc)
    ds.attrs["cell_size_m"] = dem.cell_size
    if dem.crs:
        ds.attrs["crs"] = dem.crs
    return make_cf(ds, dem.crs, dem.transform if dem.crs else None)


def write_cf_netcdf(ds: Any, path: str | os.PathLike, compress: Iterable[str] = ()) -> Path:
    """Write a CF dataset atomically, compressing ``compress`` without losing encodings."""
    from floodcast.io.cf import cf_encoding

    enc = cf_encoding(ds, {v: {"zlib": True, "complevel": 4} for v in compress})
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, encoding=enc)
    return Path(path)


def write_rain_netcdf(
    path: str | os.PathLike,
    rates_mmh: np.ndarray,
    times_s: np.ndarray,
    dem: Dem,
    start_time: Any | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Path:
    """Write rain ``rain(time, y, x)`` (mm/h) on the DEM grid as CF-1.8 NetCDF.

    ``simulate --rain FILE.nc`` reads it back (frame k holds from ``time[k]`` to the
    next frame); GDAL reads it georeferenced (``NETCDF:FILE.nc:rain``). NaN means
    unknown rain (``simulate`` warns and uses 0 there).

    Args:
        rates_mmh: [t, y, x] rain rate (mm/h) on the DEM grid.
        times_s: [t] frame start times (s after ``start_time``).
        start_time: the time of frame 0 (e.g. the last radar frame of a nowcast);
            None: a nominal 1970-01-01 origin.
        attrs: global attributes (e.g. the nowcast method).
    """
    import xarray as xr

    from floodcast.io.cf import make_cf, time_coord

    rates = np.asarray(rates_mmh, np.float32)
    if rates.ndim != 3 or rates.shape[1:] != tuple(dem.shape) or rates.shape[0] != len(times_s):
        raise ValueError(
            f"rain {rates.shape} does not match times {len(times_s)} x DEM {dem.shape}"
        )
    x, y, _ = grid_coords(dem)
    tvals, tattrs, tenc = time_coord(times_s, start_time)
    ds = xr.Dataset(
        {
            "rain": (
                ("time", "y", "x"),
                rates,
                {
                    "units": "mm/h",
                    "long_name": "rainfall rate",
                    "comment": "frame k holds from time[k] until time[k+1]; NaN = unknown",
                },
            )
        },
        coords={"time": ("time", tvals, tattrs), "y": ("y", y), "x": ("x", x)},
    )
    ds["time"].encoding.update(tenc)
    ds.attrs.update({k: str(_plain(v)) for k, v in (attrs or {}).items()})
    ds = make_cf(ds, dem.crs, dem.transform if dem.crs else None)
    return write_cf_netcdf(ds, path, ("rain",))


def write_mass_csv(path: str | os.PathLike, rows: Iterable[Any]) -> Path:
    """Write mass-balance records (objects or dicts with :data:`MASS_COLUMNS`) as CSV.

    Volumes are m³ since the run start; ``relative_error`` is
    (in - out - change in storage) / (water in).
    """
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(MASS_COLUMNS)
        for r in rows:
            # a column the record lacks (e.g. outlet_out_m3 of an older record) is NaN
            get = (
                (lambda k, r=r: r.get(k, float("nan")))
                if isinstance(r, Mapping)
                else (lambda k, r=r: getattr(r, k, float("nan")))
            )
            w.writerow([f"{float(get(k)):.10g}" for k in MASS_COLUMNS])
    return Path(path)


def write_json(path: str | os.PathLike, data: Mapping[str, Any]) -> Path:
    """Write ``data`` as indented JSON (numpy values and paths converted)."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(_plain(data), indent=2) + "\n")
    return Path(path)
