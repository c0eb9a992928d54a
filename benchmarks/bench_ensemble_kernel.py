"""Per-step speed of the batched ensemble kernel against the single-run kernel, one process.

    .venv/bin/python benchmarks/bench_ensemble_kernel.py [--size 512] [--members 20]
        [--seconds 300] [--mode both|batched|separate] [--threads 1] [--precision float32]

Same terrain, state and member rain as ``bench_flood_nowcast.py`` (one member's storm spins
the state up for 30 min, then every member runs ``--seconds`` of its own storm: a few hundred
adaptive steps of ~1.1 s on 30 m cells). Prints member-cell-updates per second of

* batched: :class:`floodcast.physics.ensemble.EnsembleSimulation` (one compiled call steps
  every member), and
* separate: the members as M :class:`Simulation` runs one after another (``kernels.step``),

and their ratio (separate wall / batched wall, > 1: the batch is faster per member), with the
largest depth difference between the two (the batch must equal the separate runs). One mode
per process (``--mode batched``) is for timing the two as whole processes in alternation.
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
    ap.add_argument("--mode", choices=("both", "batched", "separate"), default="both")
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
        steps_total = int(ens.steps.sum())
        print(
            f"separate: {steps_total * cells / ws:.3g} member-cell-updates/s; "
            f"separate/batched = {ws / wb:.2f}x; max |diff| {float(np.abs(db - ds).max()):.1e} m"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
