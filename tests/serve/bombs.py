"""Hostile rain files for the reliability tests: small on disk, huge once decoded."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np


def npz_bomb(path: Path, shape=(1, 8192, 8192), dtype="<f4") -> Path:
    """An npz whose ``rain_mmh`` declares ``shape`` of zeros (deflated: ~1000x smaller)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": dtype, "fortran_order": False, "shape": tuple(shape)}
    )
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    chunk = bytes(1 << 22)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        with zf.open("rain_mmh.npy", "w", force_zip64=True) as f:
            f.write(header.getvalue())
            for start in range(0, nbytes, len(chunk)):
                f.write(chunk[: min(len(chunk), nbytes - start)])
        buf = io.BytesIO()
        np.save(buf, np.arange(shape[0]) * 300.0)
        zf.writestr("times_s.npy", buf.getvalue())
    return path


def tif_bomb(path: Path, size: int = 8192, bands: int = 1) -> Path:
    """A sparse tiled GeoTIFF: ``bands`` x ``size`` x ``size`` float32, no tile written."""
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=bands,
        dtype="float32",
        tiled=True,
        blockxsize=256,
        blockysize=256,
        sparse_ok=True,
        compress="deflate",
        transform=from_origin(500000, 4000000, 50, 50),
        crs="EPSG:32614",
    ):
        pass
    return path


def netcdf4_bomb(path: Path, shape=(1, 8192, 8192)) -> Path:
    """A NetCDF-4 file whose ``rain(time, y, x)`` chunks are never written (fill value 0)."""
    import netCDF4

    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        for name, n in zip(("time", "y", "x"), shape, strict=False):
            ds.createDimension(name, n)
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "s"
        t[:] = np.arange(shape[0]) * 300.0
        v = ds.createVariable(
            "rain", "f4", ("time", "y", "x"), zlib=True, fill_value=0.0, chunksizes=(1, 512, 512)
        )
        v.units = "mm/h"
    return path


def netcdf3_file(
    path: Path, rain: np.ndarray, fmt: str = "NETCDF3_CLASSIC", record: bool = True
) -> Path:
    """A NetCDF-3 rain file (``rain(time, y, x)`` mm/h, time in s)."""
    import netCDF4

    with netCDF4.Dataset(path, "w", format=fmt) as ds:
        ds.createDimension("time", None if record else rain.shape[0])
        ds.createDimension("y", rain.shape[1])
        ds.createDimension("x", rain.shape[2])
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "s"
        v = ds.createVariable("rain", "f4", ("time", "y", "x"))
        v.units = "mm/h"
        t[:] = np.arange(rain.shape[0]) * 300.0
        v[:] = rain
    return path
