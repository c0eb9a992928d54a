"""Ensemble of flood simulations run as one batch: state ``[M, ny, nx]``, one compiled call.

Each member is the solver of :mod:`floodcast.physics.solver` on the same DEM with its own rain
and its own adaptive step: member ``m`` takes exactly the steps (length and count) that a
separate :class:`~floodcast.physics.solver.Simulation` with that rain would take, so a batch
equals M separate runs (tested). What the batch shares is everything around the steps: one
compiled call (:func:`floodcast.physics.ensemble_kernels.advance_members`, a ``prange`` over
members) runs every member's whole interval, step-length rule and rain frames included, with
no Python between steps, member after member so one member's state stays in cache for all
its steps. On two threads two members run at once (no fork/join per pass).
"""

from __future__ import annotations

import math

import numpy as np

from . import ensemble_kernels as EK
from .solver import MMH_TO_MS, Simulation


class EnsembleSimulation:
    """M members of one solver setup (DEM, config, boundaries), each with its own rain.

    Build it from a template :class:`Simulation` (which validated the inputs and holds the
    initial state: every member starts from it). Rain is given per call to :meth:`advance`
    as ``[M, T, ny, nx]`` mm/h frames starting at the current time, ``interval_s`` apart.
    Point inflows are not supported (the nowcast has none).
    """

    def __init__(self, template: Simulation, n_members: int):
        if n_members < 1:
            raise ValueError(f"n_members must be >= 1, got {n_members}")
        if template.inflows:
            raise ValueError("an ensemble does not take point inflows")
        if template._soil is not None:  # per-member cumulative infiltration: not batched
            raise ValueError("an ensemble does not take Green-Ampt soil")
        if getattr(template, "_outlets", None) is not None:  # the coast pass is not batched
            raise ValueError(
                "an ensemble does not take coast outlets (--nodata open / --sea-level)"
            )
        s = template
        self.template = s
        self.n = int(n_members)
        self.config = s.config
        self.shape = s.shape
        self.dtype = s.dtype
        m, (ny, nx) = self.n, s.shape

        def rep(a):
            return np.repeat(a[None], m, 0)

        self.h, self.qx, self.qy, self.maxd = rep(s.h), rep(s.qx), rep(s.qy), rep(s._maxd)
        self._qxn, self._qyn = np.zeros_like(self.qx), np.zeros_like(self.qy)
        self._fac = np.ones((m, ny + 2, nx + 2), s.dtype)
        self._rows = [
            np.zeros((m,) + a.shape, a.dtype)
            for a in (
                s._row_speed,
                s._row_veff,
                s._row_hmax,
                s._row_bnd,
                s._row_clip,
                s._row_inf,
                s._row_drain,
            )
        ]
        self._p = rep(s._p)
        self._out = np.zeros((m, 7), np.float64)
        self._rain = np.zeros((m, ny, nx), s.dtype)
        self._rain_k = np.full(m, -2, np.int64)
        self._err = np.zeros(m, np.int64)
        # per member: t, hmax, speed, veff, steps (float64, as Simulation keeps them)
        self._sv = np.zeros((m, 5), np.float64)
        self._sv[:, EK.S_T] = float(s.t)
        self._sv[:, EK.S_HMAX] = float(s._hmax)
        self._sv[:, EK.S_SPEED] = float(s._speed)
        self._sv[:, EK.S_VEFF] = float(s._veff)
        self._cfgv = EK.step_config(s, MMH_TO_MS)

    @property
    def t(self) -> np.ndarray:
        """Time (s) of every member."""
        return self._sv[:, EK.S_T].copy()

    @property
    def steps(self) -> np.ndarray:
        """Steps taken by every member."""
        return self._sv[:, EK.S_STEPS].astype(np.int64)

    @property
    def depth(self) -> np.ndarray:
        """Depth (m) of every member, float32 [M, ny, nx] copy."""
        return self.h.astype(np.float32)

    def member_state(self, m: int) -> dict:
        """Member ``m``'s state as :meth:`Simulation.state_dict` keys (volumes not tracked)."""
        d = self.template.state_dict()
        d.update(
            h=self.h[m].copy(),
            qx=self.qx[m].copy(),
            qy=self.qy[m].copy(),
            max_depth=self.maxd[m].copy(),
            t=float(self._sv[m, EK.S_T]),
            steps=float(self._sv[m, EK.S_STEPS]),
            hmax=float(self._sv[m, EK.S_HMAX]),
            speed=float(self._sv[m, EK.S_SPEED]),
            veff=float(self._sv[m, EK.S_VEFF]),
        )
        return d

    def advance(self, until_s: float, rain_mmh: np.ndarray, t0_s: float, interval_s: float) -> None:
        """Step every member until ``until_s``; frame j of ``rain_mmh`` [M, T, ny, nx] holds
        from ``t0_s + j * interval_s`` (the last one until ``until_s``)."""
        rain_mmh = np.ascontiguousarray(rain_mmh)
        if rain_mmh.ndim != 4 or rain_mmh.shape[0] != self.n or rain_mmh.shape[2:] != self.shape:
            raise ValueError(f"rain {rain_mmh.shape} must be [{self.n}, T, *{self.shape}]")
        times = t0_s + interval_s * np.arange(rain_mmh.shape[1], dtype=np.float64)
        tol = 1e-9 * max(1.0, abs(until_s))
        tp = self.template
        self._rain_k[:] = -2  # rain array changed: reload frames
        EK.advance_members(
            float(until_s),
            tol,
            times,
            rain_mmh,
            self._sv,
            self._rain_k,
            self._cfgv,
            self._err,
            self.h,
            tp.z,
            self.qx,
            self.qy,
            self._qxn,
            self._qyn,
            tp._n2x,
            tp._n2y,
            self._p,
            tp._kinds,
            tp._levels,
            self._fac,
            self._rain,
            tp._infil,
            tp._drain,
            tp._active_u8,
            self.maxd,
            *self._rows,
            self._out,
        )
        if (self._err == 2).any():
            raise ValueError("rain starts after the current time")
        if self._err.any():
            bad = int(np.flatnonzero(self._err)[0])
            raise ValueError(
                f"numerical instability in member {bad} near t="
                f"{self._sv[bad, EK.S_T]:.1f} s; reduce cfl or max_step"
            )
        t = self._sv[:, EK.S_T]
        self._sv[:, EK.S_T] = np.where(np.abs(t - until_s) <= tol, np.maximum(t, until_s), t)


def batch_leads(tmpl: Simulation, fc: np.ndarray, t0: float, interval_s: float, thr: tuple):
    """The members of ``fc`` [M, K, y, x] from ``tmpl``'s state in one batch; per lead: member
    depths [M, y, x] and the fraction of members whose depth exceeded each threshold at some
    step since the start [J, y, x]."""
    ens = EnsembleSimulation(tmpl, fc.shape[0])
    ens.maxd[...] = ens.h  # max depth within the lead, from the start of the forecast
    for k in range(fc.shape[1]):
        ens.advance(t0 + (k + 1) * interval_s, fc, t0, interval_s)
        mx = ens.maxd
        yield ens.depth, np.stack([(mx > th).mean(0) for th in thr])


def template_simulation(
    elevation: np.ndarray, cell_size: float, config=None, boundaries=None, state: dict | None = None
) -> Simulation:
    """A Simulation of the DEM without rain (zero, forever), optionally from ``state``: the
    template an :class:`EnsembleSimulation` copies its setup and initial state from."""
    from floodcast.io.rain import RainSeries

    rain = RainSeries(np.zeros(1, np.float32), np.zeros(1), math.inf, "none")
    sim = Simulation(elevation, cell_size, rain, config, boundaries)
    if state is not None:
        sim.load_state_dict(state)
    return sim


def run_separately(
    elevation: np.ndarray,
    cell_size: float,
    config,
    boundaries,
    state: dict | None,
    rain_mmh: np.ndarray,
    interval_s: float,
    until_s: float,
) -> np.ndarray:
    """Reference: each member as its own :class:`Simulation` from ``state`` (dry at t=0 if
    None), its frames ``interval_s`` apart from the state's time, advanced to ``until_s``;
    returns depths [M, ny, nx]. For tests and the benchmark."""
    from floodcast.io.rain import RainSeries

    t0 = float(state["t"]) if state is not None else 0.0
    times = t0 + interval_s * np.arange(rain_mmh.shape[1], dtype=np.float64)
    out = []
    for m in range(rain_mmh.shape[0]):
        rain = RainSeries(np.asarray(rain_mmh[m], np.float32), times, math.inf, f"member {m}")
        sim = Simulation(elevation, cell_size, rain, config, boundaries)
        if state is not None:
            sim.load_state_dict(state)
        sim.advance(until_s)
        out.append(sim.depth)
    return np.stack(out)
