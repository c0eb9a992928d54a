"""Compiled step loop of a single :class:`~floodcast.physics.solver.Simulation`.

``Simulation.advance`` runs every step up to its target in one numba call
(``ensemble_kernels._advance_one``, the batched ensemble's member loop, stepping with
``kernels.step``) instead of a Python loop that costs ~10-15 µs per step around the
kernel: the whole step cost on a 32² grid, where the kernel itself takes ~17 µs. It keeps
everything the Python loop keeps, in the same float64 order, so the two are bit-identical
(``tests/physics/test_step_loop.py``): time, steps, ``dt_min``/``dt_max``, max depth,
speed and effective speed, the mass ledger (rain, boundary outflow, clipped, infiltrated,
drained volume), rain frames (uniform rows and grids) and ``rain_at_step_start``.

Each step is ``kernels.step``, the very kernel the Python loop calls: its fastmath passes
are standalone parallel functions, so their arithmetic does not depend on the code around
them. A serial copy of the passes inlined into the loop (no parallel launches, no
reference counting of row views) took ~11 instead of ~17 µs a step at 32², but LLVM
re-associated its fastmath sums in the new context: depths differed by up to 1.5e-8 m
after a fresh compile (not after a cached one), so it is not used.

Runs the compiled loop does not take, which keep the Python loop: point inflows (their
volumes are Python callables), Green-Ampt soil (its rates are recomputed per step), coast
outlets (their own step kernel) and an ``on_step`` callback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numba
import numpy as np

from . import ensemble_kernels as EK

if TYPE_CHECKING:
    from .solver import Simulation


def loop_config(sim: Simulation, mmh_to_ms: float, single: bool) -> np.ndarray:
    """``cfgv`` of ``_advance_one`` for ``sim``'s settings; ``single``: a single run (dry
    before the first rain frame) rather than a batch member."""
    cfg = sim.config
    c = np.zeros(EK.NCFG, np.float64)
    c[EK.C_G] = cfg.g
    c[EK.C_REACH] = cfg.cfl * sim.cell_size  # as Simulation.next_step_limit computes it
    c[EK.C_MAXSTEP] = cfg.max_step
    c[EK.C_THR] = cfg.depth_threshold
    c[EK.C_SPEED_AWARE] = float(bool(cfg.speed_aware_step))
    c[EK.C_RAIN_AT_START] = float(bool(cfg.rain_at_step_start))
    c[EK.C_DX] = sim.cell_size
    c[EK.C_MMH] = mmh_to_ms
    c[EK.C_AREA] = sim.area
    c[EK.C_DRY_BEFORE] = float(single)
    return c


def eligible(sim: Simulation) -> bool:
    """Whether ``sim`` can step in the compiled loop (see the module docstring)."""
    return not sim.inflows and sim._soil is None and sim._outlets is None


class StepLoop:
    """The compiled loop's state for one simulation: its settings, rain source and mask,
    current frame buffer (m/s) and the volume rate of every frame met so far."""

    def __init__(self, sim: Simulation, mmh_to_ms: float):
        # start numba's thread pool: the loop calls kernels.step's parallel passes from
        # compiled code, which, loaded from the cache, does not start it (segfault, seen)
        numba.get_num_threads()
        self.cfgv = loop_config(sim, mmh_to_ms, single=True)
        rates = np.asarray(sim.rain.rates_mmh)
        ny, nx = sim.shape
        if rates.ndim == 1:  # uniform: a [1, 1] rate broadcast into one [1, nx] row
            self.src = np.ascontiguousarray(rates.reshape(-1, 1, 1))
            self.mask = np.ones((1, 1), np.uint8)
            self.rain = np.zeros((1, nx), sim.dtype)
        else:
            self.src = np.ascontiguousarray(rates)
            self.mask = sim._active_u8
            self.rain = np.zeros((ny, nx), sim.dtype)
        self.rain_k = np.full(1, -2, np.int64)  # frame held in self.rain (-2: none yet)
        self.vols = np.full(rates.shape[0], np.nan)
        self.out = np.zeros(7, np.float64)

    def frame_volumes(self, sim: Simulation, until_s: float, tol: float) -> None:
        """Volume rates of the frames the steps to ``until_s`` can start in, each once, from
        ``Simulation._rain_frame`` (the Python loop's own figure: NumPy's float64 sum)."""
        times = sim._rain_times
        k0 = max(int(np.searchsorted(times, sim.t + tol, side="right")) - 1, 0)
        k1 = int(np.searchsorted(times, until_s + tol, side="right")) - 1
        for k in range(k0, k1 + 1):
            if np.isnan(self.vols[k]):
                self.vols[k] = sim._rain_frame(k)[2]

    def advance(self, sim: Simulation, until_s: float, tol: float) -> int:
        """Step ``sim`` to ``until_s`` in one compiled call; returns ``_advance_one``'s code
        (1: instability, with ``sim``'s figures as the Python loop leaves them)."""
        self.frame_volumes(sim, until_s, tol)
        sv = np.array(
            [sim.t, sim._hmax, sim._speed, sim._veff, sim.steps, sim.dt_min, sim.dt_max],
            np.float64,
        )
        v = sim._vol
        led = np.array([v["rain"], v["out"], v["clipped"], v["infil"], v["drain"]], np.float64)
        a = (
            sim.h,
            sim.z,
            sim.qx,
            sim.qy,
            sim._qxn,
            sim._qyn,
            sim._n2x,
            sim._n2y,
            sim._p,
            sim._kinds,
            sim._levels,
            sim._fac,
            self.rain,
            sim._infil,
            sim._drain,
            sim._active_u8,
            sim._maxd,
            sim._row_speed,
            sim._row_veff,
            sim._row_hmax,
            sim._row_bnd,
            sim._row_clip,
            sim._row_inf,
            sim._row_drain,
        )
        code = EK._advance_one(
            until_s,
            tol,
            sim._rain_times,
            self.src,
            self.mask,
            self.vols,
            sv,
            self.rain_k,
            self.cfgv,
            a,
            self.out,
            led,
            None,
        )
        sim.t = float(sv[EK.S_T])
        sim._hmax, sim._speed, sim._veff = (float(x) for x in sv[EK.S_HMAX : EK.S_VEFF + 1])
        sim.steps = int(sv[EK.S_STEPS])
        sim.dt_min, sim.dt_max = float(sv[EK.S_DTMIN]), float(sv[EK.S_DTMAX])
        for key, i in (
            ("rain", EK.L_RAIN),
            ("out", EK.L_OUT),
            ("clipped", EK.L_CLIPPED),
            ("infil", EK.L_INFIL),
            ("drain", EK.L_DRAIN),
        ):
            v[key] = float(led[i])
        return int(code)
