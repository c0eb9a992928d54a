"""GeoTIFF outputs: Cloud-Optimised GeoTIFFs on the DEM grid, one nodata for every raster.

Every GeoTIFF floodcast writes (simulate's ``max_depth.tif``, predict's maps, both
nowcast engines' leads) goes through :func:`write_bands`, so they share the layout (GDAL's
COG driver, deflate), the georeferencing (the DEM's CRS and transform, or a local metre
grid) and the nodata value of :mod:`floodcast.defaults`: walls (NaN elevation: nodata or
outside the domain) and NaN values are written as ``FLOAT_NODATA`` (-9999) in float32
files and ``BYTE_NODATA`` (255) in Byte masks, so a GIS shows them as no data, not 0 m.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.defaults import BYTE_NODATA, FLOAT_NODATA
from floodcast.io.atomic import atomic_path
from floodcast.io.dem import Dem

__all__ = ["BYTE_NODATA", "FLOAT_NODATA", "write_bands", "write_geotiff"]


def local_transform(dem: Dem) -> Any:
    """The DEM's transform, or a local one (metres, origin at the south-west corner)."""
    from rasterio.transform import Affine

    if dem.transform is not None:
        return dem.transform
    return Affine(dem.cell_size, 0.0, 0.0, 0.0, -dem.cell_size, dem.shape[0] * dem.cell_size)


def write_bands(
    path: str | os.PathLike,
    bands: Sequence[tuple[str, np.ndarray]],
    dem: Dem,
    tags: Mapping[str, Any] | None = None,
    *,
    nodata: float | None = None,
    dtype: str = "float32",
    mask_walls: bool = True,
    units: str | None = None,
) -> Path:
    """Write ``(description, array)`` bands as one COG on the DEM grid, atomically.

    ``nodata`` defaults to ``FLOAT_NODATA`` (float32) or ``BYTE_NODATA`` (uint8); ``units``
    goes on every band; ``tags`` are the file's metadata.
    """
    import rasterio

    if dtype not in ("float32", "uint8"):
        raise ValueError(f"dtype must be float32 or uint8, got {dtype}")
    if nodata is None:
        nodata = FLOAT_NODATA if dtype == "float32" else BYTE_NODATA
    arrays = []
    for name, array in bands:
        arr = np.array(array, np.float32)
        if arr.shape != tuple(dem.shape):
            raise ValueError(f"band {name!r} {arr.shape} does not match the DEM grid {dem.shape}")
        bad = ~np.isfinite(arr)
        if mask_walls:
            bad |= np.isnan(dem.elevation)
        arr[bad] = nodata
        arrays.append(arr.astype(dtype))
    profile = {
        "driver": "COG",
        "height": dem.shape[0],
        "width": dem.shape[1],
        "count": len(arrays),
        "dtype": dtype,
        "transform": local_transform(dem),
        "compress": "deflate",
        "nodata": nodata,
    }
    if dem.crs:
        profile["crs"] = dem.crs
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as ds:
        for i, ((name, _), arr) in enumerate(zip(bands, arrays, strict=True), 1):
            ds.write(arr, i)
            if name:
                ds.set_band_description(i, name)
            if units:
                ds.update_tags(i, units=units)
        if tags:
            ds.update_tags(**{k: str(v) for k, v in tags.items()})
    return Path(path)


def write_geotiff(
    path: str | os.PathLike,
    array: np.ndarray,
    dem: Dem,
    nodata: float | None = None,
    tags: Mapping[str, Any] | None = None,
    *,
    description: str | None = None,
    units: str | None = None,
    dtype: str = "float32",
    mask_walls: bool = True,
) -> Path:
    """Write a single-band COG on the DEM grid (see :func:`write_bands`).

    ``description`` names the band and is the file's ``TITLE``; a ``title`` in ``tags`` is
    kept as ``RUN_TITLE``. A DEM without georeferencing gets a local transform and no CRS.
    """
    all_tags = {k.upper() if k == "title" else k: str(v) for k, v in (tags or {}).items()}
    if description:  # the file's title names its band; the run's title stays a tag
        if "TITLE" in all_tags:
            all_tags["RUN_TITLE"] = all_tags["TITLE"]
        all_tags["TITLE"] = description
    return write_bands(
        path,
        [(description or "", array)],
        dem,
        all_tags,
        nodata=nodata,
        dtype=dtype,
        mask_walls=mask_walls,
        units=units,
    )
