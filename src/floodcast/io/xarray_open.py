"""One way to open a NetCDF file or zarr store and find its axes, shared by the rain reader
(``io.rain``) and the generic radar reader (``io.radar_generic``)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from floodcast.errors import InputError

#: Dimension names taken as the grid's axes and as time, lower case (CF and common usage).
X_NAMES = ("x", "lon", "longitude", "easting", "projection_x_coordinate")
Y_NAMES = ("y", "lat", "latitude", "northing", "projection_y_coordinate")
TIME_NAMES = ("time", "t")


def find_dim(dims: Iterable[Any], names: tuple[str, ...]) -> Any | None:
    """The first of ``dims`` whose lower-case name is one of ``names``, else None."""
    for d in dims:
        if str(d).lower() in names:
            return d
    return None


def is_zarr(path: str | Path) -> bool:
    p = Path(path)
    return p.suffix.lower() == ".zarr" or p.is_dir()


def open_xarray(path: str | Path, what: str = "file") -> Any:
    """``xarray.Dataset`` of a NetCDF file or zarr store (by name: ``.zarr`` or a folder),
    with CF grid-mapping variables as coordinates so rioxarray finds the CRS.

    Raises:
        InputError: naming ``what`` and the file when xarray cannot open it.
    """
    import xarray as xr

    try:
        with warnings.catch_warnings():  # "no consolidated metadata": harmless here
            warnings.simplefilter("ignore", RuntimeWarning)
            ds = xr.open_zarr(path) if is_zarr(path) else xr.open_dataset(path)
    except Exception as exc:
        raise InputError(f"cannot read {what} {path}: {exc}") from exc
    # zarr keeps the CF grid-mapping variable as data: make it a coordinate
    gms = {
        ds[v].attrs.get("grid_mapping") or ds[v].encoding.get("grid_mapping") for v in ds.data_vars
    }
    return ds.set_coords([v for v in ds.data_vars if v in gms or v == "spatial_ref"])
