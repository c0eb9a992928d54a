"""Radar rain sequences: the RadarSequence container and ``read_radar``.

Frames are read with pysteps' importers (``pysteps.io.get_method``) or, for generic
NetCDF / zarr / GeoTIFF stacks, with xarray and rasterio (:mod:`.radar_generic`).
Everything comes out as rain rate in mm/h, float32 ``[t, y, x]``, row 0 = north,
NaN = no coverage.

Clipping policy: values above ``max_rate_mmh`` are radar artefacts (OPERA 2018 has
spikes > 1000 mm/h); they are set to **NaN** (treated as "no valid measurement",
not as a heavy but capped downpour that would flood a catchment that stayed dry),
and counted in ``n_clipped`` (per frame in ``attrs["clipped_per_frame"]``).
Negative rates are set to 0 and counted in ``attrs["n_negative"]``.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from affine import Affine

from floodcast.errors import InputError
from floodcast.io.radar_sources import (
    GENERIC_SOURCES,
    RADAR_SOURCES,
    get_source,
    guess_source,
)

__all__ = ["RADAR_SOURCES", "RadarSequence", "read_radar"]

GAP_FACTOR = 1.5  # a spacing longer than 1.5 × the nominal interval is a gap


@dataclass
class RadarSequence:
    """Rain-rate frames on one georeferenced grid.

    Attributes:
        rain_mmh: float32 [t, y, x] in mm/h; NaN = no coverage (or a clipped spike).
            Row 0 = north (south-up sources are flipped on reading; ``attrs["flipped"]``).
        times: ``datetime64[s]`` [t], strictly increasing (nominal time from the file name;
            for accumulations the end of the interval, as the producers stamp them).
        transform: affine transform of the grid in ``crs`` (row 0 = north).
        crs: projection string (proj4 from pysteps, WKT/EPSG from generic files).
        cell_size: cell size in metres (x size; ``attrs["pixel_size_xy"]`` has both).
        source: registry name of the source (e.g. "fmi", "opera", "netcdf").
        n_clipped: values above the clip limit that were set to NaN.
        attrs: files, skipped frames, unit conversions and other provenance.
    """

    rain_mmh: np.ndarray
    times: np.ndarray
    transform: Affine
    crs: str | None
    cell_size: float
    source: str
    n_clipped: int = 0
    attrs: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rain_mmh.ndim != 3:
            raise InputError(f"rain_mmh must be [t, y, x], got shape {self.rain_mmh.shape}")
        if len(self.times) != self.rain_mmh.shape[0]:
            raise InputError(
                f"{len(self.times)} times for {self.rain_mmh.shape[0]} frames in {self.source}"
            )
        self.times = np.asarray(self.times, dtype="datetime64[s]")
        if len(self.times) > 1 and not np.all(np.diff(self.times) > np.timedelta64(0, "s")):
            raise InputError(f"times of {self.source} must be strictly increasing")

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.rain_mmh.shape  # type: ignore[return-value]

    @property
    def interval_s(self) -> float:
        """Nominal frame spacing in seconds: the most common spacing (ties: the shorter).

        Equal to the median for regular data; unlike the median it stays right when a
        short sequence has a gap (0, 5, 15 min -> 5 min, not 7.5). A single frame gives
        the accumulation time if known, else NaN.
        """
        if len(self.times) < 2:
            return float(self.attrs.get("accutime_min") or np.nan) * 60.0
        d = np.diff(self.times).astype("timedelta64[s]").astype(np.int64)
        vals, counts = np.unique(d, return_counts=True)
        return float(vals[np.argmax(counts)])

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in crs units."""
        ny, nx = self.shape[1:]
        t = self.transform  # north-up, no rotation (the readers build it so)
        return (t.c, t.f + t.e * ny, t.c + t.a * nx, t.f)

    def gaps(self) -> list[tuple[np.datetime64, np.datetime64]]:
        """(last time before, first time after) for every spacing > 1.5 × ``interval_s``."""
        if len(self.times) < 2:
            return []
        d = np.diff(self.times).astype("timedelta64[s]").astype(float)
        idx = np.flatnonzero(d > GAP_FACTOR * self.interval_s)
        return [(self.times[i], self.times[i + 1]) for i in idx]

    def subset(self, index: slice | np.ndarray) -> RadarSequence:
        """Frames ``index`` as a new sequence (n_clipped recounted from the per-frame list)."""
        per = np.asarray(self.attrs.get("clipped_per_frame", [0] * len(self.times)))[index]
        attrs = {**self.attrs, "clipped_per_frame": [int(v) for v in per]}
        return replace(
            self,
            rain_mmh=self.rain_mmh[index],
            times=self.times[index],
            n_clipped=int(np.sum(per)),
            attrs=attrs,
        )

    def split_at_gaps(self) -> list[RadarSequence]:
        """Pieces without gaps (one piece if there is none)."""
        if len(self.times) < 2:
            return [self]
        d = np.diff(self.times).astype("timedelta64[s]").astype(float)
        cuts = np.flatnonzero(d > GAP_FACTOR * self.interval_s) + 1
        bounds = [0, *cuts.tolist(), len(self.times)]
        return [self.subset(slice(a, b)) for a, b in itertools.pairwise(bounds)]

    def to_xarray(self):
        """CF ``xr.Dataset`` with ``rain(time, y, x)`` in mm/h, cell-centre x/y, CRS written."""
        import xarray as xr

        ny, nx = self.shape[1:]
        t = self.transform
        x = t.c + t.a * (np.arange(nx) + 0.5)
        y = t.f + t.e * (np.arange(ny) + 0.5)
        da = xr.DataArray(
            self.rain_mmh,
            dims=("time", "y", "x"),
            coords={"time": self.times.astype("datetime64[ns]"), "x": x, "y": y},
            name="rain",
            attrs={"units": "mm/h", "long_name": "rain rate"},
        )
        ds = da.to_dataset()
        keep = (str, int, float)
        ds.attrs.update(
            {
                "source": self.source,
                "n_clipped": int(self.n_clipped),
                "cell_size_m": float(self.cell_size),
            }
        )
        for k, v in self.attrs.items():  # netCDF attributes have no boolean type
            if isinstance(v, keep):
                ds.attrs[k] = int(v) if isinstance(v, bool) else v
        from floodcast.io.cf import make_cf, time_coord

        t0 = self.times[0]
        _, tattrs, tenc = time_coord([], t0)
        ds["time"].attrs.update({k: v for k, v in tattrs.items() if k != "comment"})
        ds["time"].encoding.update(tenc)
        return make_cf(ds, self.crs, self.transform if self.crs else None)

    def to_netcdf(self, path: str | Path) -> Path:
        """Write :meth:`to_xarray` as CF-1.8 NetCDF (atomically); ``simulate --rain`` reads it."""
        from floodcast.io.writers import write_cf_netcdf

        return write_cf_netcdf(self.to_xarray(), path, ("rain",))


def read_radar(
    paths_or_dir: str | Path | Sequence[str | Path],
    source: str | None = None,
    *,
    start: Any = None,
    end: Any = None,
    max_rate_mmh: float = 300.0,
    extent: Sequence[float] | None = None,
    crs: str | None = None,
    units: str | None = None,
    variable: str | None = None,
    strict: bool = True,
) -> RadarSequence:
    """Read radar frames as rain rate (mm/h).

    Args:
        paths_or_dir: a directory (its files matching the source), one file, or a list.
        source: a ``RADAR_SOURCES`` name ("fmi", "fmi_geotiff", "mch_gif", "bom_rf3",
            "odim_hdf5", "netcdf", "zarr", "geotiff", …) or None to guess from file names.
        start, end: keep frames with start <= time <= end (anything ``np.datetime64`` takes).
        max_rate_mmh: rates above it are set to NaN and counted (``n_clipped``).
        extent: (left, bottom, right, top) in ``crs`` units for inputs without
            georeferencing; overrides what the file says.
        crs: projection for such inputs (or to override the file's).
        units: unit of a generic stack when the file does not say ("mm/h", "mm", "dBZ").
        variable: data variable of a generic NetCDF/zarr stack (default: guessed).
        strict: an unreadable frame is an error; with False it is skipped (a time gap)
            and listed in ``attrs["skipped"]`` with the reason.

    Returns:
        A :class:`RadarSequence`; frames skipped (all NaN) are listed in ``attrs["skipped"]``.

    Raises:
        ValueError / FileNotFoundError: naming the file or field at fault.
    """
    from floodcast.io import radar_generic, radar_pysteps

    files = _list_inputs(paths_or_dir, source)
    if source is None:
        guesses = {f: guess_source(f) for f in files}
        source = guesses[files[0]]
        for f, g in guesses.items():
            if RADAR_SOURCES[g] is not RADAR_SOURCES[source]:
                raise InputError(
                    f"{f}: looks like {g!r}, but {files[0]} looks like {source!r}; "
                    "pass source= or separate the files"
                )
    spec = get_source(source)
    t0 = np.datetime64(start, "s") if start is not None else None
    t1 = np.datetime64(end, "s") if end is not None else None
    if spec.name in GENERIC_SOURCES:
        raw = radar_generic.read_stack(
            files,
            spec.name,
            t0=t0,
            t1=t1,
            units=units,
            variable=variable,
            skip_bad=not strict,
        )
    else:
        raw = radar_pysteps.read_frames(files, spec, t0=t0, t1=t1, skip_bad=not strict)
    if extent is not None:
        ny, nx = raw["rain"].shape[1:]
        left, bottom, right, top = map(float, extent)
        if right <= left or top <= bottom:
            raise InputError(f"extent must be (left, bottom, right, top), got {tuple(extent)}")
        raw["transform"] = Affine((right - left) / nx, 0, left, 0, -(top - bottom) / ny, top)
        raw["cell_size"] = (right - left) / nx
    if crs is not None:
        raw["crs"] = crs
    if raw["transform"] is None or not raw["crs"]:
        raise InputError(
            f"{files[0]}: no georeferencing (projection/extent) in the file; "
            "pass extent=(left, bottom, right, top) and crs="
        )
    return _finalize(raw, spec.name, max_rate_mmh)


def _list_inputs(paths_or_dir, source: str | None) -> list[Path]:
    items = [paths_or_dir] if isinstance(paths_or_dir, (str, Path)) else list(paths_or_dir)
    out: list[Path] = []
    for it in map(Path, items):
        if not it.exists():
            raise FileNotFoundError(f"radar input not found: {it}")
        if it.is_dir() and it.suffix != ".zarr":
            ext = RADAR_SOURCES[source].fn_ext if source in RADAR_SOURCES else None
            cand = sorted(p for p in it.rglob("*") if p.is_file() and not p.name.startswith("."))
            if ext:
                cand = [p for p in cand if p.name.endswith("." + ext)]
            else:
                cand = [p for p in cand if _guessable(p)]
            if not cand:
                raise FileNotFoundError(f"no radar files{f' (*.{ext})' if ext else ''} in {it}")
            out.extend(cand)
        else:
            out.append(it)
    return out


def _guessable(p: Path) -> bool:
    try:
        guess_source(p)
        return True
    except ValueError:
        return False


def _finalize(raw: dict, source: str, max_rate_mmh: float) -> RadarSequence:
    rain = raw["rain"]
    with np.errstate(invalid="ignore"):
        over = rain > max_rate_mmh
        neg = rain < 0
    per_frame = over.sum(axis=(1, 2))
    rain[over] = np.nan
    n_neg = int(neg.sum())
    rain[neg] = 0.0
    attrs = dict(raw.get("attrs", {}))
    attrs.update(
        {
            "max_rate_mmh": float(max_rate_mmh),
            "clipped_per_frame": [int(v) for v in per_frame],
            "n_negative": n_neg,
        }
    )
    if per_frame.sum():
        warnings.warn(
            f"{source}: {int(per_frame.sum())} values > {max_rate_mmh} mm/h set to "
            "NaN (radar artefacts)",
            stacklevel=3,
        )
    # A frame that is all NaN after clipping carries no data: drop it (it becomes a gap).
    empty = ~np.isfinite(rain).any(axis=(1, 2))
    if empty.any():
        files = attrs.get("files", [])
        skipped = attrs.setdefault("skipped", [])
        listed = {str(f) for f, _ in skipped}  # unreadable frames are listed already
        for i in np.flatnonzero(empty):
            name = files[i] if i < len(files) else str(raw["times"][i])
            if str(name) not in listed:
                skipped.append((name, "all NaN"))
        keep = ~empty
        rain, per_frame = rain[keep], per_frame[keep]
        raw["times"] = raw["times"][keep]
        attrs["files"] = [f for f, k in zip(files, keep, strict=False) if k] if files else files
        attrs["clipped_per_frame"] = [int(v) for v in per_frame]
    if rain.shape[0] == 0:
        raise InputError(f"{source}: no frame with data (skipped: {attrs.get('skipped')})")
    return RadarSequence(
        rain_mmh=rain,
        times=raw["times"],
        transform=raw["transform"],
        crs=raw["crs"],
        cell_size=float(raw["cell_size"]),
        source=source,
        n_clipped=int(per_frame.sum()),
        attrs=attrs,
    )
