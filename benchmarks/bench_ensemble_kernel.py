"""Per-step speed of the batched ensemble kernel against the single-run kernel, one process.

    .venv/bin/python benchmarks/bench_ensemble_kernel.py [--size 512] [--members 20]
        [--seconds 300] [--mode both|batched|separate|passes] [--threads 1] [--precision float32]

Same terrain, state and member rain as ``bench_flood_nowcast.py`` (one member's storm spins
the state up for 30 min, then every member runs ``--seconds`` of its own storm: a few hundred
adaptive steps of ~1.1 s on 30 m cells). Prints member-cell-updates per second of

* batched: :class:`floodcast.physics.ensemble.EnsembleSimulation` (one compiled call steps
  every member), and
* separate: the members as M :class:`Simulation` runs one after another (``kernels.step``),

and their ratio (separate wall / batched wall, > 1: the batch is faster per member), with the
largest depth difference between the two (the batch must equal the separate runs). One mode
per process (``--mode batched``) is for timing the two as whole processes in alternation;
``--mode passes`` times each pass of ``kernels.step`` on one member.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_flood_nowcast import INTERVAL_S, setup, time_batched, time_separate  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--members", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--mode", choices=("both", "batched", "separate", "passes"), default="both")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--precision", choices=("float32", "float64"), default="float32")
    a = ap.parse_args(argv)
    from floodcast.physics.solver import set_threads

    set_threads(a.threads)
    z, cell, cfg, bnd, state, rain = setup(a.size, a.members, INTERVAL_S / 60.0, a.precision)
    small = (slice(0, 16), slice(0, 16))  # compile first: JIT time is not step time
    time_batched(z[small], cell, cfg, bnd, None, rain[:2, :1][..., :16, :16])
    time_separate(z[small], cell, cfg, bnd, None, rain[:1, :1][..., :16, :16])
    from floodcast.physics.ensemble import EnsembleSimulation, run_separately, template_simulation

    if a.mode == "passes":
        return passes(template_simulation(z, cell, cfg, bnd, state), rain[0, 0])
    t0 = float(state["t"])
    cells = a.size * a.size
    res = {}
    if a.mode in ("both", "batched"):
        ens = EnsembleSimulation(template_simulation(z, cell, cfg, bnd, state), a.members)
        w = time.perf_counter()
        ens.advance(t0 + a.seconds, rain, t0, INTERVAL_S)
        wb = time.perf_counter() - w
        steps = int(ens.steps.sum())
        res["batched"] = (wb, ens.depth)
        print(
            f"batched : {wb:.2f} s, {steps / a.members:.0f} steps/member, "
            f"{steps * cells / wb:.3g} member-cell-updates/s"
        )
    if a.mode in ("both", "separate"):
        w = time.perf_counter()
        d = run_separately(z, cell, cfg, bnd, state, rain, INTERVAL_S, t0 + a.seconds)
        ws = time.perf_counter() - w
        res["separate"] = (ws, d)
        print(f"separate: {ws:.2f} s")
    if len(res) == 2:
        (wb, db), (ws, ds) = res["batched"], res["separate"]
        print(
            f"separate: {steps * cells / ws:.3g} member-cell-updates/s; "
            f"separate/batched = {ws / wb:.2f}x; max |diff| {float(np.abs(db - ds).max()):.1e} m"
        )
    return 0


def passes(sim, frame_mmh, reps: int = 50) -> int:
    """Milliseconds per call of each pass of ``kernels.step`` (parallel build, on as many
    threads as set) and of the step's reductions, on one member of the benchmark state."""
    from floodcast.physics import kernels as K
    from floodcast.physics.solver import MMH_TO_MS

    rain = (np.maximum(np.nan_to_num(frame_mmh), 0) * MMH_TO_MS).astype(sim.dtype)
    sim._p[[K.P_DT, K.P_GDT, K.P_DTDX]] = [1.0, sim.config.g, 1.0 / sim.cell_size]
    h, q = sim.h.copy(), (sim.qx.copy(), sim.qy.copy(), sim._qxn, sim._qyn)
    rows = (sim._row_hmax, sim._row_bnd, sim._row_clip, sim._row_inf, sim._row_drain)
    calls = {
        "flux_interior": (
            K.flux_interior,
            (h, sim.z, *q, sim._n2x, sim._n2y, sim._p, sim._row_speed, sim._row_veff),
        ),
        "flux_boundary": (
            K.flux_boundary,
            (h, sim.z, *q, sim._n2x, sim._n2y, sim._p, sim._kinds, sim._levels),
        ),
        "limiter": (K.limiter, (h, sim._qxn, sim._qyn, sim._fac, sim._infil, sim._drain, sim._p)),
        # on a copy of the depth: the passes are timed for cost, not stepped in sequence
        "continuity": (
            K.continuity,
            (
                h.copy(),
                sim._qxn,
                sim._qyn,
                sim._fac,
                q[0].copy(),
                q[1].copy(),
                rain,
                sim._infil,
                sim._drain,
                sim._active_u8,
                sim._maxd,
                sim._p,
                *rows,
            ),
        ),
        "row_totals": (K.row_totals, rows[1:]),
    }
    total = 0.0
    for name, (fn, args) in calls.items():
        fn(*args)
        w = time.perf_counter()
        for _ in range(reps):
            fn(*args)
        ms = (time.perf_counter() - w) / reps * 1e3
        total += ms
        print(f"{name:14s} {ms:7.3f} ms per call")
    print(
        f"sum {total:.3f} ms per step of {h.size} cells: {h.size / total * 1e3:.3g} cell-updates/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
