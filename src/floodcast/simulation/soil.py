"""``--soil``: Green–Ampt soil parameters as numbers, a per-class table, or per-cell grids.

Accepted forms:

* ``KS_MMH,PSI_MM,DEFICIT`` — three numbers for the whole domain, e.g. ``6.5,166.8,0.34``
  (silt loam, Rawls et al. 1983);
* a CSV table ``class,ks_mmh,psi_mm,deficit`` keyed by the ``--landcover`` classes;
* an ``.npz`` with arrays ``ks_mmh``, ``psi_mm``, ``deficit`` [y, x] on the DEM grid.

Ks in mm/h (>= 0), suction head psi in mm (>= 0), moisture deficit in [0, 1]. Every error
names the file and the first offending cell or class.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem, read_npz
from floodcast.physics.green_ampt import GreenAmpt

from .surface import check_grid, read_on_dem_grid

FIELDS = ("ks_mmh", "psi_mm", "deficit")


def _check(name: str, v: float, where: str) -> None:
    ok = np.isfinite(v) and v >= 0 and (v <= 1 if name == "deficit" else True)
    if not ok:
        rng = "in [0, 1]" if name == "deficit" else ">= 0"
        raise InputError(f"--soil {where}: {name} must be {rng}, got {v:g}")


def _numbers(spec: str) -> GreenAmpt | None:
    parts = spec.split(",")
    if len(parts) != 3:
        return None
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        return None
    for name, v in zip(FIELDS, vals, strict=False):
        _check(name, v, repr(spec))
    return GreenAmpt(*vals)


def _table(path: Path, dem: Dem, landcover: str | Path | None) -> GreenAmpt:
    if landcover is None:
        raise InputError(f"--soil {path}: a class table needs --landcover (the class raster)")
    rows: dict[int, tuple[float, float, float]] = {}
    with open(path, newline="") as fh:
        for i, rec in enumerate(csv.reader(fh), start=1):
            rec = [v.strip() for v in rec]
            if not rec or not "".join(rec) or rec[0].startswith("#"):
                continue
            try:
                cls, vals = int(rec[0]), tuple(float(v) for v in rec[1:4])
                if len(vals) != 3:
                    raise ValueError
            except ValueError:
                if i == 1 and not rows:
                    continue  # header
                raise InputError(
                    f"--soil {path}: line {i}: expected 'class,ks_mmh,psi_mm,deficit', got {rec}"
                ) from None
            for name, v in zip(FIELDS, vals, strict=False):
                _check(name, v, f"{path}: line {i} (class {cls})")
            rows[cls] = vals
    classes = read_on_dem_grid(landcover, dem, "--landcover")
    valid = np.isfinite(dem.elevation)
    present = np.unique(classes[valid & np.isfinite(classes)]).astype(np.int64)
    missing = [int(k) for k in present if int(k) not in rows]
    if missing:
        raise InputError(
            f"--soil {path}: land-cover classes not in the table: {', '.join(map(str, missing))}"
        )
    grids = []
    for f in range(3):
        g = np.full(dem.shape, np.nan)
        for k, vals in rows.items():
            g[classes == k] = vals[f]
        grids.append(np.where(valid, g, 0.0))
    return GreenAmpt(*grids)


def _npz(path: Path, dem: Dem) -> GreenAmpt:
    data = read_npz(path, "soil")
    lacking = [k for k in FIELDS if k not in data]
    if lacking:
        raise InputError(
            f"--soil {path}: needs arrays {', '.join(FIELDS)} [y, x]; missing {', '.join(lacking)}"
        )
    grids = []
    for k in FIELDS:
        a = np.asarray(data[k], dtype=np.float64)
        if a.shape != tuple(dem.shape):
            raise InputError(
                f"--soil {path}: {k} grid {a.shape} does not match the DEM grid {dem.shape}"
            )
        a = check_grid(a, dem, str(path), f"--soil {k}", "", allow_zero=True)
        if k == "deficit" and np.any(a[np.isfinite(a)] > 1):
            r, c = (int(v) for v in np.argwhere(np.nan_to_num(a) > 1)[0])
            raise InputError(
                f"--soil {path}: deficit must be in [0, 1], cell (row {r}, col {c}) = {a[r, c]:g}"
            )
        grids.append(np.nan_to_num(a))
    return GreenAmpt(*grids)


def read_soil(spec: str | Path, dem: Dem, landcover: str | Path | None = None) -> GreenAmpt:
    """Green–Ampt parameters from ``--soil`` (see the module docstring).

    Raises:
        InputError: naming the file or value and the first offending cell, line or class.
    """
    soil = _numbers(str(spec))
    if soil is not None:
        return soil
    path = Path(spec)
    if not path.is_file():
        raise InputError(f"--soil {spec}: neither KS_MMH,PSI_MM,DEFICIT nor an existing file")
    if path.suffix.lower() == ".npz":
        return _npz(path, dem)
    return _table(path, dem, landcover)
