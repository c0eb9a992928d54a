"""The simulate job: load and validate inputs, run the solver, write the outputs atomically
(the request and result types are in ``simulation.request``, the writers in ``simulation.outputs``).

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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.errors import InputError
from floodcast.io.atomic import check_writable
from floodcast.io.dem import Dem, in_metres, read_dem
from floodcast.io.rain import RainSeries, check_coverage, read_rain
from floodcast.simulation.coast import check_coast, coast_notes, without_wall_note
from floodcast.simulation.landcover import LandSurface, land_surface
from floodcast.simulation.outputs import (
    run_stats,
    write_outputs,
)
from floodcast.simulation.request import OUTPUT_FILES, JobResult, PreparedJob, SimulateRequest  # noqa: F401 (OUTPUT_FILES: the job's files, for callers)
from floodcast.simulation.soil import read_soil


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

    if isinstance(req.dem, Dem):  # the Python API: a Dem or DataArray, still in its own unit
        dem = in_metres(req.dem, req.elevation_units)
    else:
        dem = read_dem(req.dem, req.elevation_units)
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
        return replace(config, **surface.solver_fields())
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
    from floodcast.physics.solver import Simulation, SimulationError, set_threads

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
    result = run_request(sim, req, progress)

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
    return result, depth, max_depth, run_stats(job, result, max_depth, depth)


def run_request(sim, req: SimulateRequest, progress: Callable[[Any], None] | None = None):
    """``physics.solver.run`` of ``sim`` over the request's duration and saves, the mass
    ledger every save or minute (whichever is shorter): every simulate run, fine or coarse."""
    from floodcast.physics.solver import run

    every = float(req.save_every_s)
    return run(sim, float(req.duration_s), every, progress=progress, mass_every_s=min(every, 60.0))


def run_job(req: SimulateRequest, progress: Callable[[Any], None] | None = None) -> JobResult:
    """:func:`prepare` then :func:`execute` (for callers that need no notes in between)."""
    return execute(prepare(req), progress)
