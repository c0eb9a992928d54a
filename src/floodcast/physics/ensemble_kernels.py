"""Compiled loops of the batched ensemble (:class:`floodcast.physics.ensemble.EnsembleSimulation`).

``advance_members`` runs every member through its own adaptive steps up to a time in one
call: a ``prange`` over members, each member's whole interval (step-length rule, rain-frame
changes, landing on frame times and on the target) compiled, and each step one row-pipelined
sweep (``_step_one``). Member after member rather than step after step: one member's state
(~9 MB at 512²) is worked on for all its steps while it is in cache, instead of every
member's (~180 MB for 20) streaming through memory at every step, and no Python runs
between steps.

They inline the row passes of ``kernels`` (``flux_row``, ``limiter_row``,
``continuity_row``), so their on-disk cache is keyed on kernels.py too (``jit_cache``):
an edit there recompiles the batch as well as the single-run solver.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit, prange

from . import kernels as K
from .jit_cache import key_on_sources

# a member is stepped serially: the batch parallelises over members
_seq = {"fastmath": True, "error_model": "numpy", "cache": True, "nogil": True}

#: float64 settings of the step loop, indices into ``cfgv``
C_G, C_REACH, C_MAXSTEP, C_THR, C_SPEED_AWARE, C_RAIN_AT_START, C_DX, C_MMH = range(8)
#: per-member float64 scalars, indices into ``sv`` [M, 5]
S_T, S_HMAX, S_SPEED, S_VEFF, S_STEPS = range(5)


def step_config(sim, mmh_to_ms: float, size: int = 8) -> np.ndarray:
    """``cfgv`` (the C_* settings) of a :class:`~floodcast.physics.solver.Simulation`,
    as its ``next_step_limit`` and ``_rain_frame`` use them; ``size`` > 8 leaves room for a
    caller's own settings after them (``step_loop``)."""
    cfg = sim.config
    c = np.zeros(size, np.float64)
    c[C_G], c[C_REACH], c[C_MAXSTEP] = cfg.g, cfg.cfl * sim.cell_size, cfg.max_step
    c[C_THR], c[C_DX], c[C_MMH] = cfg.depth_threshold, sim.cell_size, mmh_to_ms
    c[C_SPEED_AWARE] = float(bool(cfg.speed_aware_step))
    c[C_RAIN_AT_START] = float(bool(cfg.rain_at_step_start))
    return c


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
    bspeed, bveff = K.flux_boundary(h, z, qx, qy, qxn, qyn, n2x, n2y, p, kinds, levels)
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
    out[2] = max(ra.max(), bveff)
    out[3] = bnd
    out[4] = clip
    out[5] = inf
    out[6] = drn


# No fastmath below: the step length and the times are the float64 arithmetic of
# Simulation.next_step_limit / _advance / _rain_frame, so a member takes exactly the steps
# a separate run takes.
@njit(cache=True, nogil=True)
def _limit(hmax, veff, cfgv):
    """:meth:`Simulation.next_step_limit` (veff: max effective speed, ``kernels._veff``)."""
    if not hmax > cfgv[C_THR]:
        return cfgv[C_MAXSTEP]
    c = np.sqrt(cfgv[C_G] * hmax)
    reach = cfgv[C_REACH]
    if cfgv[C_SPEED_AWARE] == 0.0:
        return min(cfgv[C_MAXSTEP], reach / c)
    c = max(c, veff)
    return min(cfgv[C_MAXSTEP], reach / c)


@njit(cache=True, nogil=True)
def _load_frame(src, active, dst, mmh_to_ms):
    """:meth:`Simulation._rain_frame` of a grid frame (mm/h -> m/s; NaN, inf, negatives and
    walls -> 0)."""
    ny, nx = dst.shape
    for i in range(ny):
        for j in range(nx):
            v = np.float64(src[i, j])
            if np.isnan(v) or np.isinf(v):
                v = 0.0
            v = max(v, 0.0) if active[i, j] else 0.0
            dst[i, j] = v * mmh_to_ms


@njit(cache=True, nogil=True)
def _advance_one(until, tol, times, rain_mmh, sv, rain_k, cfgv, a, out):
    """One member to ``until`` (Simulation._advance); ``a``: its arguments of ``_step_one``
    but ``out``. Returns 0, 1 on instability, 2 if the rain starts after the member's time."""
    p, rain, active = a[8], a[12], a[15]  # of _step_one's arguments
    nt = times.shape[0]
    while until - sv[S_T] > tol:
        t = sv[S_T]
        k = -1
        while k + 1 < nt and times[k + 1] <= t + tol:  # searchsorted(side="right") - 1
            k += 1
        if k < 0:
            return 2
        dt = _limit(sv[S_HMAX], sv[S_VEFF], cfgv)
        target = until
        if cfgv[C_RAIN_AT_START] == 0.0 and k + 1 < nt:
            target = min(target, times[k + 1])
        land = target - t <= dt * (1.0 + 1e-9)
        if land:
            dt = target - t
        if k != rain_k[0]:
            _load_frame(rain_mmh[k], active, rain, cfgv[C_MMH])
            rain_k[0] = k
        p[K.P_DT] = dt
        p[K.P_GDT] = cfgv[C_G] * dt
        p[K.P_DTDX] = dt / cfgv[C_DX]
        _step_one(*a, out)
        sv[S_HMAX] = out[0]
        sv[S_SPEED] = out[1]
        sv[S_VEFF] = out[2]
        sv[S_STEPS] += 1.0
        sv[S_T] = target if land else t + dt
        if not (np.isfinite(out[0]) and np.isfinite(out[1]) and out[0] <= 1e5):
            return 1
    return 0


@njit(parallel=True, cache=True, nogil=True)
def advance_members(
    until,
    tol,
    times,
    rain_mmh,
    sv,
    rain_k,
    cfgv,
    err,
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
    """Every member to ``until``: arrays with a leading member axis are per member (state,
    scratch, ``p[M, NPARAM]``, rain ``[M, T, ny, nx]`` mm/h and its current frame in m/s,
    ``sv[M, 5]``, ``rain_k[M]``, ``err[M]``, ``out[M, 7]``); ``z``, ``n2x``, ``n2y``,
    ``infil``, ``drain``, ``active``, ``kinds``, ``levels``, ``times`` are shared."""
    for m in prange(h.shape[0]):
        a = (
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
        )
        err[m] = _advance_one(
            until, tol, times, rain_mmh[m], sv[m], rain_k[m : m + 1], cfgv, a, out[m]
        )


# they inline kernels' row passes: recompile when kernels.py changes, not only this file
key_on_sources(sys.modules[__name__], K)
