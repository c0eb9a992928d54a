"""Read a list of radar files with one pysteps importer into a [t, y, x] mm/h stack.

Every file is checked from its header first (:func:`~floodcast.io.radar_headers.
check_radar_header`: a frame declared too big, an empty or cut file never reaches the
importer); with ``skip_bad`` a refused file is a skipped frame like an unreadable one.
A gzip'd GRIB2 (MRMS ``.grib2.gz``, which pygrib cannot open) is inflated to a temporary
file, at most the header check's byte bound, and removed after the read.
"""

from __future__ import annotations

import contextlib
import gzip
import itertools
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from affine import Affine

from floodcast.defaults import RADAR_MAX_DECLARED_BYTES
from floodcast.errors import InputError
from floodcast.io.locks import NETCDF_LOCK
from floodcast.io.radar_headers import RadarHeaderError, check_radar_header, is_gzip
from floodcast.io.radar_sources import RadarSource, time_from_name
from floodcast.io.radar_units import to_mmh

# the floodcast extra that brings an importer's optional package (pyproject.toml)
_EXTRAS = {"mrms_grib": "gis"}
# MeteoSwiss GIF products: (unit, accumulation minutes) by the file-name prefix.
_MCH_PRODUCTS = {"AQC": ("mm", 5), "CPC": ("mm", 5), "RZC": ("mm/h", 5)}


def frame_time(path: Path, spec: RadarSource) -> np.datetime64:
    """Nominal time of a frame: file-name pattern, else ODIM /what date+time."""
    t = time_from_name(path, spec.fn_pattern)
    if t is None and path.suffix.lower() in (".h5", ".hdf", ".hdf5"):
        t = _odim_time(path)
    if t is None:
        raise InputError(
            f"{path}: no timestamp in the file name (expected pattern "
            f"{spec.fn_pattern or 'YYYYmmddHHMM'})"
        )
    return t


def _odim_time(path: Path) -> np.datetime64 | None:
    try:
        import h5py

        with h5py.File(path, "r") as f:
            d, t = (f["what"].attrs[k] for k in ("date", "time"))
        d, t = (v.decode() if isinstance(v, bytes) else str(v) for v in (d, t))
        return np.datetime64(f"{d[:4]}-{d[4:6]}-{d[6:8]}T{t[:2]}:{t[2:4]}:{t[4:6]}", "s")
    except (OSError, KeyError, ImportError):
        return None


def _kwargs_for(path: Path, spec: RadarSource) -> dict:
    kw = dict(spec.importer_kwargs)
    if "gzipped" in kw:
        kw["gzipped"] = path.name.endswith(".gz")
    if spec.importer == "mch_gif":
        prod = path.name[:3].upper()
        if prod in _MCH_PRODUCTS:
            kw.update(product=prod, unit=_MCH_PRODUCTS[prod][0], accutime=_MCH_PRODUCTS[prod][1])
    return kw


def _grid(md: dict, shape: tuple[int, int], path: Path) -> tuple[Affine, float, str | None]:
    """Transform (row 0 = north) from pysteps metadata; (x1, y2) is the north-west corner.

    pysteps' x2/y1 are not always the far edges (BoM stores edge coordinates and
    pysteps takes their max), so the grid is built from x1, y2 and the pixel sizes.
    """
    for k in ("x1", "y2", "xpixelsize", "ypixelsize"):
        if md.get(k) is None or not np.isfinite(float(md[k])):
            raise InputError(f"{path}: metadata field {k!r} missing: no georeferencing")
    xs, ys = float(md["xpixelsize"]), float(md["ypixelsize"])
    if md.get("yorigin", "upper") == "upper":
        top = float(md["y2"])
    else:  # south-up: we flip rows, so the top edge is y1 + ny * ysize
        top = float(md["y1"]) + shape[0] * ys
    scale = 1000.0 if md.get("cartesian_unit") == "km" else 1.0
    tr = Affine(xs * scale, 0, float(md["x1"]) * scale, 0, -ys * scale, top * scale)
    crs = md.get("crs_wkt") or md.get("projection")
    if scale != 1.0 and crs and "+a=" in crs:
        crs = _proj_in_metres(crs)
    return tr, xs * scale, crs


def _proj_in_metres(proj4: str) -> str:
    """A PROJ string whose ellipsoid (and false origin) are in km, in metres.

    KNMI's files give ``+a=6378.137 +b=6356.752`` so that the projection works in km, the
    unit of their grid; the grid is scaled to metres here, so the ellipsoid must be too
    (PROJ refuses a 6.4 km "Earth" as another celestial body).
    """
    import re

    def metres(m: re.Match) -> str:
        value = float(m.group(2))
        return f"+{m.group(1)}={value * 1000.0:.10g}"

    if not re.search(r"\+a=(\d{1,5}(\.\d*)?)(\s|$)", proj4):  # already metres (6378137)
        return proj4
    return re.sub(r"\+(a|b|x_0|y_0)=([-+]?\d+(?:\.\d*)?)", metres, proj4)


def read_frames(
    files: list[Path], spec: RadarSource, *, t0=None, t1=None, skip_bad: bool = False
) -> dict:
    """Read ``files`` (sorted by time, filtered to [t0, t1]) into a float32 mm/h stack.

    With ``skip_bad`` a frame the importer cannot read becomes all NaN (so a gap, see
    ``read_radar``) and is listed in ``attrs["skipped"]`` with the reason.

    Raises:
        ValueError: naming the file on unreadable data, a differing grid, a differing
            accumulation time, duplicate or irregular timestamps.
    """
    if not files:
        raise InputError(f"no {spec.name} radar files given")
    timed, untimed = [], []
    for f in map(Path, files):
        try:
            timed.append((frame_time(f, spec), f))
        except InputError:
            try:  # a cut ODIM file has no readable time: its header says what is wrong
                check_radar_header(f)
            except RadarHeaderError as exc:
                if not skip_bad:
                    raise
                untimed.append((str(f), _refused(exc)))
                continue
            raise
    if not timed:
        raise InputError(f"no readable {spec.name} frame in {files[0]} ({len(untimed)} refused)")
    timed.sort()
    timed = [(t, f) for t, f in timed if (t0 is None or t >= t0) and (t1 is None or t <= t1)]
    if not timed:
        raise InputError(f"no {spec.name} frames between {t0} and {t1} in {files[0].parent}")
    for (ta, fa), (tb, fb) in itertools.pairwise(timed):
        if ta == tb:
            raise InputError(f"duplicate time {ta}: {fa} and {fb}")
    check_spacing([t for t, _ in timed], [f for _, f in timed])
    importer = spec.load_importer()
    rain = None
    ref: dict = {}
    attrs: dict = {"files": [str(f) for _, f in timed], "skipped": untimed, "flipped": False}
    bad: list[int] = []
    for i, (_, f) in enumerate(timed):
        try:
            check_radar_header(f)  # before the importer decodes it: the bound in defaults.py
        except RadarHeaderError as exc:
            if not skip_bad:
                raise
            attrs["skipped"].append((str(f), _refused(exc)))
            bad.append(i)
            continue
        try:
            # the lock: BoM's importer calls netCDF4, not thread-safe (io.locks)
            with _readable(f, spec) as src, warnings.catch_warnings(), NETCDF_LOCK:
                warnings.simplefilter("ignore")
                precip, _, md = importer(str(src), **_kwargs_for(f, spec))
        except InputError as exc:  # ours (_readable), naming the file already
            if not skip_bad:
                raise
            attrs["skipped"].append((str(f), f"unreadable ({exc})"[:200]))
            bad.append(i)
            continue
        except Exception as exc:  # importer errors rarely say which file
            if type(exc).__name__ == "MissingOptionalDependency":  # pysteps: say how to fix
                extra = _EXTRAS.get(spec.name, "")
                raise InputError(
                    f"{f}: the {spec.name} reader needs a package that is not installed: "
                    f"{exc}" + (f" (pip install 'floodcast[{extra}]')" if extra else "")
                ) from exc
            if not skip_bad:
                raise InputError(f"{f}: {spec.name} importer failed: {exc}") from exc
            attrs["skipped"].append((str(f), f"unreadable ({type(exc).__name__}: {exc})"[:200]))
            bad.append(i)
            continue
        rate, md2 = to_mmh(precip, md, where=str(f))
        if md.get("yorigin", "upper") == "lower":
            rate = rate[::-1]
            attrs["flipped"] = True
        if rain is None:
            tr, cell, crs = _grid(md, rate.shape, f)
            ref = {"shape": rate.shape, "transform": tr, "accutime": md.get("accutime")}
            rain = np.empty((len(timed), *rate.shape), dtype=np.float32)
            attrs.update(
                unit_in=md2.get("unit_in"),
                accutime_min=md.get("accutime"),
                institution=md.get("institution"),
                pixel_size_xy=(float(md["xpixelsize"]), float(md["ypixelsize"])),
            )
            if md2.get("unit_in") == "dBZ":
                attrs["zr"] = (float(md2["zr_a"]), float(md2["zr_b"]))
        else:
            if rate.shape != ref["shape"]:
                raise InputError(
                    f"{f}: grid {rate.shape} differs from {ref['shape']} of {timed[0][1]}"
                )
            if not _grid(md, rate.shape, f)[0].almost_equals(ref["transform"]):
                raise InputError(f"{f}: georeferencing differs from {timed[0][1]}")
            if md.get("accutime") != ref["accutime"]:
                raise InputError(
                    f"{f}: accumulation interval {md.get('accutime')} min "
                    f"differs from {ref['accutime']} min of {timed[0][1]}"
                )
        rain[i] = rate
    if rain is None:
        raise InputError(
            f"no readable {spec.name} frame in {files[0].parent} ({len(bad)} unreadable)"
        )
    rain[bad] = np.nan  # unreadable frames: dropped as gaps by read_radar
    return {
        "rain": rain,
        "times": np.array([t for t, _ in timed], dtype="datetime64[s]"),
        "transform": tr,
        "crs": crs,
        "cell_size": cell,
        "attrs": attrs,
    }


def _refused(exc: RadarHeaderError) -> str:
    """The ``attrs["skipped"]`` reason of a file refused from its header."""
    return f"unreadable (refused from its header: {exc})"[:200]


@contextlib.contextmanager
def _readable(path: Path, spec: RadarSource) -> Iterator[Path]:
    """``path``, or for a gzip'd MRMS GRIB2 a temporary inflated copy (pygrib opens files
    by name and cannot read gzip), at most ``RADAR_MAX_DECLARED_BYTES``, removed after."""
    if spec.importer != "mrms_grib" or not is_gzip(path):
        yield path
        return
    fd, tmp = tempfile.mkstemp(prefix=".floodcast-", suffix=".grib2")
    try:
        try:
            _inflate(path, fd)
        except (OSError, EOFError) as exc:  # gzip damaged or cut short
            raise InputError(f"{path.name}: cannot inflate gzip'd GRIB2 ({exc})") from None
        yield Path(tmp)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _inflate(path: Path, fd: int) -> None:
    """Inflate ``path`` into the open file ``fd`` in 1 MB chunks, refusing past the bound."""
    with gzip.open(path, "rb") as src, os.fdopen(fd, "wb") as dst:
        left = RADAR_MAX_DECLARED_BYTES + 1  # one byte over the bound: refuse
        while left > 0 and (chunk := src.read(min(left, 1 << 20))):
            dst.write(chunk)
            left -= len(chunk)
    if left <= 0:
        raise InputError(
            f"{path.name}: inflates to more than the {RADAR_MAX_DECLARED_BYTES} bytes a "
            "radar file may have"
        )


def check_spacing(times: list, names: list) -> None:
    """Fail on spacings that are not whole multiples of the shortest one.

    Whole multiples (missing frames) are gaps, reported by ``RadarSequence.gaps``;
    anything else means differing intervals, which cannot be one sequence.
    """
    if len(times) < 3:
        return
    d = np.diff(np.asarray(times, dtype="datetime64[s]")).astype(float)
    step = float(d.min())
    ratio = d / step
    bad = np.flatnonzero(np.abs(ratio - np.round(ratio)) > 1e-6)
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"irregular time spacing: {names[i]} -> {names[i + 1]} is {d[i] / 60:g} min, "
            f"not a multiple of the {step / 60:g} min interval (differing intervals cannot "
            "be mixed; select a consistent subset with start=/end= or separate the files)"
        )
