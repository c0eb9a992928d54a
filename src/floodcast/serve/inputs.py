"""Rain uploads -> validated frames [t, y, x] (mm/h) on the configured DEM grid.

The format is recognised from the file's first bytes (never from a client-chosen name,
and the bytes are written only to a private temporary folder): npz (zip), NetCDF
(classic or HDF5) or GeoTIFF (one band per frame). Every problem becomes an
:class:`~floodcast.errors.InputError` naming it, which the API turns into a 4xx.
"""

from __future__ import annotations

import math
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.serve import guard

MAX_FRAMES = 288  # one day of 5-min frames: bounds the work one request can ask for
MAX_INTERVAL_S = 86400.0
_MAGIC = (
    (b"PK\x03\x04", "npz"),
    (b"CDF\x01", "nc"),
    (b"CDF\x02", "nc"),
    (b"\x89HDF\r\n\x1a\n", "nc"),
    (b"II*\x00", "tif"),
    (b"MM\x00*", "tif"),
    (b"II+\x00", "tif"),
    (b"MM\x00+", "tif"),
)
FORMATS = ("npz", "nc", "tif")


class _NaNFound(Exception):
    def __init__(self, n: int, result: tuple):
        super().__init__(n)
        self.n, self.result = n, result


@dataclass
class RainInput:
    """Rain frames on the DEM grid, ready for the model."""

    frames: np.ndarray  # float32 [t, y, x] mm/h, finite, >= 0
    interval_s: float
    source: str = "upload"
    notes: list[str] = field(default_factory=list)


def sniff(data: bytes) -> str:
    """File kind ('npz', 'nc' or 'tif') from its first bytes."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    raise InputError(
        f"unrecognised upload: expected an npz, NetCDF or GeoTIFF file (first bytes {data[:8]!r})"
    )


def _interval(value: float | None, what: str) -> float | None:
    if value is None:
        return None
    v = float(value)
    if not (math.isfinite(v) and 0 < v <= MAX_INTERVAL_S):
        raise InputError(f"{what} must be a frame interval in seconds, 0 < s <= 86400; got {value}")
    return v


def validate(
    frames: np.ndarray,
    dem: Dem,
    interval_s: float,
    source: str,
    allow_nan: bool = False,
    notes: list[str] | None = None,
) -> RainInput:
    """Check shape, dtype and values; NaN (no coverage) is refused unless ``allow_nan``."""
    a = np.asarray(frames)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise InputError(f"{source}: rain must be numbers (mm/h), got dtype {a.dtype}")
    a = a.astype(np.float32)
    if a.ndim != 3:
        raise InputError(f"{source}: rain must be [t, y, x], got shape {a.shape}")
    if a.shape[1:] != tuple(dem.shape):
        raise InputError(
            f"{source}: rain grid {a.shape[1:]} (y, x) does not match the DEM grid "
            f"{tuple(dem.shape)}; send frames on the DEM grid or a georeferenced file"
        )
    if not 1 <= a.shape[0] <= MAX_FRAMES:
        raise InputError(f"{source}: {a.shape[0]} frames; send 1..{MAX_FRAMES}")
    nan = np.isnan(a)
    if nan.any():
        if not allow_nan:
            raise InputError(
                f"{source}: {int(nan.sum())} NaN rain values; fill cells without "
                "radar coverage with 0 mm/h before sending"
            )
        a = np.where(nan, 0.0, a).astype(np.float32)
    if np.isinf(a).any():
        raise InputError(f"{source}: {int(np.isinf(a).sum())} infinite rain values")
    if (a < 0).any():
        raise InputError(f"{source}: {int((a < 0).sum())} negative rain values; rain is >= 0 mm/h")
    return RainInput(a, interval_s, source, list(notes or []))


def from_arrays(
    rain: list, dem: Dem, interval_s: float | None, default_interval: float, source: str = "json"
) -> RainInput:
    """Frames given as nested lists ``[t][y][x]`` (JSON)."""
    try:
        a = np.asarray(rain, dtype=np.float64)
    except (ValueError, TypeError) as exc:  # ragged lists, strings
        raise InputError(
            f"{source}: rain_mmh must be a regular [t][y][x] array of numbers ({exc})"
        ) from exc
    return validate(a, dem, _interval(interval_s, "interval_s") or default_interval, source)


def from_bytes(
    data: bytes,
    dem: Dem,
    interval_s: float | None,
    default_interval: float,
    allow_nan: bool = False,
    source: str = "upload",
) -> RainInput:
    """Frames from an uploaded file's bytes (npz, NetCDF or GeoTIFF)."""
    if not data:
        raise InputError(f"{source}: empty upload")
    kind = sniff(data)
    given = _interval(interval_s, "interval_s")
    with tempfile.TemporaryDirectory(prefix="floodcast-upload-") as tmp:
        path = Path(tmp) / f"upload.{kind}"
        path.write_bytes(data)
        return read_path(path, dem, given, default_interval, allow_nan, source, kind)


def read_path(
    path: Path,
    dem: Dem,
    interval_s: float | None,
    default_interval: float,
    allow_nan: bool = False,
    source: str | None = None,
    kind: str | None = None,
) -> RainInput:
    """Frames from a file on disk (the watcher's radar drops and the API's uploads)."""
    source = source or path.name
    kind = kind or {
        ".npz": "npz",
        ".nc": "nc",
        ".nc4": "nc",
        ".h5": "nc",
        ".tif": "tif",
        ".tiff": "tif",
    }.get(path.suffix.lower())
    if kind not in FORMATS:
        raise InputError(f"{source}: unknown radar format {path.suffix!r}; valid: .npz, .nc, .tif")
    try:
        # headers first: a bomb or a truncated file is refused before any data is read
        guard.check_declared(path, kind, dem, MAX_FRAMES, source)
        with guard.parse_slot():
            if kind == "tif":
                frames, tag_interval, notes = _read_tif(path, dem)
            else:
                frames, tag_interval, notes = _read_rain_file(path, dem)
    except _NaNFound as nan:
        if not allow_nan:
            raise InputError(
                f"{source}: {nan.n} NaN rain values; fill cells without radar "
                "coverage with 0 mm/h before sending"
            ) from None
        frames, tag_interval, notes = nan.result
    except InputError as exc:
        raise InputError(_scrub(str(exc), path, source)) from None
    except Exception as exc:
        raise InputError(
            _scrub(f"{source}: cannot read {kind} file ({type(exc).__name__}: {exc})", path, source)
        ) from None
    interval = tag_interval or interval_s or default_interval
    return validate(frames, dem, interval, source, allow_nan, notes)


def _scrub(msg: str, path: Path, source: str) -> str:
    """``msg`` without the server's own paths (the upload's temporary folder)."""
    msg = msg.replace(str(path), source).replace(str(path.parent), "")
    return re.sub(r"[^\s'\"]*floodcast-upload-[^\s'\"]*", source, msg)


def _read_rain_file(path: Path, dem: Dem) -> tuple[np.ndarray, float | None, list[str]]:
    """npz / NetCDF through :func:`floodcast.io.rain.read_rain` (which regrids if needed)."""
    from floodcast.errors import InputWarning
    from floodcast.io.rain import read_rain

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputWarning)  # the notes carry them
        series = read_rain(path, dem)
    rates = np.asarray(series.rates_mmh, np.float32)
    if rates.ndim == 1:  # a uniform hyetograph: one rate per frame everywhere
        rates = np.broadcast_to(rates[:, None, None], (len(rates), *dem.shape)).copy()
    # read_rain sets NaN (no coverage) to 0 and warns; the API refuses NaN (see validate)
    n_nan = int(series.attrs.get("nan_values", 0))  # counted by the reader
    times = np.asarray(series.times_s, float)
    interval = float(np.median(np.diff(times))) if times.size >= 2 else None
    if n_nan:
        raise _NaNFound(n_nan, (rates, interval, list(series.notes)))
    return rates, interval, list(series.notes)


def _read_tif(path: Path, dem: Dem) -> tuple[np.ndarray, float | None, list[str]]:
    """GeoTIFF: one band per frame (mm/h); tag ``interval_s`` optional; regridded if needed."""
    import rasterio

    from floodcast.io.rain import regrid_to_dem
    from floodcast.io.raw_rain import RawRain

    # band count and dtype were checked on the header by guard.check_declared (read_path)
    with rasterio.open(path) as ds:
        a = ds.read(masked=True).astype(np.float32).filled(np.nan)
        tags = ds.tags()
        tr, crs = ds.transform, (ds.crs.to_string() if ds.crs else None)
    interval = (
        _interval(tags["interval_s"], "GeoTIFF tag interval_s") if "interval_s" in tags else None
    )
    notes: list[str] = []
    if a.shape[1:] != tuple(dem.shape) or (crs and dem.georeferenced):
        nan = np.isnan(a)
        raw = RawRain(
            np.where(nan, 0.0, a).astype(np.float32),
            np.arange(a.shape[0]) * 1.0,
            path.name,
            tr if crs else None,
            crs,
            notes,
        )
        a2 = regrid_to_dem(raw, dem)
        if nan.any():  # keep frames with no-coverage visible to the NaN check
            a2 = (
                np.where(nan.any(axis=(1, 2))[:, None, None], np.nan, a2)
                if a2.shape != a.shape
                else np.where(nan, np.nan, a2)
            )
        a = a2
    return a, interval, notes
