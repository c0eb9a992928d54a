"""Digital elevation models: the Dem container and its readers (GeoTIFF, ESRI ASCII, npz).

Every reader returns a :class:`Dem` with float32 elevations in metres, row 0 = north,
NaN for nodata (closed walls), and a square cell size in metres.

Geographic grids (degrees, e.g. SRTM in EPSG:4326) keep their georeferencing, but the
solver needs square cells in metres: the cell size becomes the *area-preserving
geometric mean* ``sqrt(dx_m * dy_m)`` of the E-W and N-S sizes at the grid's centre
latitude (as LISFLOOD-FP's jacksboro reference does, 83 m for 3" cells at 36.6 deg N).
Cell areas, and so water volumes, are right; distances are stretched by
``sqrt(dy/dx)`` E-W and compressed N-S (about +-11 % at 37 deg). Reprojecting would
resample the terrain and smear its pits and ridges, so it is left to the user.
"""

# size: every DEM format GDAL and floodcast read (GeoTIFF/COG/VRT/.hgt(.zip)/ESRI ASCII/npz)
# with their strict checks and unit handling.

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.errors import CRSError

from floodcast.errors import InputError

EARTH_RADIUS_M = 6_371_000.0  # mean radius: 1 degree of latitude = 111.195 km
_NON_SQUARE_TOL = 0.01  # relative difference of dx/dy tolerated before saying so


@dataclass
class Dem:
    """A terrain grid in metres.

    Attributes:
        elevation: float32 [y, x], row 0 = north; NaN marks nodata (closed walls).
        cell_size: square cell size in metres (> 0).
        transform: rasterio ``Affine`` of the grid in its CRS, or None if not georeferenced.
        crs: CRS as a string (e.g. "EPSG:32614"), or None.
        source: where it came from (file name), for messages and metadata.
        attrs: extra metadata; ``notes`` (list of str) holds what the reader decided
            (e.g. a degree-to-metre conversion) so commands can report it.
    """

    elevation: np.ndarray
    cell_size: float
    transform: Any | None = None
    crs: str | None = None
    source: str = "<array>"
    attrs: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.elevation.shape  # type: ignore[return-value]

    @property
    def georeferenced(self) -> bool:
        return self.transform is not None and self.crs is not None

    @property
    def nodata_cells(self) -> int:
        """Number of NaN (wall) cells."""
        return int(np.isnan(self.elevation).sum())

    @property
    def notes(self) -> list[str]:
        return self.attrs.setdefault("notes", [])


# --------------------------------------------------------------------------- helpers


def geographic_cell_size(dx_deg: float, dy_deg: float, lat_deg: float) -> tuple[float, float]:
    """E-W and N-S size (m) of a ``dx_deg`` x ``dy_deg`` cell at latitude ``lat_deg``."""
    m_per_deg = math.pi / 180.0 * EARTH_RADIUS_M
    return abs(dx_deg) * m_per_deg * math.cos(math.radians(lat_deg)), abs(dy_deg) * m_per_deg


def _square_cell(dem_source: str, dx: float, dy: float, notes: list[str], unit: str = "m") -> float:
    """One square cell size from (possibly unequal) dx, dy: the geometric mean."""
    if not (math.isfinite(dx) and math.isfinite(dy)) or dx <= 0 or dy <= 0:
        raise InputError(f"{dem_source}: cell size must be positive, got dx={dx}, dy={dy} {unit}")
    if abs(dx - dy) > _NON_SQUARE_TOL * max(dx, dy):
        cell = math.sqrt(dx * dy)
        notes.append(
            f"cells are not square ({dx:.3f} x {dy:.3f} m, E-W x N-S); using the "
            f"area-preserving mean {cell:.3f} m"
        )
        return cell
    return 0.5 * (dx + dy)


def _is_geographic(crs: Any) -> bool:
    try:
        from rasterio.crs import CRS

        return bool(CRS.from_user_input(crs).is_geographic)
    except CRSError:  # unparsable CRS: treat as projected, the caller keeps the string
        return False


def _crs_string(crs: Any) -> str | None:
    if crs is None:
        return None
    try:
        from rasterio.crs import CRS

        c = CRS.from_user_input(crs)
        epsg = c.to_epsg()
        return f"EPSG:{epsg}" if epsg else c.to_wkt()
    except CRSError:
        return str(crs)


def same_crs(a: Any, b: Any) -> bool:
    """Whether two CRS specs (EPSG string, WKT, CRS) name the same CRS; unparsable: compare as given."""
    from rasterio.crs import CRS

    try:
        return CRS.from_user_input(a) == CRS.from_user_input(b)
    except Exception:
        return a == b


def _to_metres(crs: Any, crs_str: str | None, dx: float, dy: float, notes: list[str]):
    """Cell sizes in metres from the projected CRS's linear unit (e.g. US survey feet)."""
    if crs is None:
        return dx, dy
    try:
        from rasterio.crs import CRS

        unit, factor = CRS.from_user_input(crs).linear_units_factor
    except (CRSError, ValueError):  # unparsable or unit-less CRS: metres, as before
        return dx, dy
    if abs(factor - 1.0) < 1e-9:
        return dx, dy
    notes.append(
        f"CRS {crs_str} is in {unit} ({factor:.7g} m): cells of {dx:g} x {dy:g} {unit} "
        f"are {dx * factor:.3f} x {dy * factor:.3f} m"
    )
    return dx * factor, dy * factor


def finish_dem(
    elevation: np.ndarray,
    dx: float,
    dy: float,
    transform: Any | None,
    crs: Any | None,
    source: str,
    notes: list[str] | None = None,
) -> Dem:
    """Validate a raw grid and build a :class:`Dem` (metres, square cells, NaN walls).

    Args:
        elevation: [y, x] array, row 0 = north; NaN = nodata.
        dx, dy: cell size in CRS units (degrees for a geographic CRS, else the
            projection's linear unit: feet are converted to metres here).
        transform: Affine or None. crs: anything rasterio understands, or None.
        source: file name for messages.
        notes: messages gathered by the reader so far.

    Raises:
        InputError: wrong dimensions, all nodata, non-positive cell size.
    """
    notes = list(notes or [])
    elev = np.asarray(elevation)
    if elev.ndim != 2:
        raise InputError(f"{source}: elevation must be 2-D [y, x], got shape {elev.shape}")
    if min(elev.shape) < 3:
        raise InputError(f"{source}: grid {elev.shape} is too small (need at least 3 x 3 cells)")
    elev = elev.astype(np.float32, copy=True)
    elev[~np.isfinite(elev)] = np.nan
    n_nan = int(np.isnan(elev).sum())
    if n_nan == elev.size:
        raise InputError(f"{source}: every cell is nodata (all {elev.size} cells)")
    crs_str = _crs_string(crs)
    attrs: dict[str, Any] = {}
    if crs is not None and _is_geographic(crs):
        if transform is not None:
            rows = np.array([0.0, elev.shape[0]])
            lat_c = float(np.mean(transform.f + transform.e * rows))
        else:
            lat_c = 0.0
        if not -90 <= lat_c <= 90:
            raise InputError(f"{source}: geographic CRS but centre latitude {lat_c} is invalid")
        dx_m, dy_m = geographic_cell_size(dx, dy, lat_c)
        if dx_m <= 0 or dy_m <= 0:
            raise InputError(f"{source}: cell size must be positive, got {dx} x {dy} degrees")
        cell = math.sqrt(dx_m * dy_m)
        notes.append(
            f"geographic CRS ({crs_str}): {abs(dx):.6g} x {abs(dy):.6g} deg cells are "
            f"{dx_m:.2f} m E-W x {dy_m:.2f} m N-S at the centre latitude {lat_c:.3f}; "
            f"using square {cell:.2f} m cells (area-preserving geometric mean)"
        )
        attrs.update(dx_m=dx_m, dy_m=dy_m, centre_lat=lat_c)
    else:
        dx, dy = _to_metres(crs, crs_str, float(dx), float(dy), notes)
        cell = _square_cell(source, dx, dy, notes)
        attrs.update(dx_m=dx, dy_m=dy)
    if n_nan:
        notes.append(f"{n_nan} nodata cells ({100 * n_nan / elev.size:.2f} %) are closed walls")
    attrs["nodata_cells"] = n_nan
    attrs["notes"] = notes
    return Dem(elev, float(cell), transform, crs_str, source, attrs)


# --------------------------------------------------------------------------- readers


def _require_file(path: Path) -> None:
    if not path.exists():
        raise InputError(f"DEM file not found: {path}")
    if not path.is_file():
        raise InputError(f"DEM path is not a file: {path}")


_ASC_KEYS = {
    "ncols",
    "nrows",
    "xllcorner",
    "yllcorner",
    "xllcenter",
    "yllcenter",
    "cellsize",
    "dx",
    "dy",
    "nodata_value",
}


def read_esri_ascii(path: str | Path) -> Dem:
    """Read an ESRI ASCII grid strictly: every row must hold exactly ``ncols`` values.

    GDAL pads short or truncated files silently, so this parser counts rows and columns
    itself. Without a CRS (no ``.prj`` beside it), a grid whose cell size is below 0.01
    and whose corner lies in lon/lat range is taken as degrees (EPSG:4326), and said so.

    Raises:
        InputError: naming the file and line for a bad header, ragged row, truncated
            file, non-numeric value, all-nodata grid or non-positive cell size.
    """
    from rasterio.transform import Affine

    path = Path(path)
    _require_file(path)
    src = str(path)
    try:
        lines = path.read_text(encoding="ascii", errors="strict").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read DEM file {path}: {exc}") from exc
    header: dict[str, float] = {}
    i = 0
    while i < len(lines):
        parts = lines[i].split()
        if not parts:
            i += 1
            continue
        key = parts[0].lower()
        if not re.match(r"^[a-z_]+$", key) or key in ("nan", "inf", "infinity"):
            break  # the data block (which may start with a NaN)
        if key not in _ASC_KEYS or len(parts) != 2:
            raise InputError(f"{path}: line {i + 1}: unknown or malformed header {lines[i]!r}")
        try:
            header[key] = float(parts[1])
        except ValueError:
            raise InputError(
                f"{path}: line {i + 1}: header value is not a number: {lines[i]!r}"
            ) from None
        i += 1
    for key in ("ncols", "nrows"):
        if key not in header:
            raise InputError(f"{path}: ESRI ASCII header lacks {key.upper()}")
    ncols, nrows = int(header["ncols"]), int(header["nrows"])
    if ncols <= 0 or nrows <= 0 or ncols != header["ncols"] or nrows != header["nrows"]:
        raise InputError(f"{path}: NCOLS/NROWS must be positive integers, got {ncols} x {nrows}")
    if "cellsize" in header:
        dx = dy = header["cellsize"]
    elif "dx" in header and "dy" in header:
        dx, dy = header["dx"], header["dy"]
    else:
        raise InputError(f"{path}: ESRI ASCII header lacks CELLSIZE (or DX and DY)")
    if not dx > 0 or not dy > 0:
        raise InputError(f"{path}: cell size must be positive, got CELLSIZE {dx} x {dy}")
    rows: list[list[str]] = []
    for j in range(i, len(lines)):
        parts = lines[j].split()
        if not parts:
            continue
        if len(parts) != ncols:
            raise InputError(
                f"{path}: line {j + 1} (data row {len(rows) + 1}) has {len(parts)} values, "
                f"NCOLS says {ncols} (ragged or truncated file)"
            )
        rows.append(parts)
    if len(rows) != nrows:
        raise InputError(f"{path}: {len(rows)} data rows, NROWS says {nrows} (truncated file?)")
    try:
        elev = np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise InputError(f"{path}: non-numeric value in the data block ({exc})") from None
    if "nodata_value" in header:
        elev[elev == header["nodata_value"]] = np.nan
    if "xllcorner" in header:
        x0, y0 = header["xllcorner"], header.get("yllcorner", 0.0)
    else:
        x0 = header.get("xllcenter", 0.0) - dx / 2
        y0 = header.get("yllcenter", 0.0) - dy / 2
    transform = Affine(dx, 0.0, x0, 0.0, -dy, y0 + nrows * dy)
    notes: list[str] = []
    crs = None
    prj = path.with_suffix(".prj")
    if prj.exists():
        crs = prj.read_text().strip() or None
    elif dx < 0.01 and -180 <= x0 <= 180 and -90 <= y0 <= 90 and y0 + nrows * dy <= 90:
        crs = "EPSG:4326"
        notes.append(f"no .prj and cell size {dx:g} < 0.01: assuming degrees (EPSG:4326)")
    return finish_dem(elev, dx, dy, transform, crs, src, notes)


def read_geotiff(path: str | Path) -> Dem:
    """Read band 1 of a GeoTIFF (or any single-band raster GDAL reads) into a :class:`Dem`.

    ``path`` may be a GDAL path such as ``/vsizip/tile.zip/N38W028.hgt`` or ``/vsicurl/...``.

    Raises:
        InputError: unreadable or truncated file, rotated grid, all nodata, bad cell size.
    """
    from floodcast.io.dem_gdal import read_gdal

    spec = str(path)
    if not spec.startswith("/vsi"):
        _require_file(Path(path))
    arr, transform, crs, _ = read_gdal(spec)
    if transform.is_identity:
        notes = ["raster has no georeferencing: assuming 1 m cells"]
        return finish_dem(arr, 1.0, 1.0, None, None, spec, notes)
    return finish_dem(arr, abs(transform.a), abs(transform.e), transform, crs, spec)


def read_npz(path: Path, what: str) -> dict[str, np.ndarray]:
    """All arrays of an npz file (no pickles); InputError naming the file if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as exc:
        raise InputError(f"cannot read {what} file {path}: {exc}") from exc


def read_npz_dem(path: str | Path) -> Dem:
    """Read an npz with ``elevation`` [y, x] (m) and ``cell_size`` (m), row 0 = north.

    Also accepts the reference-case keys ``dem`` / ``cellsize_m``. Optional keys:
    ``transform`` (6 Affine coefficients a, b, c, d, e, f) and ``crs`` (string).
    """
    from rasterio.transform import Affine

    path = Path(path)
    _require_file(path)
    data = read_npz(path, "DEM")
    ekey = next((k for k in ("elevation", "dem") if k in data), None)
    ckey = next((k for k in ("cell_size", "cellsize_m", "cellsize") if k in data), None)
    if ekey is None or ckey is None:
        raise InputError(
            f"{path}: npz DEM needs arrays 'elevation' [y, x] (m) and 'cell_size' (m); "
            f"found {sorted(data)}"
        )
    try:
        cell = float(np.asarray(data[ckey]).reshape(()))
    except ValueError:
        raise InputError(f"{path}: '{ckey}' must be a single number (m)") from None
    if not math.isfinite(cell) or cell <= 0:
        raise InputError(f"{path}: cell size must be positive, got {ckey}={cell}")
    transform = (
        Affine(*np.asarray(data["transform"], float).ravel()[:6]) if "transform" in data else None
    )
    crs = str(data["crs"]) if "crs" in data else None
    if transform is not None and crs is not None and _is_geographic(crs):
        # a geographic npz carries its cell size in degrees in the transform
        return finish_dem(data[ekey], abs(transform.a), abs(transform.e), transform, crs, str(path))
    return finish_dem(data[ekey], cell, cell, transform, crs, str(path))


SAMPLE_NAMES = ("sample", "jacksboro")


def read_dem(path: str | Path, elevation_units: str = "m") -> Dem:
    """Read a DEM, its format chosen by content (see :mod:`floodcast.io.dem_gdal`).

    ``path`` is a file (GeoTIFF/COG, VRT, SRTM ``.hgt`` or ``.hgt.zip``, ESRI ASCII,
    npz, or any other raster GDAL reads), a GDAL ``/vsi...`` path, or ``sample``
    (matplotlib's Jacksboro DEM). ``elevation_units`` (m, ft, ftUS) converts the
    elevations to metres; the choice is recorded in the DEM's notes.

    Raises:
        InputError: missing/unreadable file, a format no reader knows, bad units.
    """
    from floodcast.io.dem_gdal import sniff

    spec = str(path)
    if spec in SAMPLE_NAMES:
        dem = sample_dem()
    elif spec.startswith("/vsi"):
        dem = read_geotiff(spec)
    else:
        p = Path(path)
        _require_file(p)
        kind, target = sniff(p)
        if kind == "npz":
            dem = read_npz_dem(p)
        elif kind == "asc":
            dem = read_esri_ascii(p)
        else:
            dem = read_geotiff(target)
            dem.source = spec
    return in_metres(dem, elevation_units)


def in_metres(dem: Dem, elevation_units: str) -> Dem:
    """``dem`` with its elevations converted from ``elevation_units`` (m, ft, ftUS) to metres.

    The one conversion of ``--elevation-units``: :func:`read_dem` applies it to files, and
    the simulate job and Python API to Dem objects and DataArrays. The note says which.

    Raises:
        InputError: an unknown unit (lists the valid ones).
    """
    from floodcast.io.dem_gdal import scale_elevation

    elev, note = scale_elevation(dem.elevation, elevation_units, dem.source)
    return replace(dem, elevation=elev, attrs={**dem.attrs, "notes": [*dem.notes, note]})


def sample_dem() -> Dem:
    """Matplotlib's bundled 'Jacksboro fault' SRTM DEM (344 x 403, 3" cells), no download.

    The file's ``ymin``/``ymax`` are swapped: ``ymin`` (36.73) is the northern edge and
    row 0 is north, so the array is used as is. Cells become square metres as for any
    geographic grid (about 83 m; see the module notes).
    """
    from matplotlib import cbook
    from rasterio.transform import Affine

    z = cbook.get_sample_data("jacksboro_fault_dem.npz")
    data = z if hasattr(z, "files") else np.load(z)
    elev = np.asarray(data["elevation"], dtype=np.float64)
    dx, dy = float(data["dx"]), float(data["dy"])
    north = max(float(data["ymin"]), float(data["ymax"]))
    transform = Affine(dx, 0.0, float(data["xmin"]), 0.0, -dy, north)
    return finish_dem(elev, dx, dy, transform, "EPSG:4326", "matplotlib:jacksboro_fault_dem.npz")
