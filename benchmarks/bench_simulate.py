"""Benchmark: floodcast's local-inertial solver vs landlab's OverlandFlow (rain on a DEM).

Runs the same rain-on-DEM case (synthetic valley with micro-relief, 10 m cells, uniform
50 mm/h for the whole run, free outflow on all edges; 512² and 1024² cells; 1 h simulated,
``--quick``: 10 min) through

* floodcast, single-threaded (median of ``--repeats`` runs) and on 2 threads (speed-up),
* landlab ``OverlandFlow`` (de Almeida et al. 2012, the same scheme family; steep_slopes=True,
  the same Manning n and CFL alpha), single-threaded, capped at ``--landlab-max-s`` wall
  seconds per run (its throughput is a rate, so a partial run measures it fairly),

* floodcast with a Manning raster (six classes, n = 0.015-0.1, patches of 10-80 cells) vs
  the constant n, interleaved runs on the same grid (issue #23: <= 15 % slower per
  cell-update),

and prints cell-updates/s (cells x steps / wall time), the ratios, the working-state bytes per
cell and peak traced memory. Compile time is excluded (warm-up on a small grid first).

    .venv/bin/python benchmarks/bench_simulate.py            # full (several minutes)
    .venv/bin/python benchmarks/bench_simulate.py --quick    # 10 min simulated
    .venv/bin/python benchmarks/bench_simulate.py --quick --sizes 1024 --manning-only

Needs the ``bench`` extra (landlab, requireit<0.9). The machine is shared: quote medians and
say what else was running (os.getloadavg is printed).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import time
import tracemalloc

import numpy as np

from floodcast.io.rain import RainSeries
from floodcast.physics import Boundaries, Simulation, SolverConfig, set_threads

DX, N_MANNING, RAIN_MMH = 10.0, 0.035, 50.0


def valley(n: int) -> np.ndarray:
    """V-valley sloping south with a sinusoidal micro-relief (m), row 0 = north."""
    y, x = np.mgrid[0:n, 0:n] * DX
    L = n * DX
    return (
        0.005 * (L - y)
        + 0.02 * np.abs(x - L / 2)
        + 0.3 * np.sin(x / 53.0) * np.cos(y / 71.0)
        + 20.0
    )


def rain() -> RainSeries:
    return RainSeries(np.array([RAIN_MMH], np.float32), np.zeros(1), np.inf, "uniform")


def manning_raster(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """Six land-cover classes (n = 0.015-0.1) in rectangular patches of 10-80 cells."""
    rng = np.random.default_rng(seed)
    classes = np.array([0.035, 0.05, 0.1, 0.03, 0.02, 0.015])
    n = np.full(shape, classes[0])
    for _ in range(shape[0] * shape[1] // 900):
        h, w = rng.integers(10, 80, 2)
        r, c = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        n[r : r + h, c : c + w] = rng.choice(classes)
    return n


def run_floodcast(
    z: np.ndarray, duration: float, threads: int, manning: float | np.ndarray = N_MANNING
) -> tuple[float, int, float, float]:
    """(cell-updates/s by wall time, steps, wall s, cell-updates per CPU-second)."""
    set_threads(threads)
    sim = Simulation(
        z, DX, rain(), SolverConfig(manning=manning, max_step=10.0), Boundaries.parse("free")
    )
    t0, c0 = time.perf_counter(), time.process_time()
    sim.advance(duration)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    work = sim.n_cells * sim.steps
    return work / wall, sim.steps, wall, work / cpu


def working_bytes_per_cell(z: np.ndarray) -> tuple[float, float]:
    """(bytes of solver arrays per cell, peak traced allocation per cell during a short run)."""
    tracemalloc.start()
    sim = Simulation(z, DX, rain(), SolverConfig(manning=N_MANNING), Boundaries.parse("free"))
    sim.advance(60.0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    arrays = [v for v in vars(sim).values() if isinstance(v, np.ndarray)]
    state = sum(a.nbytes for a in arrays if a.size >= z.size // 2)  # per-cell arrays only
    return state / z.size, peak / z.size


def run_landlab(z: np.ndarray, duration: float, max_wall: float) -> tuple[float, int, float, float]:
    from landlab import RasterModelGrid
    from landlab.components import OverlandFlow

    ny, nx = z.shape
    grid = RasterModelGrid((ny, nx), xy_spacing=DX)
    grid.add_field("topographic__elevation", z[::-1].ravel().copy(), at="node")  # row 0 = south
    grid.add_field("surface_water__depth", np.full(z.size, 1e-12), at="node")
    of = OverlandFlow(
        grid,
        steep_slopes=True,
        mannings_n=N_MANNING,
        alpha=0.7,
        rainfall_intensity=RAIN_MMH / 3.6e6,
    )
    from threadpoolctl import threadpool_limits

    elapsed, steps = 0.0, 0
    t0, c0 = time.perf_counter(), time.process_time()
    with threadpool_limits(1):  # single-threaded, like floodcast's 1-thread figure
        while elapsed < duration and time.perf_counter() - t0 < max_wall:
            dt = min(of.calc_time_step(), 10.0, duration - elapsed)  # same 10 s cap as floodcast
            of.run_one_step(dt=dt)
            elapsed += dt
            steps += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return z.size * steps / wall, steps, wall, elapsed, z.size * steps / cpu


def manning_comparison(z: np.ndarray, duration: float, repeats: int) -> None:
    """Constant n vs a Manning raster, runs interleaved (machine load affects both alike)."""
    raster = manning_raster(z.shape)
    const, ras = [], []
    for _ in range(repeats):
        const.append(run_floodcast(z, duration, 1))
        ras.append(run_floodcast(z, duration, 1, raster))
    rc = statistics.median(r[0] for r in const)
    rr = statistics.median(r[0] for r in ras)
    ratios = [c[0] / r[0] for c, r in zip(const, ras, strict=False)]
    print(
        f"constant n {N_MANNING}: {rc:.3g} cell-updates/s (median of {repeats}: "
        f"{', '.join(f'{r[0]:.3g}' for r in const)}; {const[0][1]} steps)"
    )
    print(
        f"Manning raster (n {raster.min():g}-{raster.max():g}, mean {raster.mean():.3f}): "
        f"{rr:.3g} cell-updates/s (median; {', '.join(f'{r[0]:.3g}' for r in ras)}; "
        f"{ras[0][1]} steps)"
    )
    cc = statistics.median(r[3] for r in const)
    cr = statistics.median(r[3] for r in ras)
    print(
        f"raster slowdown per cell-update: {rc / rr - 1:+.1%} by wall time (median of pairs "
        f"{statistics.median(ratios) - 1:+.1%}), {cc / cr - 1:+.1%} per CPU-second "
        f"({cc:.3g} vs {cr:.3g}); target <= +15 %"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10 min simulated instead of 1 h")
    ap.add_argument("--sizes", type=int, nargs="+", default=[512, 1024])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--landlab-max-s", type=float, default=90.0)
    ap.add_argument(
        "--no-landlab",
        action="store_true",
        help="floodcast only (landlab comes with the bench extra: make bench)",
    )
    ap.add_argument(
        "--manning-only",
        action="store_true",
        help="only the Manning raster vs constant n comparison (1 thread)",
    )
    args = ap.parse_args()
    if not (args.no_landlab or args.manning_only) and importlib.util.find_spec("landlab") is None:
        # say so before minutes of floodcast runs, not with a traceback after them
        raise SystemExit(
            "bench_simulate: landlab is not installed; install the bench extra "
            "(make bench, or pip install -e '.[bench]'), or pass --no-landlab"
        )
    duration = 600.0 if args.quick else 3600.0
    print(f"load average before: {os.getloadavg()}  (2 vCPUs shared with other jobs)")
    run_floodcast(valley(32), 30.0, 1)  # compile / load the numba cache
    run_floodcast(valley(32), 30.0, 2)
    for n in args.sizes:
        z = valley(n)
        print(f"\n== {n}x{n} cells ({n * n / 1e6:.2f} M), {duration:.0f} s simulated ==")
        manning_comparison(z, duration, args.repeats)
        if args.manning_only:
            continue
        bpc, peak = working_bytes_per_cell(z)
        print(
            f"working state: {bpc:.1f} bytes/cell (solver arrays); peak traced allocation "
            f"{peak:.1f} bytes/cell"
        )
        one = [run_floodcast(z, duration, 1) for _ in range(args.repeats)]
        two = [run_floodcast(z, duration, 2) for _ in range(args.repeats)]
        r1 = statistics.median(r[0] for r in one)
        r2 = statistics.median(r[0] for r in two)
        c1 = statistics.median(r[3] for r in one)
        print(
            f"floodcast 1 thread : {r1:.3g} cell-updates/s (median of {args.repeats}: "
            f"{', '.join(f'{r[0]:.3g}' for r in one)}; {one[0][1]} steps, "
            f"{statistics.median(r[2] for r in one):.1f} s wall); per CPU-second "
            f"{c1:.3g} (what an idle core would give)"
        )
        print(
            f"floodcast 2 threads: {r2:.3g} cell-updates/s (median; "
            f"{', '.join(f'{r[0]:.3g}' for r in two)}) -> thread speed-up {r2 / r1:.2f}x"
        )
        if not args.no_landlab:
            ll = run_landlab(z, duration, args.landlab_max_s)
            print(
                f"landlab OverlandFlow: {ll[0]:.3g} cell-updates/s ({ll[1]} steps, "
                f"{ll[3]:.0f} of {duration:.0f} s simulated in {ll[2]:.1f} s wall); per "
                f"CPU-second {ll[4]:.3g}"
            )
            print(
                f"ratio floodcast(1 thread) / landlab: {r1 / ll[0]:.1f}x by wall time, "
                f"{c1 / ll[4]:.1f}x per CPU-second"
            )
        print(f"load average now: {os.getloadavg()}")


if __name__ == "__main__":
    main()
