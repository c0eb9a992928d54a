"""Ensemble of flood simulations stepped as one batch: state ``[M, ny, nx]``, one kernel call.

Each member is the solver of :mod:`floodcast.physics.solver` on the same DEM with its own rain
and its own adaptive step: member ``m`` takes exactly the steps (length and count) that a
separate :class:`~floodcast.physics.solver.Simulation` with that rain would take, so a batch
equals M separate runs (tested). What the batch shares is the work around the steps: one
compiled call advances every unfinished member one step (``step_members``, a ``prange`` over
members, each member stepped by the same four passes as ``kernels.step`` compiled serially),
and the step-length bookkeeping is one vectorised NumPy expression for all members instead of
M Python loops. On two threads the members run in parallel (no fork/join per pass).
"""

# size: the batched members' step loop mirrors solver.Simulation's loop line for line so both
# stay equal (tested).

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import kernels as K
from .solver import MMH_TO_MS, Simulation

# a member is stepped serially: the batch parallelises over members
_seq = {"fastmath": True, "error_model": "numpy", "cache": True, "nogil": True}


@njit(**_seq)
def _step_one(
    h,
    z,
    qx,
    qy,
    qxn,
    qyn,
    n2x,
    n2y,
    p,
    kinds,
    levels,
    fac,
    rain,
    infil,
    drain,
    active,
    maxd,
    rs,
    ra,
    rh,
    rb,
    rc,
    ri,
    rd,
    out,
):
    """``kernels.step`` for one member (no point inflows) in one sweep; results into
    ``out[0:7]``.

    The four passes run row-pipelined instead of one after another over the whole grid: at
    row i the fluxes of row i, the limiter of row i-1 (it needs the y-faces south of it) and
    the continuity of row i-2 (it needs the factors of rows i-3..i-1). Each row's arithmetic
    is the pass's own (``kernels.*_row``), and no row is overwritten before every pass that
    reads its old value has run, so the result is the passes' result; but a member's
    temporaries stay in cache instead of streaming its whole grid (~9 MB at 512²) through
    memory four times a step (measured: 1.6x slower than one member alone with 20 members).
    """
    ny = h.shape[0]
    # perimeter faces first: they read only the old state, and no interior pass reads them
    # before the limiter
    bspeed, bacc = K.flux_boundary(h, z, qx, qy, qxn, qyn, n2x, n2y, p, kinds, levels)
    for i in range(ny + 2):
        if i < ny:
            K.flux_row(i, h, z, qx, qy, qxn, qyn, n2x, n2y, p, rs, ra)
        if 1 <= i <= ny:
            K.limiter_row(i - 1, h, qxn, qyn, fac, infil, drain, p)
        if i >= 2:
            K.continuity_row(
                i - 2,
                h,
                qxn,
                qyn,
                fac,
                qx,
                qy,
                rain,
                infil,
                drain,
                active,
                maxd,
                p,
                rh,
                rb,
                rc,
                ri,
                rd,
            )
    bnd, clip, inf, drn = K.row_totals(rb, rc, ri, rd)
    out[0] = rh.max()
    out[1] = max(rs.max(), bspeed)
    out[2] = max(ra.max(), bacc)
    out[3] = bnd
    out[4] = clip
    out[5] = inf
    out[6] = drn


@njit(parallel=True, fastmath=True, error_model="numpy", cache=True, nogil=True)
def step_members(
    go,
    h,
    z,
    qx,
    qy,
    qxn,
    qyn,
    n2x,
    n2y,
    p,
    kinds,
    levels,
    fac,
    rain,
    infil,
    drain,
    active,
    maxd,
    rs,
    ra,
    rh,
    rb,
    rc,
    ri,
    rd,
    out,
):
    """One step of every member with ``go[m]``: arrays with a leading member axis are per
    member (state, scratch, parameters ``p[M, NPARAM]``, rain ``[M, ny, nx]`` m/s, results
    ``out[M, 7]``); ``z``, ``n2x``, ``n2y``, ``infil``, ``drain``, ``active``, ``kinds``,
    ``levels`` are shared."""
    for m in prange(go.shape[0]):
        if go[m]:
            _step_one(
                h[m],
                z,
                qx[m],
                qy[m],
                qxn[m],
                qyn[m],
                n2x,
                n2y,
                p[m],
                kinds,
                levels,
                fac[m],
                rain[m],
                infil,
                drain,
                active,
                maxd[m],
                rs[m],
                ra[m],
                rh[m],
                rb[m],
                rc[m],
                ri[m],
                rd[m],
                out[m],
            )


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
                s._row_acc,
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
        self.t = np.full(m, float(s.t))
        self.steps = np.zeros(m, np.int64)
        self._hmax = np.full(m, float(s._hmax))
        self._speed = np.full(m, float(s._speed))
        self._acc = np.full(m, float(s._acc))

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
            t=float(self.t[m]),
            steps=float(self.steps[m]),
            hmax=float(self._hmax[m]),
            speed=float(self._speed[m]),
            acc=float(self._acc[m]),
        )
        return d

    def _limits(self) -> np.ndarray:
        """:meth:`Simulation.next_step_limit` of every member, vectorised (same float64 ops)."""
        cfg = self.config
        reach = cfg.cfl * self.template.cell_size
        with np.errstate(invalid="ignore", divide="ignore"):
            c = np.sqrt(cfg.g * self._hmax)
            if cfg.speed_aware_step:
                c = np.maximum(c, self._speed)
                dt = 2.0 * reach / (c + np.sqrt(c * c + 4.0 * self._acc * reach))
            else:
                dt = reach / c
        dt = np.minimum(cfg.max_step, dt)
        return np.where(self._hmax > cfg.depth_threshold, dt, float(cfg.max_step))

    def _frames(self, rain_mmh: np.ndarray, k: np.ndarray, go: np.ndarray) -> None:
        """Rain rate (m/s) of frame k[m] for members that moved to a new frame, as
        ``Simulation._rain_frame`` computes it (NaN and negatives -> 0, walls 0)."""
        active = self.template.active
        for m in np.flatnonzero(go & (k != self._rain_k)):
            fr = np.nan_to_num(np.asarray(rain_mmh[m, k[m]], np.float64), nan=0.0, posinf=0.0)
            self._rain[m] = (np.where(active, np.maximum(fr, 0.0), 0.0) * MMH_TO_MS).astype(
                self.dtype
            )
            self._rain_k[m] = k[m]

    def advance(self, until_s: float, rain_mmh: np.ndarray, t0_s: float, interval_s: float) -> None:
        """Step every member until ``until_s``; frame j of ``rain_mmh`` [M, T, ny, nx] holds
        from ``t0_s + j * interval_s`` (the last one until ``until_s``)."""
        rain_mmh = np.asarray(rain_mmh)
        if rain_mmh.ndim != 4 or rain_mmh.shape[0] != self.n or rain_mmh.shape[2:] != self.shape:
            raise ValueError(f"rain {rain_mmh.shape} must be [{self.n}, T, *{self.shape}]")
        times = t0_s + interval_s * np.arange(rain_mmh.shape[1], dtype=np.float64)
        cfg = self.config
        tol = 1e-9 * max(1.0, abs(until_s))
        tp = self.template
        z, n2x, n2y, act = tp.z, tp._n2x, tp._n2y, tp._active_u8
        kinds, levels = self.template._kinds, self.template._levels
        self._rain_k[:] = -2  # rain array changed: reload frames
        while True:
            go = until_s - self.t > tol
            if not go.any():
                break
            k = np.searchsorted(times, self.t + tol, side="right") - 1
            if (k < 0).any():
                raise ValueError("rain starts after the current time")
            dt = self._limits()
            target = np.full(self.n, float(until_s))
            if not cfg.rain_at_step_start:
                nxt = np.minimum(k + 1, times.size - 1)
                target = np.where(k + 1 < times.size, np.minimum(target, times[nxt]), target)
            land = target - self.t <= dt * (1.0 + 1e-9)
            dt = np.where(land, target - self.t, dt)
            self._frames(rain_mmh, k, go)
            p = self._p
            p[:, K.P_DT] = dt
            p[:, K.P_GDT] = cfg.g * dt
            p[:, K.P_DTDX] = dt / self.template.cell_size
            rs, ra, rh, rb, rc, ri, rd = self._rows
            step_members(
                go.astype(np.uint8),
                self.h,
                z,
                self.qx,
                self.qy,
                self._qxn,
                self._qyn,
                n2x,
                n2y,
                p,
                kinds,
                levels,
                self._fac,
                self._rain,
                tp._infil,
                tp._drain,
                act,
                self.maxd,
                rs,
                ra,
                rh,
                rb,
                rc,
                ri,
                rd,
                self._out,
            )
            self._hmax = np.where(go, self._out[:, 0], self._hmax)
            self._speed = np.where(go, self._out[:, 1], self._speed)
            self._acc = np.where(go, self._out[:, 2], self._acc)
            if not (
                np.isfinite(self._hmax).all()
                and np.isfinite(self._speed).all()
                and self._hmax.max() <= 1e5
            ):
                bad = int(
                    np.flatnonzero(~np.isfinite(self._hmax) | (self._hmax > 1e5))[0]
                    if not np.isfinite(self._hmax).all() or self._hmax.max() > 1e5
                    else 0
                )
                raise ValueError(
                    f"numerical instability in member {bad} near t="
                    f"{self.t[bad]:.1f} s; reduce cfl or max_step"
                )
            self.t = np.where(go, np.where(land, target, self.t + dt), self.t)
            self.steps += go
        self.t = np.where(np.abs(self.t - until_s) <= tol, np.maximum(self.t, until_s), self.t)


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
