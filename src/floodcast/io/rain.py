"""Rain forcing series: the RainSeries container and its readers.

Sources (``read_rain``):
  * a uniform hyetograph string: ``50mm/h:600s`` -> frames [50, 0] at [0, 600] s (the
    rain stops after); several blocks chain: ``50mm/h:10min,5mm/h:1h``;
  * NetCDF (``.nc``) or zarr (``.zarr``) with ``rain(time, y, x)`` in mm/h, ``time`` as
    datetimes or seconds (``units`` of s, min or h);
  * ``.npz`` with ``rain_mmh`` [t, y, x] (or [t] for uniform rain) and ``times_s`` [t]
    (or the reference-case key ``rain_times_s``), optionally ``transform`` and ``crs``.

Frame k holds from ``times_s[k]`` until the next frame. The last frame holds one typical
interval (the median spacing) unless it is all zero, in which case it holds forever. A
single non-zero frame is a constant rate that holds forever.
"""

# size: every rain source (hyetograph, CSV, npz, NetCDF/zarr, GeoTIFF) and its strict checks in
# one reader (NetCDF/zarr opening and axis names are shared with io/radar_generic.py via
# io/xarray_open.py).

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.errors import CRSError

from floodcast.errors import InputError, InputWarning
from floodcast.io.dem import same_crs
from floodcast.io.raw_rain import RawRain
from floodcast.io.regrid import reproject_to_dem
from floodcast.io.xarray_open import TIME_NAMES, X_NAMES, Y_NAMES, find_dim, open_xarray

SUSPICIOUS_MMH = 500.0  # above this a rate is probably mm per interval, not mm/h
_RAIN_NAMES = ("rain", "rain_mmh", "rainfall_rate", "precipitation", "precip")
_TIME_UNITS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
}
_RATE_UNITS = {
    "mm/h": 1.0,
    "mm h-1": 1.0,
    "mm hr-1": 1.0,
    "mm/hr": 1.0,
    "mm h**-1": 1.0,
    "mm.h-1": 1.0,
    "kg m-2 s-1": 3600.0,
    "mm/s": 3600.0,
    "m/s": 3.6e6,
}


@dataclass
class RainSeries:
    """Piecewise-constant rain on a grid (or uniform), in mm/h.

    Attributes:
        rates_mmh: float32 [t, y, x] on the DEM grid, or [t] for spatially uniform rain.
        times_s: float64 [t], strictly increasing start time of each frame (s from the run
            start). Frame k holds for times_s[k] <= t < times_s[k+1]; the last frame holds
            until ``end_s``.
        end_s: time (s) up to which the forcing is defined (``math.inf`` allowed, e.g.
            when the last frame is zero rain).
        source: description for messages and metadata.
        attrs: extra metadata; ``notes`` (list of str) records what the reader decided.
    """

    rates_mmh: np.ndarray
    times_s: np.ndarray
    end_s: float
    source: str = "<array>"
    attrs: dict = field(default_factory=dict)

    def frame_index(self, t: float) -> int:
        """Index of the frame that holds at time ``t`` (s)."""
        return int(np.searchsorted(self.times_s, t, side="right") - 1)

    @property
    def uniform(self) -> bool:
        return self.rates_mmh.ndim == 1

    @property
    def notes(self) -> list[str]:
        return self.attrs.setdefault("notes", [])


# --------------------------------------------------------------------------- hyetograph

_BLOCK = re.compile(
    r"^\s*([0-9]*\.?[0-9]+)\s*mm/h\s*:\s*([0-9]*\.?[0-9]+)\s*(s|sec|min|h)\s*$", re.IGNORECASE
)


def parse_hyetograph(spec: str) -> RainSeries | None:
    """Parse ``50mm/h:600s`` (blocks joined by commas); None if ``spec`` is not one.

    Raises:
        InputError: a hyetograph-looking string with a zero or negative duration.
    """
    blocks = spec.split(",")
    matches = [_BLOCK.match(b) for b in blocks]
    if not all(matches):
        if "mm/h" in spec.lower():
            raise InputError(
                f"rain {spec!r}: cannot parse; expected RATEmm/h:DURATION[s|min|h] blocks "
                "joined by commas, e.g. 50mm/h:600s or 50mm/h:10min,5mm/h:1h"
            )
        return None
    rates, times, t = [], [], 0.0
    for m in matches:
        rate = float(m.group(1))
        dur = float(m.group(2)) * _TIME_UNITS[m.group(3).lower().replace("sec", "s")]
        if dur <= 0:
            raise InputError(f"rain {spec!r}: block {m.group(0).strip()!r} has no duration")
        rates.append(rate)
        times.append(t)
        t += dur
    rates.append(0.0)
    times.append(t)
    series = RainSeries(np.array(rates, np.float32), np.array(times), math.inf, spec)
    _check_values(series.rates_mmh, spec, series.notes)
    return series


# --------------------------------------------------------------------------- file readers


def _times_to_seconds(values: np.ndarray, units: str | None, source: str) -> np.ndarray:
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.datetime64):
        if np.isnat(values).any():
            raise InputError(f"{source}: time coordinate has missing values (NaT)")
        return (values - values[0]).astype("timedelta64[ms]").astype(np.float64) / 1000.0
    if np.issubdtype(values.dtype, np.timedelta64):
        return values.astype("timedelta64[ms]").astype(np.float64) / 1000.0
    if not np.issubdtype(values.dtype, np.number):
        raise InputError(f"{source}: time must be datetimes or seconds, got {values.dtype}")
    scale = 1.0
    if units:
        key = units.strip().lower()
        if key not in _TIME_UNITS:
            raise InputError(f"{source}: time units {units!r} not understood (use s, min or h)")
        scale = _TIME_UNITS[key]
    return values.astype(np.float64) * scale


def _transform_from_coords(x: np.ndarray, y: np.ndarray) -> tuple[Any, bool] | None:
    """Affine of a north-up grid from 1-D regular cell-centre coords; flag if y increases."""
    from rasterio.transform import Affine

    if x.size < 2 or y.size < 2:
        return None
    dx, dy = np.diff(x), np.diff(y)
    if not (np.allclose(dx, dx[0], rtol=1e-4) and np.allclose(dy, dy[0], rtol=1e-4)):
        return None
    ddx, ddy = float(dx[0]), float(dy[0])
    top = max(y[0], y[-1]) + abs(ddy) / 2
    return Affine(ddx, 0.0, float(x[0]) - ddx / 2, 0.0, -abs(ddy), float(top)), ddy > 0


def _read_xarray(path: Path) -> RawRain:
    src = str(path)
    ds = open_xarray(path, "rain file")
    with ds:
        name = next((n for n in _RAIN_NAMES if n in ds.data_vars), None)
        if name is None:
            raise InputError(
                f"{path}: no rain variable; expected 'rain' (time, y, x) in mm/h, "
                f"found {sorted(ds.data_vars)}"
            )
        da = ds[name]
        notes: list[str] = []
        tdim = find_dim(da.dims, TIME_NAMES)
        if tdim is None:
            raise InputError(f"{path}: '{name}' has no 'time' dimension (dims {da.dims})")
        if da.ndim == 1:
            ydim = xdim = None
        else:
            ydim = find_dim(da.dims, Y_NAMES)
            xdim = find_dim(da.dims, X_NAMES)
            if da.ndim != 3 or ydim is None or xdim is None:
                raise InputError(f"{path}: '{name}' must have dims (time, y, x), got {da.dims}")
            da = da.transpose(tdim, ydim, xdim)
        units = da.attrs.get("units")
        scale = 1.0
        if units is not None:
            scale = _RATE_UNITS.get(str(units).strip().lower(), math.nan)
            if math.isnan(scale):
                raise InputError(f"{path}: rain units {units!r} not understood; expected mm/h")
            if scale != 1.0:
                notes.append(f"converted rain from {units} to mm/h (x {scale:g})")
        tvals = da[tdim].values
        times = _times_to_seconds(tvals, da[tdim].attrs.get("units"), src)
        start = tvals[0] if np.issubdtype(np.asarray(tvals).dtype, np.datetime64) else None
        rates = np.asarray(da.values, dtype=np.float32) * np.float32(scale)
        transform = crs = None
        if ydim is not None and ydim in da.coords and xdim in da.coords:
            got = _transform_from_coords(
                np.asarray(da[xdim].values, float), np.asarray(da[ydim].values, float)
            )
            if got is not None:
                transform, y_up = got
                if y_up:  # row 0 must be north
                    rates = rates[:, ::-1]
            crs = _xarray_crs(ds, da)
            if crs is None and ydim in ("lat", "latitude"):
                crs = "EPSG:4326"
    return RawRain(np.ascontiguousarray(rates), times, src, transform, crs, notes, start)


def _xarray_crs(ds: Any, da: Any) -> str | None:
    # CF grid mapping: a variable named by the data's 'grid_mapping' attribute (it may be
    # read back as a data variable, where rioxarray does not look)
    gm = da.attrs.get("grid_mapping") or da.encoding.get("grid_mapping")
    if gm and gm in ds.variables:
        for key in ("crs_wkt", "spatial_ref", "epsg_code"):
            if ds[gm].attrs.get(key):
                return str(ds[gm].attrs[key])
    import rioxarray  # noqa: F401  (registers the .rio accessor)
    from rioxarray.exceptions import RioXarrayError

    try:
        crs = da.rio.crs or ds.rio.crs
    except (RioXarrayError, CRSError):
        crs = None
    if crs is not None:
        return crs.to_string()
    for obj in (da, ds):
        for key in ("crs", "spatial_ref", "crs_wkt"):
            if isinstance(obj.attrs.get(key), str):
                return obj.attrs[key]
    return None


def _read_npz(path: Path) -> RawRain:
    from rasterio.transform import Affine

    from floodcast.io.dem import read_npz

    data = read_npz(path, "rain")
    tkey = next((k for k in ("times_s", "rain_times_s") if k in data), None)
    if "rain_mmh" not in data or tkey is None:
        raise InputError(
            f"{path}: npz rain needs 'rain_mmh' [t, y, x] (mm/h) and 'times_s' [t] "
            f"(or 'rain_times_s'); found {sorted(data)}"
        )
    rates = np.asarray(data["rain_mmh"], dtype=np.float32)
    if rates.ndim not in (1, 3):
        raise InputError(f"{path}: 'rain_mmh' must be [t, y, x] or [t], got shape {rates.shape}")
    transform = (
        Affine(*np.asarray(data["transform"], float).ravel()[:6]) if "transform" in data else None
    )
    crs = str(data["crs"]) if "crs" in data else None
    times = _times_to_seconds(np.asarray(data[tkey]).ravel(), None, str(path))
    return RawRain(rates, times, str(path), transform, crs)


# --------------------------------------------------------------------------- checks


def _check_values(rates: np.ndarray, source: str, notes: list[str]) -> None:
    """In place: NaN -> 0 (warned with the count); negatives are an error; > 500 mm/h warned."""
    n_nan = int(np.isnan(rates).sum())
    if n_nan:
        rates[np.isnan(rates)] = 0.0
        msg = f"{source}: {n_nan} NaN rain values (no radar coverage?) set to 0 mm/h"
        notes.append(msg)
        warnings.warn(msg, InputWarning, stacklevel=3)
    if np.isinf(rates).any():
        raise InputError(f"{source}: {int(np.isinf(rates).sum())} infinite rain values")
    n_neg = int((rates < 0).sum())
    if n_neg:
        raise InputError(
            f"{source}: {n_neg} negative rain values (min {rates.min():g} mm/h); "
            "rain must be >= 0 mm/h"
        )
    peak = float(rates.max()) if rates.size else 0.0
    if peak > SUSPICIOUS_MMH:
        msg = (
            f"{source}: peak rain {peak:g} mm/h > {SUSPICIOUS_MMH:g} mm/h: is it mm per "
            "interval instead of mm/h? (continuing)"
        )
        notes.append(msg)
        warnings.warn(msg, InputWarning, stacklevel=3)


def _check_times(times: np.ndarray, n_frames: int, source: str) -> None:
    if times.ndim != 1 or times.size != n_frames:
        raise InputError(f"{source}: {times.size} timestamps for {n_frames} rain frames")
    if n_frames == 0:
        raise InputError(f"{source}: no rain frames")
    if not np.isfinite(times).all():
        raise InputError(f"{source}: timestamps must be finite")
    d = np.diff(times)
    if (d == 0).any():
        i = int(np.flatnonzero(d == 0)[0])
        raise InputError(f"{source}: duplicate timestamp {times[i]:g} s (frames {i} and {i + 1})")
    if (d < 0).any():
        i = int(np.flatnonzero(d < 0)[0])
        raise InputError(
            f"{source}: timestamps are not sorted (frame {i + 1} at {times[i + 1]:g} s "
            f"comes before frame {i} at {times[i]:g} s)"
        )


def _coverage_end(rates: np.ndarray, times: np.ndarray, notes: list[str]) -> float:
    if not rates[-1].any():
        return math.inf
    if times.size == 1:
        notes.append("single non-zero rain frame: a constant rate for the whole run")
        return math.inf
    return float(times[-1] + np.median(np.diff(times)))


def regrid_to_dem(raw: RawRain, dem: Any) -> np.ndarray:
    """Rates [t, y, x] on the DEM grid: as is if the grids match, else bilinear (georeferenced).

    Raises:
        InputError: shapes differ and one of the two grids is not georeferenced.
    """
    rates = raw.rates
    if rates.ndim == 1:
        return rates
    same_shape = rates.shape[1:] == tuple(dem.shape)
    both_geo = raw.transform is not None and raw.crs is not None and dem.georeferenced
    if same_shape and (
        not both_geo
        or (same_crs(raw.crs, dem.crs) and raw.transform.almost_equals(dem.transform, 1e-6))
    ):
        return rates
    if not both_geo:
        raise InputError(
            f"{raw.source}: rain grid {rates.shape[1:]} (y, x) does not match the DEM grid "
            f"{tuple(dem.shape)} of {dem.source}, and regridding needs both to be georeferenced"
        )
    out = reproject_to_dem(rates, raw.transform, raw.crs, dem, "bilinear", raw.source, np.float32)
    outside = int(np.isnan(out[0]).sum())
    if outside == out[0].size:
        raise InputError(f"{raw.source}: the rain grid does not overlap the DEM {dem.source}")
    if outside:
        msg = f"{raw.source}: {outside} DEM cells lie outside the rain grid; their rain is 0"
        raw.notes.append(msg)
        warnings.warn(msg, InputWarning, stacklevel=3)
        out[np.isnan(out)] = 0.0
    raw.notes.append(f"rain regridded (bilinear) from {rates.shape[1:]} to {tuple(dem.shape)}")
    return out


def read_rain(spec: str | Path, dem: Any | None = None) -> RainSeries:
    """Read rain from a hyetograph string or a file, validated and (if needed) regridded.

    Args:
        spec: ``50mm/h:600s``-style string, a ``.nc``/``.zarr``/``.npz`` path, or native
            radar as ``SOURCE:PATH`` (or a radar folder; see :mod:`.radar_rain`).
        dem: the :class:`~floodcast.io.dem.Dem` the rain must cover; None keeps the
            file's grid.

    Raises:
        InputError: missing/unreadable file, bad variable/dims/units, negative values,
            unsorted or duplicate timestamps, grid mismatch.
    """
    if isinstance(spec, str):
        hyeto = parse_hyetograph(spec)
        if hyeto is not None:
            return hyeto
    from floodcast.io.radar_rain import is_radar_spec, read_radar_rain

    path = Path(spec)
    if is_radar_spec(spec):  # SOURCE:PATH, a radar folder or a native radar file
        raw = read_radar_rain(spec, dem)
    elif not path.exists():
        raise InputError(f"rain file not found: {path} (or give a hyetograph like 50mm/h:600s)")
    elif path.suffix.lower() == ".npz":
        raw = _read_npz(path)
    else:  # .nc, .nc4, .netcdf, .h5, .zarr
        raw = _read_xarray(path)
    _check_times(raw.times_s, raw.rates.shape[0], raw.source)
    n_nan = int(np.isnan(raw.rates).sum())  # all-NaN rain is refused by simulate
    _check_values(raw.rates, raw.source, raw.notes)
    rates = regrid_to_dem(raw, dem) if dem is not None else raw.rates
    end = _coverage_end(rates, raw.times_s, raw.notes)
    return RainSeries(
        rates.astype(np.float32, copy=False),
        raw.times_s.astype(np.float64),
        end,
        raw.source,
        {
            "notes": raw.notes,
            "crs": raw.crs,
            "start_time": raw.start_time,
            "nan_values": n_nan,
            "values": raw.rates.size,
        },
    )


def check_coverage(rain: RainSeries, duration_s: float, pad_zero: bool = False) -> RainSeries:
    """Make sure ``rain`` covers ``[0, duration_s]``; with ``pad_zero`` fill gaps with no rain.

    Raises:
        InputError: the rain starts after 0 s or ends before ``duration_s`` (without
            ``pad_zero``), naming the covered period.
    """
    times, rates, end = rain.times_s, rain.rates_mmh, rain.end_s
    notes = list(rain.notes)
    zero = np.zeros((1, *rates.shape[1:]), rates.dtype)
    if times[0] > 0:
        if not pad_zero:
            raise InputError(
                f"{rain.source}: rain starts at {times[0]:g} s, after the run start "
                "(0 s); use --pad-zero to assume no rain before it"
            )
        times, rates = np.concatenate([[0.0], times]), np.concatenate([zero, rates])
        notes.append(f"no rain before {rain.times_s[0]:g} s (--pad-zero)")
    if times[0] < 0:
        notes.append(f"rain frames before 0 s are ignored (first at {times[0]:g} s)")
    if end < duration_s:
        if not pad_zero:
            raise InputError(
                f"{rain.source}: rain covers {times[0]:g}..{end:g} s but the run lasts "
                f"{duration_s:g} s; give more rain or use --pad-zero for no rain after {end:g} s"
            )
        times, rates = np.concatenate([times, [end]]), np.concatenate([rates, zero])
        notes.append(f"no rain after {end:g} s (--pad-zero)")
        end = math.inf
    return replace(
        rain, rates_mmh=rates, times_s=times, end_s=end, attrs={**rain.attrs, "notes": notes}
    )
