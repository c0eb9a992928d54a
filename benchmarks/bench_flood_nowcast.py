"""Speed of one physics flood-nowcast cycle: M members x LEAD minutes on an N x N grid.

    .venv/bin/python benchmarks/bench_flood_nowcast.py [--size 512] [--members 20]
        [--lead-min 60] [--threads 1,2] [--quick] [--scaling] [--scaling-lead-min 60]
        [--dask 1,2]

One cycle = every member driven from the same state for the whole lead (12 radar intervals
of 5 min for 60 min). Terrain: matplotlib's Jacksboro DEM resampled to N x N cells and relabelled
30 m cells with its relief scaled so the slopes stay the real ones; sinks filled (as the
nowcast does); rain: one seeded synthetic convective storm per member
(members differ as STEPS members do: different cells, same statistics), from a state spun
up by 30 min of member 0's storm. For each thread count it times

* batched: :class:`floodcast.physics.ensemble.EnsembleSimulation` (one compiled call runs
  every member through a radar interval, a prange over members), and
* separate: the same members as M :class:`Simulation` runs one after another
  (``run_separately``; each step a prange over rows),

and prints wall time, the real-time factor against the 5-min radar interval (300 s / wall:
> 1 means a cycle fits before the next radar frame), member-cell-updates per second, and the
ratio separate / batched (per member: the same members, so the ratio of wall times).
Targets (issue #22): 512^2 x 20 x 60 min in <= 60 s on one thread; batched >= 1.5x faster.
``--quick``: 256^2, 6 members, 30 min (a smoke run, ~1 min). ``--scaling`` adds 1024^2 x 20
and 512^2 x 50 on one thread (long: minutes; ``--scaling-lead-min`` shortens them).
``--dask 1,2`` instead times the whole ``run_ensemble`` (members and their summaries) with
the members in this process (``--scheduler none``, the batched kernel on as many threads as
workers) against Dask (``--scheduler local:N``: N one-thread worker processes started for
the call, and again on the same, already running cluster by its address).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

INTERVAL_S = 300.0


def setup(size: int, members: int, lead_min: float, precision: str = "float32", seed: int = 0):
    import dataclasses

    from scipy.ndimage import zoom

    from floodcast.io.dem import sample_dem
    from floodcast.io.dem_tools import fill_sinks_array as fill_sinks
    from floodcast.physics.storms import StormConfig, synthetic_storm
    from floodcast.predict.flood_nowcast import solver_setup, spin_up

    src = sample_dem()
    z = np.nan_to_num(src.elevation, nan=float(np.nanmean(src.elevation)))
    native = src.cell_size * src.elevation.shape[0] / size  # cell size after resampling
    z = zoom(z, (size / z.shape[0], size / z.shape[1]), order=1)[:size, :size]
    cell = 30.0
    # relabelled as 30 m cells: scale the relief so slopes stay the real ones (else 2-4x
    # steeper terrain, faster flow and a shorter step than the real DEM gives)
    z = float(z.min()) + (z - float(z.min())) * (cell / native)
    z = fill_sinks(z.astype(np.float32))
    n = int(round(lead_min * 60 / INTERVAL_S))
    rain = np.stack(
        [
            np.asarray(
                synthetic_storm(
                    (size, size),
                    cell,
                    INTERVAL_S * (n + 6),
                    seed=seed + m,
                    config=StormConfig(max_mmh=80.0, frame_s=INTERVAL_S),
                ).rates_mmh[: n + 6],
                np.float32,
            )
            for m in range(members)
        ]
    )
    cfg, bnd = solver_setup()
    cfg = dataclasses.replace(cfg, precision=precision)
    state = spin_up(z, cell, rain[0, :6], INTERVAL_S, cfg, bnd)
    return z, cell, cfg, bnd, state, rain[:, 6 : 6 + n]


def time_batched(z, cell, cfg, bnd, state, rain):
    from floodcast.physics.ensemble import EnsembleSimulation, template_simulation

    ens = EnsembleSimulation(template_simulation(z, cell, cfg, bnd, state), rain.shape[0])
    t0 = float(state["t"]) if state is not None else 0.0
    w = time.perf_counter()
    for k in range(rain.shape[1]):
        ens.advance(t0 + (k + 1) * INTERVAL_S, rain, t0, INTERVAL_S)
    return time.perf_counter() - w, int(ens.steps.sum()), ens.depth


def time_separate(z, cell, cfg, bnd, state, rain):
    from floodcast.physics.ensemble import run_separately

    w = time.perf_counter()
    t0 = float(state["t"]) if state is not None else 0.0
    d = run_separately(z, cell, cfg, bnd, state, rain, INTERVAL_S, t0 + rain.shape[1] * INTERVAL_S)
    return time.perf_counter() - w, d


def cycle(size, members, lead_min, threads, compare=True):
    from floodcast.physics.solver import set_threads

    z, cell, cfg, bnd, state, rain = setup(size, members, lead_min)
    # compile both paths on a tiny copy first (JIT time is not cycle time)
    small = (slice(0, 16), slice(0, 16))
    time_batched(z[small], cell, cfg, bnd, None, rain[:2, :1][..., :16, :16])
    time_separate(z[small], cell, cfg, bnd, None, rain[:1, :1][..., :16, :16])
    rows = []
    for th in threads:
        set_threads(th)
        wb, steps, db = time_batched(z, cell, cfg, bnd, state, rain)
        row = {
            "size": size,
            "members": members,
            "lead_min": lead_min,
            "threads": th,
            "batched_s": wb,
            "rtf": INTERVAL_S / wb,
            "member_cell_updates_per_s": steps * size * size / wb,
            "mean_steps_per_member": steps / members,
        }
        if compare:
            ws, ds = time_separate(z, cell, cfg, bnd, state, rain)
            row.update(separate_s=ws, ratio=ws / wb, max_abs_diff_m=float(np.abs(db - ds).max()))
        rows.append(row)
        print(_fmt(row), flush=True)
    return rows


def dask_compare(size, members, lead_min, workers):
    """run_ensemble wall time: scheduler none (N threads) vs local:N vs a running cluster."""
    from dask.distributed import LocalCluster

    from floodcast.physics.solver import set_threads
    from floodcast.predict.flood_nowcast import run_ensemble

    z, cell, cfg, bnd, state, rain = setup(size, members, lead_min)
    small = (slice(0, 16), slice(0, 16))
    run_ensemble(
        z[small], cell, None, rain[:2, :1][..., :16, :16], INTERVAL_S, config=cfg, boundaries=bnd
    )  # compile first

    def wall(scheduler):
        w = time.perf_counter()
        res = run_ensemble(
            z,
            cell,
            state,
            rain,
            INTERVAL_S,
            config=cfg,
            boundaries=bnd,
            scheduler=scheduler,
            keep_members=True,
        )
        return time.perf_counter() - w, res.member_depths

    for n in workers:
        set_threads(n)
        wb, db = wall("none")
        wl, dl = wall(f"local:{n}")
        with LocalCluster(
            n_workers=n, threads_per_worker=1, dashboard_address=None, silence_logs=logging.ERROR
        ) as cl:
            wall(cl.scheduler_address)  # workers load the compiled kernels once
            wr, dr = wall(cl.scheduler_address)
        same = bool(np.array_equal(db, dl) and np.array_equal(db, dr))
        print(
            f"{size}^2 x {members} members x {lead_min:g} min, {n} thread(s)/worker(s): "
            f"none {wb:.1f} s; local:{n} {wl:.1f} s ({wl / wb:.2f}x none); running cluster "
            f"{wr:.1f} s ({wr / wb:.2f}x none); members identical: {same}",
            flush=True,
        )


def _fmt(r: dict) -> str:
    s = (
        f"{r['size']}^2 x {r['members']} members x {r['lead_min']:g} min, {r['threads']} "
        f"thread(s): batched {r['batched_s']:.1f} s (real-time factor {r['rtf']:.1f} vs the "
        f"5-min interval; {r['member_cell_updates_per_s']:.3g} member-cell-updates/s; "
        f"{r['mean_steps_per_member']:.0f} steps/member)"
    )
    if "separate_s" in r:
        s += (
            f"; separate {r['separate_s']:.1f} s; separate/batched = {r['ratio']:.2f}x "
            f"(target >= 1.5x); max |diff| {r['max_abs_diff_m']:.1e} m"
        )
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--members", type=int, default=20)
    ap.add_argument("--lead-min", type=float, default=60.0)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--scaling", action="store_true")
    ap.add_argument("--scaling-lead-min", type=float, default=None)
    ap.add_argument("--dask", default="", help="worker counts, e.g. 1,2: Dask vs batched")
    a = ap.parse_args(argv)
    if a.quick:
        a.size, a.members, a.lead_min = 256, 6, 30.0
    import numba

    threads = [
        t for t in (int(v) for v in a.threads.split(",")) if t <= numba.config.NUMBA_NUM_THREADS
    ]
    if a.dask:
        dask_compare(a.size, a.members, a.lead_min, [int(v) for v in a.dask.split(",")])
        return 0
    if a.scaling and a.scaling_lead_min is not None:  # the scaling runs alone
        cycle(1024, 20, a.scaling_lead_min, [1], compare=False)
        cycle(512, 50, a.scaling_lead_min, [1], compare=False)
        return 0
    rows = cycle(a.size, a.members, a.lead_min, threads)
    one = [r for r in rows if r["threads"] == 1]
    if one and not a.quick:
        r = one[0]
        print(
            f"target: cycle <= 60 s on one thread: {r['batched_s']:.1f} s -> "
            f"{'met' if r['batched_s'] <= 60 else 'MISSED'}; batched >= 1.5x: "
            f"{r.get('ratio', math.nan):.2f}x -> "
            f"{'met' if r.get('ratio', 0) >= 1.5 else 'MISSED'}"
        )
    if a.scaling:
        cycle(1024, 20, a.lead_min, [1], compare=False)
        cycle(512, 50, a.lead_min, [1], compare=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
