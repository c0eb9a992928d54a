"""Values on a georeferenced grid onto a DEM's grid: the one ``rasterio.warp.reproject`` call
behind rain (``io.rain.regrid_to_dem``, bilinear: rates vary smoothly) and land-surface
rasters (``simulation.surface.read_on_dem_grid``, nearest: classes and n values are never
averaged).

Deciding whether a grid already is the DEM's, and what to do with DEM cells the source does
not cover (rain: 0 and a note; a Manning raster: refused later, cell by cell), stays with
each caller: those rules and their messages differ.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from floodcast.errors import InputError

Resampling = Literal["nearest", "bilinear"]


def reproject_to_dem(
    values: np.ndarray,
    transform: Any,
    crs: Any,
    dem: Any,
    resampling: Resampling,
    what: str,
    dtype: Any = np.float64,
) -> np.ndarray:
    """``values`` [..., y, x] on (``transform``, ``crs``) onto the DEM grid [..., ny, nx] by
    ``resampling``; NaN in the source is nodata, and DEM cells it does not cover are NaN.

    Raises:
        InputError: ``what``: the source CRS cannot be reprojected to the DEM's.
    """
    from rasterio.warp import Resampling as RioResampling
    from rasterio.warp import reproject

    values = np.ascontiguousarray(values)
    out = np.full((*values.shape[:-2], *dem.shape), np.nan, dtype)
    try:
        reproject(
            source=values,
            destination=out,
            src_transform=transform,
            src_crs=crs,
            src_nodata=np.nan,
            dst_transform=dem.transform,
            dst_crs=dem.crs,
            dst_nodata=np.nan,
            resampling=RioResampling[resampling],
        )
    except Exception as exc:  # rasterio's CRSError, CPLE_* from PROJ: a bad CRS pair
        raise InputError(
            f"{what}: cannot reproject from {crs} to the DEM's {dem.crs}: {exc}"
        ) from None
    return out
