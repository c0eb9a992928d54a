"""Refuse a rain file by what it declares, before decoding it; bound concurrent parsing.

A few kilobytes of npz, NetCDF-4 or sparse GeoTIFF can declare gigabytes of rain (a
decompression bomb). Before any data is read, the declared shape and dtype of every
array (npy headers, NetCDF dimensions, raster width x height x bands) is checked
against what a rain file for the served DEM can need:

* at most ``max_frames`` frames;
* a grid of at most ``GRID_FACTOR`` times the DEM's cells (a larger radar window is
  regridded onto the DEM; anything bigger is refused: crop it first);
* all arrays together at most the bytes of the largest valid request stored as float64,
  times ``GRID_FACTOR``, plus ``SLACK_BYTES`` for coordinates and text;
* rain stored as real numbers (no strings, complex, booleans or objects).

A NetCDF-3 file shorter than its header says is refused as truncated. At most
:func:`set_parse_slots` files are decoded at once (uploads and the watch folder share
the slots), so parallel uploads cannot multiply the memory a single one may use.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.io.integrity import (
    Declared,
    check_netcdf3_complete,
    netcdf4_shapes,
    npz_headers,
    tiff_declared,
)

GRID_FACTOR = 4  # a rain grid may hold up to 4x the DEM's cells (regridded onto the DEM)
SLACK_BYTES = 1 << 20  # coordinates, transform, crs text, times
RAIN_NAMES = ("rain_mmh", "rain", "rainfall_rate", "precipitation", "precip")
_REAL_KINDS = "fiu"
_slots = threading.BoundedSemaphore(2)


def set_parse_slots(n: int) -> None:
    """Allow ``n`` files to be decoded at once (the server sets it to ``--workers``)."""
    global _slots
    _slots = threading.BoundedSemaphore(max(1, int(n)))


@contextmanager
def parse_slot() -> Iterator[None]:
    """Hold one decoding slot while a file is read."""
    slots = _slots
    with slots:
        yield


def budget_bytes(dem: Dem, max_frames: int) -> int:
    """The most bytes a rain file's arrays may declare for ``dem``."""
    return max_frames * GRID_FACTOR * int(np.prod(dem.shape)) * 8 + SLACK_BYTES


def check_declared(
    path: Path, kind: str, dem: Dem, max_frames: int, source: str | None = None
) -> None:
    """Raise InputError (naming ``source``) if ``path`` declares more than it may, or is
    empty or truncated. Reads headers only."""
    source = source or path.name
    if path.stat().st_size == 0:
        raise InputError(f"{source}: empty file (0 bytes)")
    if kind == "npz":
        arrays = npz_headers(path)
    elif kind == "nc":
        with open(path, "rb") as f:
            head = f.read(4)
        arrays = (
            check_netcdf3_complete(path).variables if head[:3] == b"CDF" else netcdf4_shapes(path)
        )
    elif kind == "tif":
        arrays = tiff_declared(path)
    else:
        return
    _check_arrays(arrays, dem, max_frames, source)


def _check_arrays(arrays: list[Declared], dem: Dem, max_frames: int, source: str) -> None:
    cells = int(np.prod(dem.shape))
    for a in arrays:
        if a.name not in RAIN_NAMES and a.name != "bands":
            continue
        if a.dtype.kind not in _REAL_KINDS:
            raise InputError(
                f"{source}: rain '{a.name}' is stored as {a.dtype} "
                f"({_kind_name(a.dtype)}); rain must be real numbers (mm/h)"
            )
        frames = a.shape[0] if a.shape else 1
        if not 1 <= frames <= max_frames:
            raise InputError(
                f"{source}: rain '{a.name}' declares {frames} frames; send 1..{max_frames}"
            )
        if len(a.shape) == 3 and a.shape[1] * a.shape[2] > GRID_FACTOR * cells:
            raise InputError(
                f"{source}: rain grid {a.shape[1]} x {a.shape[2]} (y, x) has more than "
                f"{GRID_FACTOR}x the cells of the DEM grid {dem.shape[0]} x {dem.shape[1]}; "
                "crop it to the DEM's area before sending"
            )
    total = sum(a.nbytes for a in arrays)
    limit = budget_bytes(dem, max_frames)
    if total > limit:
        big = max(arrays, key=lambda a: a.nbytes)
        raise InputError(
            f"{source}: declares {total / 1e6:.1f} MB of arrays (largest '{big.name}' "
            f"{big.shape} {big.dtype}), more than the {limit / 1e6:.1f} MB a rain file for "
            f"this {dem.shape[0]} x {dem.shape[1]} DEM can need"
        )


def _kind_name(dtype: np.dtype) -> str:
    return {
        "c": "complex",
        "b": "boolean",
        "U": "text",
        "S": "bytes",
        "O": "objects",
        "V": "raw records",
        "M": "datetimes",
        "m": "durations",
    }.get(dtype.kind, dtype.kind)
