"""Compiled step loops of the batched ensemble and of a single run.

``_advance_one`` is one run's whole interval to a time, compiled: ``Simulation._advance``
and its step bookkeeping (step-length rule, rain frames, landing on frame times and on the
target, step figures, mass ledger). A single run calls it through ``step_loop``; the batch
(:class:`floodcast.physics.ensemble.EnsembleSimulation`) through ``advance_members``, a
``prange`` over members, each step one row-pipelined sweep (``_step_one``). One code, so a
member takes exactly the steps of a separate run. Member after member rather than step
after step: one member's state (~9 MB at 512²) stays in cache for all its steps instead of
every member's (~180 MB for 20) streaming through memory at every step.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import kernels as K

# a member is stepped serially: the batch parallelises over members
_seq = {"fastmath": True, "error_model": "numpy", "cache": True, "nogil": True}

#: float64 settings of the step loop, indices into ``cfgv`` (built by ``step_loop.loop_config``)
C_G, C_REACH, C_MAXSTEP, C_THR, C_SPEED_AWARE, C_RAIN_AT_START, C_DX, C_MMH = range(8)
# C_AREA: cell area (m²); C_DRY_BEFORE: 1 = dry before the first frame, 0 = an error
C_AREA, C_DRY_BEFORE = range(8, 10)
NCFG = 10
#: per-member float64 scalars, indices into ``sv`` [M, NSV]
S_T, S_HMAX, S_SPEED, S_VEFF, S_STEPS, S_DTMIN, S_DTMAX = range(7)
NSV = 7
#: mass ledger (m³, float64), indices into ``led``: ``Simulation._vol``'s step terms
L_RAIN, L_OUT, L_CLIPPED, L_INFIL, L_DRAIN = range(5)
NLED = 5


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
def _load_frame(src, mask, dst, mmh_to_ms):
    """:meth:`Simulation._rain_frame`: mm/h -> m/s; NaN, inf, negatives and masked cells -> 0.
    ``src`` and ``mask`` broadcast over ``dst`` along axes of length 1 (uniform rain: a
    [1, 1] rate and mask into a [1, nx] row)."""
    ny, nx = dst.shape
    sy, sx = src.shape[0] - 1, src.shape[1] - 1
    my, mx = mask.shape[0] - 1, mask.shape[1] - 1
    for i in range(ny):
        for j in range(nx):
            v = np.float64(src[min(i, sy), min(j, sx)])
            if np.isnan(v) or np.isinf(v):
                v = 0.0
            v = max(v, 0.0) if mask[min(i, my), min(j, mx)] else 0.0
            dst[i, j] = v * mmh_to_ms


@njit(cache=True, nogil=True)
def passes_step(a, out):
    """A single run's step: ``kernels.step``, whose passes run in parallel on more than one
    thread (and on one run faster than ``_step_one``'s sweep: 1.2 against 1.7 ms at 512²);
    ``a``: ``_step_one``'s arguments but ``out``."""
    none_i, none_f = a[9][:0], a[0][0, :0]  # no point inflows: empty rows, cols, depths
    r = K.step(*a[:17], none_i, none_i, none_f, *a[17:])
    out[0], out[1], out[2], out[3], out[4], out[5], out[6] = r


@njit(cache=True, nogil=True)
def _advance_one(until, tol, times, rain_src, mask, vols, sv, rain_k, cfgv, a, out, led, sweep):
    """One run to ``until`` as ``Simulation._advance`` and ``_step`` step it. ``a``:
    ``_step_one``'s arguments but ``out``; ``rain_src[k]``: frame k (mm/h, ``_load_frame``d
    into ``a[12]`` with ``mask``), ``vols[k]`` its volume rate (m³/s); ``sv`` [NSV] and
    ``led`` [NLED] updated as Simulation updates its figures and mass ledger, in the same
    float64 order. Returns 0; 1 on instability (the step's figures and ledger kept, time
    and step count not advanced, as Simulation); 2 if the rain starts after the run's time
    and ``cfgv[C_DRY_BEFORE]`` is 0. ``sweep``: None steps with ``passes_step``, True with
    ``_step_one`` (a batch member: a parallel kernel inside the batch's prange does not
    link)."""
    p, rain = a[8], a[12]
    nt = times.shape[0]
    k = -1
    while until - sv[S_T] > tol:
        t = sv[S_T]
        while k + 1 < nt and times[k + 1] <= t + tol:  # searchsorted(side="right") - 1
            k += 1  # (t only grows: the scan goes on from the last step's frame)
        if k < 0 and cfgv[C_DRY_BEFORE] == 0.0:
            return 2
        dt = _limit(sv[S_HMAX], sv[S_VEFF], cfgv)
        target = until
        if cfgv[C_RAIN_AT_START] == 0.0 and k + 1 < nt:
            target = min(target, times[k + 1])
        land = target - t <= dt * (1.0 + 1e-9)
        if land:
            dt = target - t
        if k != rain_k[0]:
            if k < 0:
                rain[:, :] = 0.0
            else:
                _load_frame(rain_src[k], mask, rain, cfgv[C_MMH])
            rain_k[0] = k
        p[K.P_DT] = dt
        p[K.P_GDT] = cfgv[C_G] * dt
        p[K.P_DTDX] = dt / cfgv[C_DX]
        if sweep is None:  # (decided when compiling: numba prunes the other branch)
            passes_step(a, out)
        else:
            _step_one(*a, out)
        vol = vols[k] if k >= 0 else 0.0
        led[L_RAIN] += vol * np.float64(p[K.P_DT])
        led[L_OUT] += out[3] * cfgv[C_DX] * dt
        led[L_CLIPPED] += out[4] * cfgv[C_AREA]
        led[L_INFIL] += out[5] * cfgv[C_AREA]
        led[L_DRAIN] += out[6] * cfgv[C_AREA]
        sv[S_HMAX] = out[0]
        sv[S_SPEED] = out[1]
        sv[S_VEFF] = out[2]
        if not (np.isfinite(out[0]) and np.isfinite(out[1]) and out[0] <= 1e5):
            return 1
        sv[S_STEPS] += 1.0
        sv[S_DTMIN] = min(sv[S_DTMIN], dt)
        sv[S_DTMAX] = max(sv[S_DTMAX], dt)
        sv[S_T] = target if land else t + dt
    return 0


@njit(parallel=True, cache=True, nogil=True)
def advance_members(
    until,
    tol,
    times,
    rain_mmh,
    vols,
    sv,
    rain_k,
    cfgv,
    err,
    led,
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
    ``sv[M, NSV]``, ``rain_k[M]``, ``err[M]``, ``led[M, NLED]``, ``out[M, 7]``); ``z``,
    ``n2x``, ``n2y``, ``infil``, ``drain``, ``active`` (also the rain mask), ``kinds``,
    ``levels``, ``times``, ``vols`` (frame volume rates) are shared."""
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
            until,
            tol,
            times,
            rain_mmh[m],
            active,
            vols,
            sv[m],
            rain_k[m : m + 1],
            cfgv,
            a,
            out[m],
            led[m],
            True,
        )
