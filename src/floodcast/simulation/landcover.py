"""Land cover -> Manning n: a ``class,n[,name]`` table and the default ESA WorldCover table.

The default n values are the "normal" values of Chow (1959), *Open-Channel Hydraulics*,
Table 5-6 (D-2 floodplains; lined channels for paved surfaces; main channels for water), one
per ESA WorldCover 2020/2021 class (Zanaga et al. 2021, product user manual, class codes
10-100). The choice of the Chow entry for each class is documented in
docs/guide/physics-real-places.md.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem

from .surface import read_on_dem_grid


@dataclass(frozen=True)
class ClassN:
    """One land-cover class: its Manning n (s m^-1/3) and a name."""

    n: float
    name: str = ""


# ESA WorldCover code: (n, name, Chow 1959 Table 5-6 entry used)
WORLDCOVER = {
    10: (0.100, "Tree cover", "trees: heavy stand of timber, flood stage below branches"),
    20: (0.070, "Shrubland", "brush: medium to dense brush, in winter"),
    30: (0.035, "Grassland", "pasture, no brush: high grass"),
    40: (0.035, "Cropland", "cultivated areas: mature row crops"),
    50: (0.015, "Built-up", "lined channels: concrete, float finish (paved surfaces)"),
    60: (0.030, "Bare / sparse vegetation", "cultivated areas: no crop"),
    70: (0.030, "Snow and ice", "no table entry: as bare ground (cultivated, no crop)"),
    80: (0.030, "Permanent water bodies", "main channels: clean, straight, full stage"),
    90: (0.050, "Herbaceous wetland", "brush: scattered brush, heavy weeds"),
    95: (0.120, "Mangroves", "trees: heavy stand of timber, flood stage reaching branches"),
    100: (0.030, "Moss and lichen", "pasture, no brush: short grass"),
}
WORLDCOVER_TABLE = {k: ClassN(n, name) for k, (n, name, _) in WORLDCOVER.items()}


def read_manning_table(path: str | Path) -> dict[int, ClassN]:
    """Read ``class,n[,name]`` rows (an optional header line; ``#`` comments).

    Raises:
        InputError: missing file, a bad row (names the line), n <= 0, a class given twice.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--manning-table: file not found: {path}")
    table: dict[int, ClassN] = {}
    try:
        with open(path, newline="") as fh:
            for i, rec in enumerate(csv.reader(fh), start=1):
                rec = [v.strip() for v in rec]
                if not rec or not "".join(rec) or rec[0].startswith("#"):
                    continue
                try:
                    cls, n = int(float(rec[0])), float(rec[1])
                    if float(rec[0]) != cls:
                        raise ValueError
                except (ValueError, IndexError):
                    if not table and i == 1:
                        continue  # header
                    raise InputError(
                        f"{path}: line {i}: expected 'class,n[,name]' with an "
                        f"integer class and a number n, got {rec}"
                    ) from None
                if not (np.isfinite(n) and n > 0):
                    raise InputError(
                        f"{path}: line {i}: class {cls} has n = {n}; Manning n "
                        f"must be > 0 (s m^-1/3)"
                    )
                if cls in table:
                    raise InputError(f"{path}: line {i}: class {cls} is given twice")
                table[cls] = ClassN(n, rec[2] if len(rec) > 2 else "")
    except OSError as exc:
        raise InputError(f"cannot read --manning-table {path}: {exc}") from exc
    if not table:
        raise InputError(f"{path}: no 'class,n[,name]' rows")
    return table


def manning_from_landcover(
    landcover: str | Path, dem: Dem, table: dict[int, ClassN] | None = None
) -> tuple[np.ndarray, str]:
    """Manning n [ny, nx] (NaN in walls) from a land-cover raster and a class table.

    The raster is read onto the DEM grid (nearest, ``read_on_dem_grid``). Returns the grid
    and a note saying how many cells of each class there are.

    Raises:
        InputError: non-integer or missing classes in valid cells, or classes that are not
            in the table (all of them listed, with their cell counts).
    """
    table = WORLDCOVER_TABLE if table is None else table
    grid = read_on_dem_grid(landcover, dem, "--landcover")
    valid = np.isfinite(dem.elevation)
    missing = valid & ~np.isfinite(grid)
    if missing.any():
        r, c = (int(v) for v in np.argwhere(missing)[0])
        raise InputError(
            f"--landcover {landcover}: no class (nodata or not covered) in a "
            f"valid DEM cell, first at (row {r}, col {c}); "
            f"{int(missing.sum())} such cells"
        )
    vals = grid[valid]
    frac = vals != np.round(vals)
    if frac.any():
        r, c = (int(v) for v in np.argwhere(valid & (grid != np.round(grid)))[0])
        raise InputError(
            f"--landcover {landcover}: classes must be integers, cell (row {r}, "
            f"col {c}) = {float(grid[r, c]):g}"
        )
    classes, counts = np.unique(vals.astype(np.int64), return_counts=True)
    unknown = [
        (int(k), int(m)) for k, m in zip(classes, counts, strict=False) if int(k) not in table
    ]
    if unknown:
        listed = ", ".join(f"{k} ({m} cells)" for k, m in unknown)
        src = "the default ESA WorldCover table" if table is WORLDCOVER_TABLE else "the table"
        raise InputError(
            f"--landcover {landcover}: classes not in {src}: {listed}; add them "
            f"to a --manning-table CSV (class,n[,name])"
        )
    lut_k = np.array(sorted(table))
    lut_n = np.array([table[k].n for k in lut_k])
    n = np.full(dem.shape, np.nan)
    n[valid] = lut_n[np.searchsorted(lut_k, vals.astype(np.int64))]
    parts = [
        f"{k}{' ' + table[int(k)].name if table[int(k)].name else ''} n={table[int(k)].n:g}"
        f": {m} cells"
        for k, m in zip(classes, counts, strict=False)
    ]
    return n, f"land cover {Path(landcover).name}: " + "; ".join(parts)


@dataclass
class LandSurface:
    """Resolved land-surface inputs on the DEM grid: numbers or float64 [ny, nx] grids."""

    manning: float | np.ndarray
    infiltration_mmh: float | np.ndarray
    drainage_mmh: float | np.ndarray
    notes: list[str]

    def solver_fields(self) -> dict:
        """The ``SolverConfig`` fields these inputs set (e.g. ``LivePhysics(surface=...)``)."""
        return {
            "manning": self.manning,
            "infiltration_mmh": self.infiltration_mmh,
            "drainage_mmh": self.drainage_mmh,
        }


def land_surface(
    dem: Dem,
    manning: float | str | None = None,
    infiltration: float | str = 0.0,
    drainage: float | str = 0.0,
    landcover: str | Path | None = None,
    manning_table: str | Path | None = None,
) -> LandSurface:
    """Read and check Manning n (number, raster, or land cover + table) and loss rates.

    Raises:
        InputError: naming the option/file and the first offending cell or class.
    """
    from floodcast.defaults import MANNING_N

    from .surface import number_or_grid

    notes: list[str] = []
    if manning_table is not None and landcover is None:
        raise InputError("--manning-table needs --landcover (the class raster it maps)")
    if landcover is not None:
        if manning is not None:
            raise InputError("give either --manning or --landcover, not both")
        table = read_manning_table(manning_table) if manning_table is not None else None
        n, note = manning_from_landcover(landcover, dem, table)
        notes.append(note)
    else:
        n = number_or_grid(
            MANNING_N if manning is None else manning,
            dem,
            "--manning",
            "s m^-1/3",
            allow_zero=False,
        )
        if np.ndim(n):
            notes.append(f"Manning n from {manning}: {np.nanmin(n):g}..{np.nanmax(n):g}")
    inf = number_or_grid(infiltration, dem, "--infiltration", "mm/h", allow_zero=True)
    drn = number_or_grid(drainage, dem, "--drainage", "mm/h", allow_zero=True)
    return LandSurface(n, inf, drn, notes)
