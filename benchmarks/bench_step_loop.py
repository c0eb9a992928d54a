"""Benchmark: the solver's Python step loop against its compiled loop (``physics.step_loop``).

The same run through both loops, back to back, on one thread: ``bench_simulate``'s valley
(10 m cells, micro-relief, uniform 50 mm/h, free edges) on N x N grids, advanced in 5-min
chunks (as ``run`` saves maps) for a simulated time per size that gives a few thousand
steps. Prints steps, µs per step and steps per second (CPU seconds of this process,
``time.process_time``, and wall), the speed-up, and checks that both loops end in the
same state bit for bit. Medians of ``--repeats`` pairs; compile time excluded (warm-up).

    PYTHONPATH=src OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/bench_step_loop.py
    PYTHONPATH=src python benchmarks/bench_step_loop.py --sizes 32 128 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_simulate import DX, N_MANNING, rain, valley  # noqa: E402

from floodcast.physics import Boundaries, Simulation, SolverConfig, set_threads  # noqa: E402

#: simulated seconds per grid size (a few thousand steps each; 512²: ~1 s per loop)
DURATION_S = {32: 7200.0, 64: 7200.0, 128: 3600.0, 256: 1800.0, 512: 900.0}
CHUNK_S = 300.0


def one_run(n: int, python_loop: bool, duration_s: float) -> tuple[float, float, Simulation]:
    """(CPU s, wall s, simulation) of ``duration_s`` in CHUNK_S advances."""
    cfg = SolverConfig(manning=N_MANNING, max_step=10.0)
    sim = Simulation(valley(n), DX, rain(), cfg, Boundaries.parse("free"))
    sim._python_loop = python_loop
    c, w = time.process_time(), time.perf_counter()
    t = 0.0
    while t < duration_s:
        t = min(t + CHUNK_S, duration_s)
        sim.advance(t)
    return time.process_time() - c, time.perf_counter() - w, sim


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128, 512])
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    set_threads(1)
    for python_loop in (True, False):  # compile both outside the clocks
        one_run(16, python_loop, 600.0)
    print(f"load average {os.getloadavg()[0]:.2f}; one thread; medians of {a.repeats} pairs")
    print(
        "| grid | steps | Python loop µs/step (CPU / wall) | compiled µs/step (CPU / wall) "
        "| steps/s Python / compiled (CPU) | speed-up (CPU) |"
    )
    print("|---|---|---|---|---|---|")
    for n in a.sizes:
        dur = DURATION_S.get(n, 900.0)
        py, cc = [], []
        for _ in range(a.repeats):
            py_cpu, py_wall, s_py = one_run(n, True, dur)
            cc_cpu, cc_wall, s_cc = one_run(n, False, dur)
            if not (np.array_equal(s_py.h, s_cc.h) and s_py._vol == s_cc._vol):
                raise SystemExit(f"{n}²: the two loops differ")
            py.append((py_cpu, py_wall))
            cc.append((cc_cpu, cc_wall))
        steps = s_cc.steps
        pc, pw = (statistics.median(x[i] for x in py) / steps * 1e6 for i in (0, 1))
        cc_c, cc_w = (statistics.median(x[i] for x in cc) / steps * 1e6 for i in (0, 1))
        print(
            f"| {n}² | {steps} | {pc:.1f} / {pw:.1f} | {cc_c:.1f} / {cc_w:.1f} "
            f"| {1e6 / pc:,.0f} / {1e6 / cc_c:,.0f} | {pc / cc_c:.2f}× |"
        )


if __name__ == "__main__":
    main()
