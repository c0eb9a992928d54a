"""Compiled step loop of a single :class:`~floodcast.physics.solver.Simulation`.

``Simulation.advance`` runs every step up to its target in one numba call (``advance_run``)
instead of a Python loop that costs ~10 µs per step around the kernel: a third of the
step on a 32² grid. It keeps everything the Python loop keeps, in the same float64 order,
so the two are bit-identical (``tests/physics/test_step_loop.py``): time, steps,
``dt_min``/``dt_max``, max depth, speed and effective speed, the mass ledger (rain,
boundary outflow, clipped, infiltrated, drained volume), rain frames (uniform and grids)
and ``rain_at_step_start``. The step-length rule and the rain frames are the batched
ensemble's (``ensemble_kernels._limit``, ``_load_frame``); each step is ``kernels.step``,
the very kernel the Python loop calls.

Cached (numba's cache, like every kernel here): uncached it cost ~1.3 s of compile in
every process, so a 128² ``simulate`` run took 1.6 s instead of 0.33 s (measured); cached,
0.33 s. Two consequences, both of numba's cache: (1) numba copies ``kernels.step`` into
the loop's cached code but tracks only this file, so the cache is keyed on kernels.py and
ensemble_kernels.py too (``jit_cache.key_on_sources``): an edit there recompiles it; (2)
floodcast's fastmath kernels compiled afresh and loaded from the cache are not always
bit-identical, so where the loop's cached copy of ``kernels.step`` and the Python loop's
come from different compiles the two loops agree to float32 rounding, not bit for bit
(tested bit-identical when compiled together: all fresh, and all cached). For the same
reason the loop is its own function and not the batch's ``ensemble_kernels._advance_one``
with a ledger (that one is compiled inside the batch's kernel). A serial copy of the
passes (no parallel launches, no reference counts of row views: ~11 instead of ~17 µs a
step at 32²) is a second compiled copy of the fastmath row code, not the Python loop's,
so it is not used.

Runs the compiled loop does not take, which keep the Python loop: point inflows (their
volumes are Python callables), Green-Ampt soil (its rates are recomputed per step), coast
outlets (their own step kernel) and an ``on_step`` callback.
"""

from __future__ import annotations

import sys
from typing import Any

import numba
import numpy as np
from numba import njit

from . import ensemble_kernels as EK
from . import kernels as K
from .jit_cache import key_on_sources

# floodcast.physics.solver.Simulation: not imported, solver imports this module
Simulation = Any

C_AREA = 8  # cfgv: the ensemble's settings (EK.C_*), then the cell area (m²)
#: float64 figures, indices into ``sv``; mass ledger (m³), indices into ``led``
S_T, S_HMAX, S_SPEED, S_VEFF, S_STEPS, S_DTMIN, S_DTMAX = range(7)
L_RAIN, L_OUT, L_CLIPPED, L_INFIL, L_DRAIN = range(5)
_LEDGER = ("rain", "out", "clipped", "infil", "drain")  # Simulation._vol keys, L_* order


# No fastmath: the step length, the times and the ledger are Simulation's float64
# arithmetic, so the steps and the sums are the Python loop's. Cached: see above.
@njit(cache=True, nogil=True)
def advance_run(until, tol, times, rain_src, mask, vols, sv, rain_k, cfgv, a, led):
    """``Simulation._advance`` and ``_step`` to ``until``. ``a``: ``kernels.step``'s
    arguments but the inflows (rain in ``a[12]``, the frame buffer); ``rain_src[k]`` frame k
    (mm/h) and ``vols[k]`` its volume rate (m³/s, Simulation's own figure); ``sv``, ``led``
    updated as Simulation updates its figures and ledger. Returns 0, or 1 on instability
    (the step's figures and ledger kept, time and step count not advanced, as Simulation)."""
    p, rain = a[8], a[12]
    none_i, none_f = a[9][:0], a[0][0, :0]  # no point inflows: empty rows, cols, depths
    nt = times.shape[0]
    k = -1
    while until - sv[S_T] > tol:
        t = sv[S_T]
        while k + 1 < nt and times[k + 1] <= t + tol:  # searchsorted(side="right") - 1
            k += 1  # (t only grows: the scan goes on from the last step's frame)
        dt = EK._limit(sv[S_HMAX], sv[S_VEFF], cfgv)
        target = until
        if cfgv[EK.C_RAIN_AT_START] == 0.0 and k + 1 < nt:
            target = min(target, times[k + 1])
        land = target - t <= dt * (1.0 + 1e-9)
        if land:
            dt = target - t
        if k != rain_k[0]:
            if k < 0:  # before the first frame: dry
                rain[:, :] = 0.0
            else:
                EK._load_frame(rain_src[k], mask, rain, cfgv[EK.C_MMH])
            rain_k[0] = k
        p[K.P_DT] = dt
        p[K.P_GDT] = cfgv[EK.C_G] * dt
        p[K.P_DTDX] = dt / cfgv[EK.C_DX]
        hmax, speed, veff, bnd, clip, inf, drn = K.step(*a[:17], none_i, none_i, none_f, *a[17:])
        vol = vols[k] if k >= 0 else 0.0
        led[L_RAIN] += vol * np.float64(p[K.P_DT])
        led[L_OUT] += bnd * cfgv[EK.C_DX] * dt
        led[L_CLIPPED] += clip * cfgv[C_AREA]
        led[L_INFIL] += inf * cfgv[C_AREA]
        led[L_DRAIN] += drn * cfgv[C_AREA]
        sv[S_HMAX], sv[S_SPEED], sv[S_VEFF] = hmax, speed, veff
        if not (np.isfinite(sv[S_HMAX]) and np.isfinite(sv[S_SPEED]) and sv[S_HMAX] <= 1e5):
            return 1
        sv[S_STEPS] += 1.0
        sv[S_DTMIN] = min(sv[S_DTMIN], dt)
        sv[S_DTMAX] = max(sv[S_DTMAX], dt)
        sv[S_T] = target if land else t + dt
    return 0


# it inlines kernels.step and the ensemble's step rule: recompile when either file changes
key_on_sources(sys.modules[__name__], K, EK)


def loop_config(sim: Simulation, mmh_to_ms: float) -> np.ndarray:
    """``cfgv`` of ``advance_run``: the ensemble's settings, then the cell area."""
    c = EK.step_config(sim, mmh_to_ms, C_AREA + 1)
    c[C_AREA] = sim.area
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
        self.cfgv = loop_config(sim, mmh_to_ms)
        rates = np.asarray(sim.rain.rates_mmh)
        ny, nx = sim.shape
        if rates.ndim == 1:  # uniform: each rate as one [1, nx] row, unmasked
            self.src = np.repeat(rates.reshape(-1, 1, 1), nx, axis=2)
            self.mask = np.ones((1, nx), np.uint8)
            self.rain = np.zeros((1, nx), sim.dtype)
        else:
            self.src = np.ascontiguousarray(rates)
            self.mask = sim._active_u8
            self.rain = np.zeros((ny, nx), sim.dtype)
        self.rain_k = np.full(1, -2, np.int64)  # frame held in self.rain (-2: none yet)
        self.vols = np.full(rates.shape[0], np.nan)

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
        """Step ``sim`` to ``until_s`` in one compiled call; returns ``advance_run``'s code
        (1: instability, with ``sim``'s figures as the Python loop leaves them)."""
        self.frame_volumes(sim, until_s, tol)
        sv = np.array(
            [sim.t, sim._hmax, sim._speed, sim._veff, sim.steps, sim.dt_min, sim.dt_max],
            np.float64,
        )
        led = np.array([sim._vol[key] for key in _LEDGER], np.float64)
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
        times, src, mask, vols, rain_k, cfgv = (
            sim._rain_times,
            self.src,
            self.mask,
            self.vols,
            self.rain_k,
            self.cfgv,
        )
        code = advance_run(until_s, tol, times, src, mask, vols, sv, rain_k, cfgv, a, led)
        sim.t = float(sv[S_T])
        sim._hmax, sim._speed, sim._veff = (float(x) for x in sv[S_HMAX : S_VEFF + 1])
        sim.steps = int(sv[S_STEPS])
        sim.dt_min, sim.dt_max = float(sv[S_DTMIN]), float(sv[S_DTMAX])
        for key, x in zip(_LEDGER, led, strict=True):
            sim._vol[key] = float(x)
        return int(code)
