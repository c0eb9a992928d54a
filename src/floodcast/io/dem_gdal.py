"""DEMs GDAL reads, chosen by content: GeoTIFF/COG, VRT, SRTM ``.hgt`` (also zipped), /vsi paths.

:func:`floodcast.io.dem.read_dem` asks :func:`sniff` what a DEM file holds (its first
bytes, not its name): an npz (a zip of ``.npy`` arrays), an ESRI ASCII grid (text
starting with ``ncols``), a zip holding a raster (read through GDAL's ``/vsizip/``,
e.g. NASA's ``N38W028.SRTMGL3.hgt.zip``), or anything else, handed to GDAL, which
knows its formats by content. Paths starting with ``/vsi`` (``/vsicurl/``, ``/vsizip/``,
``/vsis3/``...) go straight to GDAL.

Cell sizes of projected CRSs in feet are converted to metres in
:func:`floodcast.io.dem.finish_dem`; elevations are taken in the unit the caller names
(``--elevation-units``, metres by default).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.errors import InputError

# metres per unit of the elevations (--elevation-units)
ELEVATION_UNITS = {"m": 1.0, "ft": 0.3048, "ftUS": 1200.0 / 3937.0}
_RASTER_MEMBERS = (".hgt", ".tif", ".tiff", ".asc", ".vrt", ".img", ".dem", ".bil", ".flt")


def sniff(path: Path) -> tuple[str, str]:
    """What a DEM file holds: ("npz" | "asc" | "gdal", path to open).

    Raises:
        InputError: a zip without a raster member or an unreadable file.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise InputError(f"cannot read DEM file {path}: {exc}") from exc
    if head.startswith(b"PK"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = [n for n in zf.namelist() if not n.endswith("/")]
        except zipfile.BadZipFile as exc:
            raise InputError(f"{path}: looks like a zip but cannot be read ({exc})") from None
        if names and all(n.endswith(".npy") for n in names):
            return "npz", str(path)
        rasters = [n for n in names if n.lower().endswith(_RASTER_MEMBERS)]
        if not rasters:
            raise InputError(f"{path}: zip holds no raster GDAL reads (members: {names[:5]})")
        if len(rasters) > 1:
            raise InputError(
                f"{path}: zip holds {len(rasters)} rasters ({rasters[:3]}...); name one as "
                f"/vsizip/{path}/MEMBER"
            )
        return "gdal", f"/vsizip/{path.resolve()}/{rasters[0]}"
    if head.lstrip().lower().startswith(b"ncols"):
        return "asc", str(path)
    return "gdal", str(path)


def read_gdal(spec: str) -> tuple[np.ndarray, Any, Any, dict[str, Any]]:
    """Band 1 of any raster GDAL opens, north-up: (elevation with NaN, transform, crs, info).

    ``info`` has the driver name. South-up rasters are flipped so that row 0 is north.

    Raises:
        InputError: unreadable or truncated file, no bands, rotated grid.
    """
    import rasterio
    from rasterio.errors import RasterioError

    try:
        with rasterio.open(spec) as ds:
            if ds.count < 1:
                raise InputError(f"{spec}: raster has no bands")
            elev = ds.read(1, masked=True)
            transform, crs, driver = ds.transform, ds.crs, ds.driver
            shape = (ds.height, ds.width)
    except RasterioError as exc:
        raise InputError(f"cannot read DEM file {spec}: {exc} (corrupt or truncated?)") from exc
    if elev.shape != shape:
        raise InputError(f"{spec}: read {elev.shape} cells, header says {shape}")
    if transform.b != 0 or transform.d != 0:
        raise InputError(
            f"{spec}: rotated grids are not supported (transform {tuple(transform)[:6]})"
        )
    elev, transform = north_up(elev, transform)
    arr = np.ma.filled(elev.astype(np.float64), np.nan)
    return arr, transform, crs, {"driver": driver}


def north_up(arr: Any, transform: Any) -> tuple[Any, Any]:
    """``(arr, transform)`` with row 0 north: a south-up grid (``transform.e > 0``) flipped."""
    if transform.e <= 0:
        return arr, transform
    from rasterio.transform import Affine

    flipped = transform @ Affine.translation(0, arr.shape[0]) @ Affine.scale(1, -1)
    return arr[::-1], flipped


def scale_elevation(elev: np.ndarray, units: str, source: str) -> tuple[np.ndarray, str]:
    """Elevations in metres from ``units`` (m, ft, ftUS), with the note saying so.

    Raises:
        InputError: an unknown unit (lists the valid ones).
    """
    if units not in ELEVATION_UNITS:
        raise InputError(
            f"--elevation-units {units!r} not understood; valid: {', '.join(ELEVATION_UNITS)}"
        )
    factor = ELEVATION_UNITS[units]
    if factor == 1.0:
        return elev, "elevations taken as metres (--elevation-units m)"
    return (
        (elev * factor).astype(np.float32),
        f"elevations converted from {units} to metres (x {factor:.7g}, --elevation-units)",
    )
