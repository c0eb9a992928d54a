"""Radar sources by name: pysteps importers, file-name time patterns, unit conversion.

Each :class:`RadarSource` says how to read one frame (a pysteps importer name or a
callable with pysteps' ``(filename, **kw) -> (precip, quality, metadata)`` signature),
how to find the frame time in a file name (a pysteps-style ``fn_pattern``), and the
keyword arguments the importer needs. ``RADAR_SOURCES`` is the registry; an unknown
name raises an error that lists the valid ones.

pysteps' own rc entry for FMI GeoTIFF is wrong (importer "geotiff" does not exist and
the pattern repeats the ".tif" extension) and its ``import_fmi_geotiff`` needs GDAL's
Python bindings; :func:`import_fmi_geotiff_rasterio` reads the same files with rasterio
using the gain/offset/nodata/undetect written in the file's GDAL metadata.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from floodcast.errors import InputError

# ---------------------------------------------------------------- file-name times
_TOKENS = {
    "%Y": r"\d{4}",
    "%y": r"\d{2}",
    "%m": r"\d{2}",
    "%d": r"\d{2}",
    "%H": r"\d{2}",
    "%M": r"\d{2}",
    "%S": r"\d{2}",
    "%j": r"\d{3}",
}
# Fallback for generic stacks: 201609281445, 20160928T1445, 2016-09-28_14:45[:00] …
_GENERIC_TIME = re.compile(
    r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})[T_ -]?(\d{2}):?(\d{2})(?::?(\d{2}))?(?!\d)"
)


def pattern_regex(fn_pattern: str) -> tuple[re.Pattern, str]:
    """A regex with one group per strftime token of a pysteps ``fn_pattern`` ('?' = any char)."""
    rx, fmt, i = "", "", 0
    while i < len(fn_pattern):
        tok = fn_pattern[i : i + 2]
        if tok in _TOKENS:
            rx += f"({_TOKENS[tok]})"
            fmt += tok
            i += 2
            continue
        rx += "." if fn_pattern[i] == "?" else re.escape(fn_pattern[i])
        i += 1
    return re.compile(rx), fmt


def time_from_name(path: str | Path, fn_pattern: str | None) -> np.datetime64 | None:
    """Frame time from a file name, using the source's pattern, else a generic timestamp."""
    name = Path(path).name
    if fn_pattern:
        rx, fmt = pattern_regex(fn_pattern)
        m = rx.search(name)
        if m:
            return np.datetime64(datetime.strptime("".join(m.groups()), fmt), "s")
    m = _GENERIC_TIME.search(name)
    if m:
        parts = [int(g) if g else 0 for g in m.groups()]
        try:
            return np.datetime64(datetime(*parts), "s")
        except ValueError:
            return None
    return None


# ---------------------------------------------------------------- custom importers
def import_fmi_geotiff_rasterio(filename: str, **kwargs) -> tuple[np.ndarray, None, dict]:
    """FMI reflectivity GeoTIFF (dBZ) with rasterio, as pysteps' ``import_fmi_geotiff``.

    Scaling comes from the file's GDAL metadata (Gain 0.5, Offset -32, Nodata 255,
    Undetect 0 in FMI's files); pysteps' hard-coded ``(x - 64) / 2`` is the fallback.
    """
    import rasterio

    with rasterio.open(filename) as src:
        raw = src.read(1)
        gmd = src.tags().get("GDAL_METADATA", "")
        tr, crs = src.transform, src.crs

    def item(name: str, default: float) -> float:
        m = re.search(rf'<Item name="{name}"[^>]*>([^<]+)</Item>', gmd)
        return float(m.group(1)) if m else default

    gain, offset = item("Gain", 0.5), item("Offset", -32.0)
    nodata, undetect = item("Nodata", 255.0), item("Undetect", 0.0)
    dbz = raw.astype(np.float32) * np.float32(gain) + np.float32(offset)
    dbz[raw == nodata] = np.nan
    ny, nx = raw.shape
    md = {
        "projection": crs.to_proj4() if crs else None,
        "crs_wkt": crs.to_wkt() if crs else None,
        "x1": tr.c,
        "x2": tr.c + tr.a * nx,
        "y2": tr.f,
        "y1": tr.f + tr.e * ny,
        "xpixelsize": abs(tr.a),
        "ypixelsize": abs(tr.e),
        "yorigin": "upper" if tr.e < 0 else "lower",
        "institution": "Finnish Meteorological Institute",
        "unit": "dBZ",
        "transform": "dB",
        "accutime": 5.0,
        "threshold": offset + gain * (undetect + 1),
        "zerovalue": offset + gain * undetect,
        "cartesian_unit": "m",
        "zr_a": 223.0,
        "zr_b": 1.53,
    }
    return dbz, None, md


def import_pysteps_io():
    """``pysteps.io``, without the "configuration file found" line pysteps prints on import."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        import pysteps.io
    return pysteps.io


# ---------------------------------------------------------------- registry
@dataclass(frozen=True)
class RadarSource:
    """How to read one radar product.

    Attributes:
        name: registry key (short name, e.g. "fmi").
        importer: pysteps importer name (``pysteps.io.get_method(name, "importer")``) or a
            callable with the same signature; None for generic stacks read elsewhere.
        fn_pattern: pysteps-style file-name pattern holding the frame time, or None.
        fn_ext: file extension without the dot (e.g. "pgm.gz").
        importer_kwargs: passed to the importer.
        timestep_min: nominal interval in minutes (informative; data decide).
        description: one line for listings.
    """

    name: str
    importer: str | Callable | None
    fn_pattern: str | None = None
    fn_ext: str | None = None
    importer_kwargs: dict = field(default_factory=dict)
    timestep_min: float | None = None
    description: str = ""

    def load_importer(self) -> Callable:
        if callable(self.importer):
            return self.importer
        return import_pysteps_io().get_method(self.importer, "importer")

    def matches(self, path: str | Path) -> bool:
        name = Path(path).name
        if self.fn_ext and not name.endswith("." + self.fn_ext):
            return False
        return bool(self.fn_pattern and pattern_regex(self.fn_pattern)[0].search(name))


_FMI = RadarSource(
    "fmi",
    "fmi_pgm",
    "%Y%m%d%H%M_fmi.radar.composite.lowest_FIN_SUOMI1",
    "pgm.gz",
    {"gzipped": True},
    5,
    "FMI PGM composite (dBZ, Z=223R^1.53)",
)
_FMI_TIF = RadarSource(
    "fmi_geotiff",
    import_fmi_geotiff_rasterio,
    "%Y%m%d%H%M_FINUTM",
    "tif",
    {},
    5,
    "FMI GeoTIFF 250 m (dBZ), read with rasterio",
)
_MCH = RadarSource(
    "mch",
    "mch_gif",
    "AQC%y%j%H%M?_00005.801",
    "gif",
    {"product": "AQC", "unit": "mm", "accutime": 5},
    5,
    "MeteoSwiss AQC GIF (mm per 5 min)",
)
_BOM = RadarSource(
    "bom",
    "bom_rf3",
    "2_%Y%m%d_%H%M00.prcp-cscn",
    "nc",
    {},
    6,
    "BoM Rainfields 3 netCDF (mm per 6 min)",
)
_OPERA = RadarSource(
    "opera",
    "odim_hdf5",
    "T_PAAH21_C_EUOC_%Y%m%d%H%M%S",
    "hdf",
    {},
    15,
    "EUMETNET OPERA ODIM HDF5 (RATE mm/h)",
)

RADAR_SOURCES: dict[str, RadarSource] = {
    "fmi": _FMI,
    "fmi_pgm": _FMI,
    "fmi_geotiff": _FMI_TIF,
    "mch": _MCH,
    "mch_gif": _MCH,
    "bom": _BOM,
    "bom_rf3": _BOM,
    "opera": _OPERA,
    "odim_hdf5": _OPERA,
    "opera_hdf5": _OPERA,
    # Other pysteps importers: times from a generic timestamp in the file name.
    "dwd_hdf5": RadarSource("dwd_hdf5", "dwd_hdf5", description="DWD ODIM HDF5"),
    "dwd_radolan": RadarSource(
        "dwd_radolan",
        "dwd_radolan",
        None,
        None,
        {"product": "RY"},
        description="DWD RADOLAN binary (RY)",
    ),
    "knmi_hdf5": RadarSource(
        "knmi_hdf5",
        "knmi_hdf5",
        "RAD_NL25_RAP_5min_%Y%m%d%H%M",
        "h5",
        {"accutime": 5, "pixelsize": 1000.0},
        5,
        "KNMI HDF5",
    ),
    "mch_hdf5": RadarSource("mch_hdf5", "mch_hdf5", description="MeteoSwiss HDF5"),
    "mch_metranet": RadarSource("mch_metranet", "mch_metranet", description="MeteoSwiss METRANET"),
    "mrms_grib": RadarSource("mrms_grib", "mrms_grib", description="NOAA MRMS GRIB2"),
    "saf_crri": RadarSource("saf_crri", "saf_crri", description="NWC SAF CRR-I netCDF"),
    # Generic stacks, read with xarray / rasterio (see radar_generic).
    "netcdf": RadarSource("netcdf", None, None, "nc", description="NetCDF stack (time, y, x)"),
    "zarr": RadarSource("zarr", None, None, "zarr", description="zarr stack (time, y, x)"),
    "geotiff": RadarSource(
        "geotiff", None, None, "tif", description="GeoTIFF frames (one per file, time in the name)"
    ),
}
# short names, so that every command takes the same words (radar info, predict, simulate…)
for _short, _full in (
    ("knmi", "knmi_hdf5"),
    ("mrms", "mrms_grib"),
    ("dwd", "dwd_hdf5"),
    ("radolan", "dwd_radolan"),
    ("saf", "saf_crri"),
    ("nc", "netcdf"),
    ("tif", "geotiff"),
):
    RADAR_SOURCES[_short] = RADAR_SOURCES[_full]
GENERIC_SOURCES = ("netcdf", "zarr", "geotiff")


def parse_radar_spec(spec: str | Path) -> tuple[str | None, str]:
    """Split ``SOURCE:PATH`` (e.g. ``fmi:radar/``, ``knmi:RAD.h5``) into (source, path).

    A spec whose prefix is no source name, or that names an existing path as a
    whole, is a bare path (source None: guessed from the file names).
    """
    text = str(spec)
    head, sep, tail = text.partition(":")
    if sep and head.lower() in RADAR_SOURCES and not Path(text).exists():
        return head.lower(), tail
    return None, text


def get_source(name: str) -> RadarSource:
    """The registry entry for ``name``; unknown names raise listing the valid ones."""
    try:
        return RADAR_SOURCES[name]
    except KeyError:
        raise InputError(
            f"unknown radar source {name!r}; valid: {', '.join(sorted(RADAR_SOURCES))}"
        ) from None


def guess_source(path: str | Path) -> str:
    """Guess the source name from a file name (pattern first, then extension)."""
    p = Path(path)
    for key in ("fmi", "fmi_geotiff", "mch", "bom", "opera", "knmi_hdf5"):
        if RADAR_SOURCES[key].matches(p):
            return key
    name = p.name.lower()
    by_ext = [
        ((".pgm", ".pgm.gz"), "fmi"),
        ((".gif",), "mch"),
        ((".h5", ".hdf", ".hdf5"), "odim_hdf5"),
        ((".grib2", ".grib2.gz"), "mrms_grib"),
        ((".zarr", ".zarr/"), "zarr"),
        ((".tif", ".tiff"), "geotiff"),
    ]
    for exts, key in by_ext:
        if name.endswith(exts):
            return key
    if name.endswith((".nc", ".nc4", ".netcdf")):
        return "bom" if _looks_like_bom(p) else "netcdf"
    raise InputError(
        f"{path}: cannot guess the radar source from the file name; pass source= one of "
        f"{', '.join(sorted(RADAR_SOURCES))}"
    )


def _looks_like_bom(path: Path) -> bool:
    try:
        import netCDF4

        from floodcast.io.locks import NETCDF_LOCK

        with NETCDF_LOCK, netCDF4.Dataset(path) as ds:
            return "precipitation" in ds.variables and "valid_time" in ds.variables
    except OSError:
        return False
