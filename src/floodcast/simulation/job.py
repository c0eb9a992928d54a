"""The simulate job: load and validate inputs, run the solver, write the outputs atomically.

Two phases so that every check happens before any computing:

* :func:`prepare` reads the DEM, rain and inflows, validates every setting, checks that
  the output folder can be written, and returns a :class:`PreparedJob` (with the notes a
  user should see, e.g. "12 nodata cells are closed walls").
* :func:`execute` runs the simulation and writes ``depth.nc``, ``max_depth.tif``,
  ``mass_balance.csv``, ``max_depth.png`` and ``run.json`` into a hidden staging folder
  inside the output folder, then renames each into place. A failure at any point leaves
  no partial result behind (a folder created for the run is removed again).

User errors are :class:`floodcast.errors.InputError`; an unstable or non-conservative
run raises the solver's ``SimulationError``.
"""

from __future__ import annotations

import csv
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.defaults import SAVE_EVERY_S, SIMULATE_MAX_STEP_S, WET_THRESHOLD_M
from floodcast.errors import InputError
from floodcast.io.atomic import check_writable
from floodcast.io.dem import Dem, read_dem
from floodcast.io.rain import RainSeries, check_coverage, read_rain
from floodcast.simulation.coast import check_coast, coast_notes, without_wall_note
from floodcast.simulation.landcover import LandSurface, land_surface
from floodcast.simulation.soil import read_soil
from floodcast.simulation.surface import describe

OUTPUT_FILES = ("depth.nc", "max_depth.tif", "mass_balance.csv", "max_depth.png", "run.json")


@dataclass
class SimulateRequest:
    """Settings of one simulate run, as given on the command line (units in names).

    ``dem`` and ``rain`` may be paths/strings or already loaded :class:`Dem` /
    :class:`RainSeries` objects (the demo passes objects).
    """

    dem: str | Path | Dem
    rain: str | Path | RainSeries
    duration_s: float
    out: str | Path | None  # None: nothing written (floodcast.api.simulate)
    manning: float | str | None = None  # a number, a raster file; None: MANNING_N
    boundary: str = "free"
    save_every_s: float = SAVE_EVERY_S
    max_step_s: float = SIMULATE_MAX_STEP_S
    threshold_m: float = WET_THRESHOLD_M
    pad_zero: bool = False
    infiltration_mmh: float | str = 0.0  # a number or a raster file (mm/h)
    inflows: Sequence[str] = ()
    threads: int | None = 1  # None: numba's default; see the README
    fill_sinks: bool = False
    allow_empty_rain: bool = False  # all-NaN rain runs as no rain instead of an error
    elevation_units: str = "m"  # m | ft | ftUS (see floodcast.io.dem_gdal)
    drainage_mmh: float | str = 0.0  # a number or a raster file (mm/h)
    landcover: str | Path | None = None  # class raster -> n via manning_table
    manning_table: str | Path | None = None  # class,n[,name] CSV; None: ESA WorldCover
    soil: str | Path | None = None  # Green-Ampt: "KS,PSI,DEFICIT", class CSV or npz grids
    nodata: str = "wall"  # wall | open (free outflow into nodata cells); simulation.coast
    sea_level: float | None = None  # cells at or below it (m) are a fixed-level sea

    def settings(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("dem", "rain"):
            v = getattr(self, k)
            d[k] = v.source if isinstance(v, (Dem, RainSeries)) else str(v)
        d["out"] = None if self.out is None else str(self.out)
        for k in (
            "manning",
            "infiltration_mmh",
            "drainage_mmh",
            "landcover",
            "manning_table",
            "soil",
        ):
            v = d[k]
            d[k] = v if v is None or isinstance(v, (int, float)) else str(v)
        d["inflows"] = list(self.inflows)
        return d


@dataclass
class PreparedJob:
    """Validated inputs, ready to simulate."""

    request: SimulateRequest
    dem: Dem
    rain: RainSeries
    boundaries: Any
    inflows: list[Any]
    config: Any
    notes: list[str] = field(default_factory=list)


@dataclass
class JobResult:
    """What :func:`execute` produced: output paths and run statistics."""

    out: Path
    files: dict[str, Path]
    stats: dict[str, Any]


# --------------------------------------------------------------------------- prepare


def _positive(name: str, value: float, allow_zero: bool = False) -> float:
    v = float(value)
    ok = math.isfinite(v) and (v >= 0 if allow_zero else v > 0)
    if not ok:
        raise InputError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return v


def read_inflow(spec: str, dem: Dem) -> Any:
    """Parse ``ROW,COL,FILE.csv`` into a ``PointInflow``.

    The CSV has two columns, time (s) and discharge (m³/s, >= 0), with an optional
    header line; the discharge is linear between rows and zero outside them.
    """
    from floodcast.physics.boundaries import PointInflow

    parts = spec.split(",", 2)
    if len(parts) != 3:
        raise InputError(f"--inflow {spec!r}: expected ROW,COL,FILE.csv")
    try:
        row, col = int(parts[0]), int(parts[1])
    except ValueError:
        raise InputError(f"--inflow {spec!r}: ROW and COL must be integers") from None
    ny, nx = dem.shape
    if not (0 <= row < ny and 0 <= col < nx):
        raise InputError(f"--inflow {spec!r}: cell ({row}, {col}) is outside the DEM {dem.shape}")
    if np.isnan(dem.elevation[row, col]):
        raise InputError(f"--inflow {spec!r}: cell ({row}, {col}) is a nodata wall")
    path = Path(parts[2])
    if not path.is_file():
        raise InputError(f"inflow file not found: {path}")
    rows: list[tuple[float, float]] = []
    try:
        with open(path, newline="") as fh:
            for i, rec in enumerate(csv.reader(fh)):
                if not rec or not "".join(rec).strip():
                    continue
                try:
                    t, q = (float(v) for v in rec[:2])
                    if len(rec) < 2:
                        raise ValueError
                except ValueError:
                    if i == 0 and not rows:
                        continue  # header
                    raise InputError(
                        f"{path}: line {i + 1}: expected 'time_s,q_m3s' numbers, got {rec}"
                    ) from None
                rows.append((t, q))
    except OSError as exc:
        raise InputError(f"cannot read inflow file {path}: {exc}") from exc
    if not rows:
        raise InputError(f"{path}: no inflow rows (expected 'time_s,q_m3s')")
    t, q = np.array(rows).T
    if (q < 0).any() or not np.isfinite(q).all():
        raise InputError(f"{path}: discharges must be finite and >= 0 m³/s")
    try:
        return PointInflow(row, col, t, q)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None


def prepare(req: SimulateRequest) -> PreparedJob:
    """Read and validate every input and setting; nothing is computed or written.

    Raises:
        InputError: naming the file or option and the problem.
    """
    from floodcast.physics.boundaries import Boundaries

    duration = _positive("--duration (s)", req.duration_s)
    save_every = _positive("--save-every (s)", req.save_every_s)
    _positive("--max-step (s)", req.max_step_s)
    for name, v in (
        ("--manning", req.manning),
        ("--infiltration", req.infiltration_mmh),
        ("--drainage", req.drainage_mmh),
    ):
        if isinstance(v, (int, float)) and not isinstance(v, bool):  # files: checked below
            _positive(
                name if name == "--manning" else f"{name} (mm/h)", v, allow_zero=name != "--manning"
            )
    if not 0 < float(req.threshold_m) < 10:
        raise InputError(f"--threshold must be between 0 and 10 m, got {req.threshold_m}")
    if req.threads is not None and int(req.threads) < 1:
        raise InputError(f"--threads must be >= 1, got {req.threads}")
    if save_every > duration:
        raise InputError(
            f"--save-every ({save_every:g} s) is longer than --duration ({duration:g} s)"
        )
    if req.out is not None:  # None: in memory (the Python API)
        _check_out(Path(req.out))
    try:
        boundaries = Boundaries.parse(req.boundary)
    except ValueError as exc:
        raise InputError(f"--boundary: {exc}") from None
    nodata, sea_level = check_coast(req.nodata, req.sea_level)

    dem = req.dem if isinstance(req.dem, Dem) else read_dem(req.dem, req.elevation_units)
    coast = coast_notes(dem, nodata, sea_level)
    if req.fill_sinks:
        dem = _filled(dem, nodata, sea_level)
    rain = req.rain if isinstance(req.rain, RainSeries) else read_rain(req.rain, dem)
    if not rain.uniform and rain.rates_mmh.shape[1:] != tuple(dem.shape):
        raise InputError(
            f"{rain.source}: rain grid {rain.rates_mmh.shape[1:]} does not match "
            f"the DEM grid {dem.shape}"
        )
    _check_rain_not_empty(rain, req.allow_empty_rain)
    rain = check_coverage(rain, duration, req.pad_zero)
    from floodcast.simulation.safety import check_memory

    check_memory(duration, save_every, tuple(dem.shape))  # before any computing
    inflows = [read_inflow(s, dem) for s in req.inflows]
    surface = land_surface(
        dem, req.manning, req.infiltration_mmh, req.drainage_mmh, req.landcover, req.manning_table
    )
    config = replace(
        _with_surface(_solver_config(req), surface), nodata=nodata, sea_level=sea_level
    )
    if req.soil is not None:
        if isinstance(surface.infiltration_mmh, float) and surface.infiltration_mmh == 0:
            config = replace(config, soil=read_soil(req.soil, dem, req.landcover))
        else:
            raise InputError("give either --infiltration or --soil (Green-Ampt), not both")
    notes = [
        f"DEM {Path(dem.source).name}: {dem.shape[0]} x {dem.shape[1]} cells of "
        f"{dem.cell_size:.3f} m" + (f", CRS {dem.crs}" if dem.crs else ", no CRS")
    ]
    notes += [f"DEM: {n}" for n in without_wall_note(dem.notes)]
    notes += [f"DEM: {n}" for n in coast] + [f"rain: {n}" for n in rain.notes]
    notes += surface.notes
    return PreparedJob(req, dem, rain, boundaries, inflows, config, notes)


def _check_rain_not_empty(rain: RainSeries, allow: bool) -> None:
    """All-NaN rain (no radar coverage at all) would run a dry simulation: refuse it."""
    n_nan, n = rain.attrs.get("nan_values", 0), rain.attrs.get("values", 0)
    if n and n_nan >= n and not allow:
        raise InputError(
            f"{rain.source}: every rain value is NaN (no radar coverage); "
            "nothing to simulate. Use --allow-empty-rain to run it as no rain"
        )


def _filled(dem: Dem, nodata: str = "wall", sea_level: float | None = None) -> Dem:
    from floodcast.io.dem_tools import fill_sinks as fill_dem

    # the one sink fill (io/dem_tools), with its note; open nodata and sea cells are outlets
    return fill_dem(dem, nodata=nodata, sea_level=sea_level)


def _check_out(out: Path) -> None:
    """The output folder must be creatable and writable (checked before any computing)."""
    existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if existing != out and not existing.is_dir():
        raise InputError(f"output folder {out} cannot be created: {existing} is not a folder")
    try:
        check_writable(out)
    except OSError as exc:
        raise InputError(str(exc)) from None


def _solver_config(req: SimulateRequest) -> Any:
    from floodcast.physics.solver import SolverConfig

    try:
        return SolverConfig(max_step=float(req.max_step_s))
    except ValueError as exc:
        raise InputError(f"solver settings: {exc}") from None


def _with_surface(config: Any, surface: LandSurface) -> Any:
    """The solver settings with the checked Manning n and loss rates (numbers or grids)."""
    try:
        return replace(
            config,
            manning=surface.manning,
            infiltration_mmh=surface.infiltration_mmh,
            drainage_mmh=surface.drainage_mmh,
        )
    except ValueError as exc:
        raise InputError(f"solver settings: {exc}") from None


# --------------------------------------------------------------------------- execute


def execute(job: PreparedJob, progress: Callable[[Any], None] | None = None) -> JobResult:
    """Run the prepared simulation and write all outputs (atomically) to ``request.out``.

    Raises:
        SimulationError: NaN/instability or a relative mass error above the limit.
    """
    result, depth, max_depth, stats = compute(job, progress)
    return JobResult(
        Path(job.request.out), write_outputs(job, result, depth, max_depth, stats), stats
    )


def compute(
    job: PreparedJob, progress: Callable[[Any], None] | None = None
) -> tuple[Any, np.ndarray, np.ndarray, dict]:
    """Run the prepared simulation in memory: (solver result, depth, max depth, stats).

    Depths are 0 on walls. Used by :func:`execute` and the Python API
    (:func:`floodcast.api.simulate`), which writes nothing.

    Raises:
        SimulationError: NaN/instability or a relative mass error above the limit.
    """
    from floodcast.physics.solver import Simulation, SimulationError, run, set_threads

    req, dem = job.request, job.dem
    if req.threads:
        set_threads(int(req.threads))
    sim = Simulation(
        dem.elevation,
        dem.cell_size,
        job.rain,
        job.config,
        boundaries=job.boundaries,
        inflows=tuple(job.inflows),
    )
    result = run(
        sim,
        float(req.duration_s),
        float(req.save_every_s),
        progress=progress,
        mass_every_s=min(float(req.save_every_s), 60.0),
    )

    walls = np.isnan(dem.elevation)
    depth = np.where(walls, 0.0, np.asarray(result.depth, np.float32)).astype(np.float32)
    max_depth = np.where(walls, 0.0, np.asarray(result.max_depth, np.float32)).astype(np.float32)
    if not (np.isfinite(depth).all() and np.isfinite(max_depth).all()):
        raise SimulationError(
            "the solution contains NaN or infinite depths; nothing written "
            "(try a smaller --max-step)"
        )
    last = result.mass[-1] if result.mass else None
    if last is not None and abs(last.relative_error) > job.config.max_mass_error:
        raise SimulationError(
            f"relative mass error {last.relative_error:.3g} exceeds "
            f"{job.config.max_mass_error:g}; nothing written"
        )
    return result, depth, max_depth, _stats(job, result, max_depth, depth)


def _stats(job: PreparedJob, result: Any, max_depth: np.ndarray, depth: np.ndarray) -> dict:
    thr, area = job.request.threshold_m, job.dem.cell_size**2
    wet = int((max_depth > thr).sum())
    last = result.mass[-1] if result.mass else None
    valid = int((~np.isnan(job.dem.elevation)).sum())
    return {
        "steps": int(result.steps),
        "dt_min_s": float(result.dt_min),
        "dt_max_s": float(result.dt_max),
        "wall_time_s": float(result.wall_time_s),
        "cell_updates_per_s": float(result.cell_updates_per_s),
        "threshold_m": thr,
        "wet_cells_max": wet,
        "wet_area_max_m2": wet * area,
        "wet_fraction_max": wet / max(valid, 1),
        "wet_cells_end": int((depth[-1] > thr).sum()) if len(depth) else 0,
        "max_depth_m": float(max_depth.max()),
        "cells": int(max_depth.size),
        "wall_cells": int(max_depth.size - valid),
        "saves": len(result.times_s),
        "mass": asdict(last) if last is not None else None,
    }


def run_settings(job: PreparedJob) -> dict[str, Any]:
    """The settings of a run as recorded in run.json and depth.nc."""
    dem = job.dem
    return {
        **job.request.settings(),
        "boundary": str(job.boundaries),
        "solver": solver_settings(job.config),
        "dem_cell_size_m": dem.cell_size,
        "dem_crs": dem.crs,
        "rain_frames": len(job.rain.times_s),
    }


def depth_attrs(job: PreparedJob, settings: dict[str, Any]) -> dict[str, Any]:
    """Global attributes of depth.nc (the Python API's Dataset has the same)."""
    from floodcast import __version__

    return {
        "title": "floodcast simulate: water depth",
        "floodcast_version": __version__,
        "dem_source": job.dem.source,
        "rain_source": job.rain.source,
        "manning_n": manning_attr(job.config.manning),
        "settings": settings,
    }


def write_outputs(
    job: PreparedJob,
    result: Any,
    depth: np.ndarray,
    max_depth: np.ndarray,
    stats: dict,
    meta: dict | None = None,
) -> dict[str, Path]:
    """Write the five outputs into a staging folder inside ``out``, then rename them in.

    ``meta`` (e.g. ``{"emulated": True, "downscale": {...}}`` from a downscaled run) is
    added to the NetCDF attributes and to run.json.

    On any failure the staging folder is removed, and so is ``out`` if this call
    created it, so the folder never holds a partial result of this run.
    """
    from floodcast import __version__
    from floodcast.io.plotting import plot_depth_map
    from floodcast.io.writers import write_depth_netcdf, write_geotiff, write_json, write_mass_csv
    from floodcast.simulation import safety

    req, dem = job.request, job.dem
    out = Path(req.out)
    created = not out.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    safety.clean_stale(out)
    # a folder of ours (absent, or only our outputs): stage beside it and swap in one
    # rename; a folder holding other files too: stage inside and move file by file
    whole = created or not any(
        not p.name.startswith(".") and p.name not in OUTPUT_FILES for p in out.iterdir()
    )
    if whole:
        stage = safety.stage_name(out)
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
    else:
        stage = Path(tempfile.mkdtemp(prefix=f"{safety.STAGE_PREFIX}{os.getpid()}-", dir=out))
    try:
        settings = run_settings(job)
        write_depth_netcdf(
            stage / "depth.nc",
            result.times_s,
            depth,
            max_depth,
            dem,
            attrs={**depth_attrs(job, settings), **(meta or {})},
            start_time=job.rain.attrs.get("start_time"),
        )
        write_geotiff(
            stage / "max_depth.tif",
            max_depth,
            dem,
            tags={"units": "m", "long_name": "maximum water depth"},
            description="maximum water depth (m)",
            units="m",
        )
        write_mass_csv(stage / "mass_balance.csv", result.mass)
        plot_depth_map(
            stage / "max_depth.png",
            max_depth,
            dem.elevation,
            dem.cell_size,
            threshold=req.threshold_m,
            title=f"Maximum water depth, {req.duration_s / 3600:g} h",
            transform=dem.transform,
            crs=dem.crs,
        )
        write_json(
            stage / "run.json",
            {
                "floodcast_version": __version__,
                "command": "simulate",
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "settings": settings,
                "notes": job.notes,
                "stats": stats,
                "outputs": list(OUTPUT_FILES),
                **(meta or {}),
            },
        )
        if whole:
            stage.chmod(0o777 & ~_umask())
            safety.commit(stage, out)
        else:
            for name in OUTPUT_FILES:  # run.json last: it says the set is complete
                os.replace(stage / name, out / name)
        return {name: out / name for name in OUTPUT_FILES}
    except Exception as exc:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        if isinstance(exc, OSError):
            raise
        # netCDF4/HDF5 report a full disk as RuntimeError("NetCDF: HDF error")
        raise OSError(
            f"cannot write the outputs into {out}: {type(exc).__name__}: {exc} (disk full?)"
        ) from exc
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def run_job(req: SimulateRequest, progress: Callable[[Any], None] | None = None) -> JobResult:
    """:func:`prepare` then :func:`execute` (for callers that need no notes in between)."""
    return execute(prepare(req), progress)


def solver_settings(config: Any) -> dict[str, Any]:
    """``asdict(config)`` with per-cell grids summarised (min/max/mean), for run.json."""
    d = asdict(config)
    for k in ("manning", "infiltration_mmh", "drainage_mmh"):
        if k in d:
            d[k] = describe(d[k])
    if d.get("soil") is not None:
        d["soil"] = {k: describe(v) for k, v in d["soil"].items()}
    return d


def manning_attr(manning: Any) -> float | str:
    """The depth.nc ``manning_n`` attribute: the number, or a summary of the grid."""
    d = describe(manning)
    if isinstance(d, float):
        return d
    return f"per-cell grid: min {d['min']:g}, max {d['max']:g}, mean {d['mean']:.4g}"
