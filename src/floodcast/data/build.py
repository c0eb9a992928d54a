"""`floodcast build-dataset`: radar + DEMs -> simulated events -> one zarr store.

Steps: plan events (seeded) -> write each DEM once -> simulate every unfinished event
in parallel with Dask (each worker writes its own event atomically) -> index samples,
deduplicate, split by event, compute normalisation statistics -> mark complete.
Running the same command again after a kill skips the finished events and ends with
the same content.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from floodcast.data import store
from floodcast.data.events import EventConfig, EventPlan, event_rain, plan_events
from floodcast.data.index import build_index
from floodcast.data.samples import SampleSpec, check_test_dems, tile_origins
from floodcast.defaults import MANNING_N, MAX_STEP_S
from floodcast.errors import InputError

log = logging.getLogger(__name__)


@dataclass
class SolverSettings:
    """Physics settings used for every event (stored with the dataset)."""

    manning: float | str = MANNING_N  # a number, or a raster file resampled onto each DEM
    landcover: str | None = None  # instead of manning: a class raster mapped through ...
    manning_table: str | None = None  # ... this class,n[,name] CSV (default: WorldCover)
    max_step: float = MAX_STEP_S
    boundary: str = "free"
    cfl: float = 0.7
    threads: int = 1  # per event; parallelism comes from simulating events side by side


@dataclass
class BuildConfig:
    events: EventConfig = field(default_factory=EventConfig)
    spec: SampleSpec = field(default_factory=SampleSpec)
    solver: SolverSettings = field(default_factory=SolverSettings)
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    split_seed: int = 0
    test_dems: list[str] = field(default_factory=list)  # hold these DEMs out: all their events test

    def to_dict(self) -> dict:
        return {
            "events": asdict(self.events),
            "spec": self.spec.to_dict(),
            "solver": asdict(self.solver),
            "split": list(self.split),
            "split_seed": self.split_seed,
            "test_dems": list(self.test_dems),
        }


def simulate_event(
    store_path: str,
    plan: dict,
    rain: np.ndarray,
    elevation: np.ndarray,
    cell_size: float,
    solver: dict,
    manning: np.ndarray | None = None,
) -> dict:
    """Simulate one event from a dry start and write it to the store (runs on a worker).

    ``manning``: the DEM's Manning n grid (stored once per DEM) when ``solver["manning"]``
    names a raster.
    """
    from floodcast.io.rain import RainSeries
    from floodcast.physics.boundaries import Boundaries
    from floodcast.physics.solver import Simulation, SolverConfig, run, set_threads

    set_threads(int(solver.get("threads", 1)))
    dt = plan["interval_s"]
    n = rain.shape[0]
    series = RainSeries(
        rates_mmh=rain,
        times_s=np.arange(n) * dt,
        end_s=n * dt,
        source=f"{plan['radar_source']}:{plan['event_id']}",
    )
    n_cell = manning if manning is not None else float(solver["manning"])
    cfg = SolverConfig(manning=n_cell, max_step=solver["max_step"], cfl=solver["cfl"])
    sim = Simulation(elevation, cell_size, series, cfg, Boundaries.parse(solver["boundary"]))
    t0 = time.perf_counter()
    res = run(sim, duration_s=n * dt, save_every_s=dt)
    depth = np.nan_to_num(res.depth, nan=0.0)
    attrs = {
        "plan": plan,
        "solver": solver,
        "steps": int(res.steps),
        "wall_time_s": time.perf_counter() - t0,
        "mass_relative_error": float(res.mass[-1].relative_error),
        "times_s": (np.arange(n) * dt).tolist(),
        "depth_at": "end of each frame's interval",
    }
    store.write_event(store_path, plan["event_id"], rain, depth, attrs)
    return {"event_id": plan["event_id"], "wall_time_s": attrs["wall_time_s"]}


def _dem_ok(dem_id: str, dem, spec: SampleSpec) -> None:
    ny, nx = dem.elevation.shape
    if min(ny, nx) < spec.patch:
        raise InputError(
            f"DEM {dem_id} ({ny}x{nx}) is smaller than one patch ({spec.patch}); "
            "lower --patch or use a larger DEM"
        )
    tile_origins(ny, spec.patch, spec.overlap)


def build_dataset(
    out: str | Path,
    dems: dict,
    radars: dict,
    cfg: BuildConfig,
    scheduler: str | None = "local",
    workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Build (or resume) a dataset store; returns the summary written to its attributes.

    Args:
        dems: dem_id -> Dem; radars: radar_id -> RadarSequence (one gap-free piece each).
        scheduler: "local" (a Dask LocalCluster of ``workers`` processes), a scheduler
            address ("tcp://host:8786") to use an existing cluster, or "sync" (in-process).
    """
    out = Path(out)
    for did, dem in dems.items():
        _dem_ok(did, dem, cfg.spec)
    check_test_dems(cfg.test_dems, dems)  # before any simulation, not after it
    plans = plan_events(radars, dems, cfg.events)
    build_attrs = {
        "build": {
            **cfg.to_dict(),
            "plans": [p.key() for p in plans],
            "dems": sorted(dems),
            "radars": sorted(radars),
        }
    }
    grids = {did: _manning_grid(dem, cfg.solver) for did, dem in dems.items()}  # checked first
    store.create(out, build_attrs)
    for did, dem in dems.items():
        store.write_dem(
            out,
            did,
            dem.elevation,
            {
                "cell_size": float(dem.cell_size),
                "crs": dem.crs,
                "source": dem.source,
                "transform": list(dem.transform)[:6] if dem.transform is not None else None,
            },
            grids={"manning": grids[did]} if grids[did] is not None else None,
        )
    done = store.finished_events(out)
    wanted = {p.event_id for p in plans}
    extra = sorted(set(done) - wanted)
    if extra:  # built by a run with more events: keep them out of this index (not deleted)
        log.warning("%d finished events beyond --events are ignored", len(extra))
    todo = [p for p in plans if p.event_id not in done]
    for p in plans:  # a finished event must come from the same plan
        if p.event_id in done and done[p.event_id]["plan"] != asdict(p):
            raise InputError(f"{out}: event {p.event_id} differs from this build's plan")
    log.info("%d events planned, %d already built", len(plans), len(plans) - len(todo))
    _run_tasks(str(out), todo, dems, radars, cfg, scheduler, workers, progress, len(plans))
    summary = build_index(out, plans, cfg)
    return summary


def _manning_grid(dem, solver: SolverSettings) -> np.ndarray | None:
    """The Manning n raster on this DEM's grid (nearest; from land cover through its table
    if given), or None for a uniform n."""
    from floodcast.simulation.landcover import land_surface

    if solver.landcover is not None and solver.manning != MANNING_N:
        raise InputError("give either --manning or --landcover, not both")
    n = land_surface(
        dem,
        manning=None if solver.landcover is not None else solver.manning,
        landcover=solver.landcover,
        manning_table=solver.manning_table,
    ).manning
    return None if np.ndim(n) == 0 else np.where(np.isfinite(n), n, MANNING_N)


def _task_args(out: str, plan: EventPlan, dems: dict, radars: dict, cfg: BuildConfig):
    dem = dems[plan.dem_id]
    rain = event_rain(plan, radars[plan.radar_id], dem.elevation.shape)
    n = store.read_dem_grid(out, plan.dem_id, "manning")  # as stored: one copy per DEM
    return (out, asdict(plan), rain, dem.elevation, float(dem.cell_size), asdict(cfg.solver), n)


def _run_tasks(out, todo: list[EventPlan], dems, radars, cfg, scheduler, workers, progress, total):
    done0 = total - len(todo)
    if progress:
        progress(done0, total)
    if not todo:
        return
    if scheduler in (None, "sync", "synchronous"):
        for i, plan in enumerate(todo):
            simulate_event(*_task_args(out, plan, dems, radars, cfg))
            if progress:
                progress(done0 + i + 1, total)
        return
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        # each DEM goes to the workers once; rain arrays are scattered, not embedded in the graph
        dem_f = {
            d: client.scatter(dems[d].elevation, broadcast=True) for d in {p.dem_id for p in todo}
        }
        man_f = {}  # the stored Manning grid of each DEM, also sent once
        for d in dem_f:
            grid = store.read_dem_grid(out, d, "manning")
            man_f[d] = client.scatter(grid, broadcast=True) if grid is not None else None

        def submit(plan: EventPlan):
            o, p, rain, _, cell, solver, _ = _task_args(out, plan, dems, radars, cfg)
            return client.submit(
                simulate_event,
                o,
                p,
                client.scatter(rain),
                dem_f[plan.dem_id],
                cell,
                solver,
                man_f[plan.dem_id],
                pure=False,
            )

        # submit lazily so only a few regridded rain arrays are in flight at once
        pending = iter(todo)
        futures = [
            submit(p) for p in [next(pending, None) for _ in range(2 * workers)] if p is not None
        ]
        ac = as_completed(futures)
        n = done0
        for fut in ac:
            fut.result()  # re-raises a worker's error here
            n += 1
            if progress:
                progress(n, total)
            plan = next(pending, None)
            if plan is not None:
                ac.add(submit(plan))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
