"""Compiled loop of the sub-grid solver (``floodcast.physics.subgrid``): levels from volumes,
the step bound, the sub-face discharges, the strict limiter and continuity, in float64.

Arrays: ``levels``/``vol_at`` [yc, xc, F*F] (block hypsometry), ``nvalid`` [yc, xc],
``sill_x`` [yc, xc+1, F] and ``sill_y`` [yc+1, xc, F] (edges at index 0 and -1), unit
discharges ``qx``/``qy`` of the same shapes as the sills (m2/s, + towards +x / +y = east /
south), ``n2`` [yc, xc] Manning n squared, ``rain`` [T, yc, xc] (m/s), ``free`` the edge
kinds (N, S, E, W; 1 = free, 0 = closed).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import rcbrt

G = 9.81
NOWHERE = -1e300  # the level of a wall block: below every sill, so no face of it is wet


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def block_levels(V, levels, vol_at, nvalid, af, idx, eta, area):
    """eta and wet area of every block from its volume (the cached index ``idx`` of the
    highest fine cell under water moves a few places per step)."""
    yc, xc = V.shape
    for i in range(yc):
        for j in range(xc):
            n = nvalid[i, j]
            if n == 0:
                eta[i, j] = NOWHERE
                area[i, j] = af
                continue
            m = idx[i, j]
            v = V[i, j]
            while m + 1 < n and vol_at[i, j, m + 1] <= v:
                m += 1
            while m > 0 and vol_at[i, j, m] > v:
                m -= 1
            idx[i, j] = m
            # below vol_at[0] (the block's depression storage, ``SubgridTerrain.dead``) the
            # water is held in closed pits: the level stays at the block's filled minimum
            eta[i, j] = levels[i, j, m] + max(v - vol_at[i, j, m], 0.0) / ((m + 1) * af)
            area[i, j] = (m + 1) * af


@njit(inline="always", fastmath=True, error_model="numpy")
def _speed(umax, hmax):
    """The face's speed max|u| + sqrt(g max h) over its wet sub-faces: never below any
    sub-face's own |u| + sqrt(g h), so the bound holds for each. No slope term (the main
    solver's g|S| dt^2): with the fully implicit friction of ``_inertial`` a step cannot
    accelerate water past the Manning flux of its level gradient, however long it is."""
    return umax + np.sqrt(G * hmax)


@njit(inline="always", fastmath=True, error_model="numpy")
def _face_stats(e, sills, q, thr):
    """(sum, max) of the depths and max |u| over the sub-faces of one face at level ``e``
    that are wet or about to wet (depth > thr / 2); branch-free. A sub-face dried since its
    last discharge still counts |q| / thr: a shorter step, never a longer one."""
    hs, hm, um = 0.0, 0.0, 0.0
    for k in range(sills.shape[0]):
        h = e - sills[k]
        w = h if h > 0.5 * thr else 0.0
        hm = max(hm, w)
        um = max(um, abs(q[k]) / max(h, thr))
        hs += w
    return hs, hm, um


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def step_bound(eta, area, qx, qy, sill_x, sill_y, free, dxc, dxf, cfl, thr, hsum):
    """Largest stable step (s) for the current state; ``hsum`` is scratch [yc, xc]."""
    yc, xc = eta.shape
    vmax = 0.0
    hsum[:, :] = 0.0
    for i in range(yc):
        for j in range(xc + 1):
            a = j - 1 if j > 0 else 0
            b = j if j < xc else xc - 1
            if (j == 0 and free[3] == 0) or (j == xc and free[2] == 0):
                continue
            e = max(eta[i, a], eta[i, b])
            hs, hm, um = _face_stats(e, sill_x[i, j], qx[i, j], thr)
            if hs > 0.0:
                vmax = max(vmax, _speed(um, max(hm, thr)))
                hsum[i, a] += hs
                if b != a:
                    hsum[i, b] += hs
    for i in range(yc + 1):
        a0 = i - 1 if i > 0 else 0
        b0 = i if i < yc else yc - 1
        if (i == 0 and free[0] == 0) or (i == yc and free[1] == 0):
            continue
        for j in range(xc):
            e = max(eta[a0, j], eta[b0, j])
            hs, hm, um = _face_stats(e, sill_y[i, j], qy[i, j], thr)
            if hs > 0.0:
                vmax = max(vmax, _speed(um, max(hm, thr)))
                hsum[a0, j] += hs
                if b0 != a0:
                    hsum[b0, j] += hs
    dt = 1e300
    if vmax > 0.0:
        dt = cfl * dxc / vmax
    for i in range(yc):
        for j in range(xc):
            if hsum[i, j] > 0.0:
                dt = min(dt, 2.0 * cfl * np.sqrt(area[i, j] * dxc / (G * dxf * hsum[i, j])))
    return dt


@njit(inline="always", fastmath=True, error_model="numpy")
def _implicit(b, h, gdt, n2):
    """q solving q (1 + a |q|) = b, a = g dt n^2 / h^(7/3): Manning friction taken at the
    new discharge (fully implicit), in the form without cancellation. As dt grows, q tends
    to the Manning flux h^(5/3) sqrt(|S|) / n of the driving slope, never past it.
    h^(-7/3) from the main solver's libm-free ``rcbrt`` (the loops stay vectorisable)."""
    y = rcbrt(h)
    r = y * y * y  # 1 / h
    a = gdt * n2 * (r * r * y)
    return 2.0 * b / (1.0 + np.sqrt(1.0 + 4.0 * a * abs(b)))


@njit(inline="always", fastmath=True, error_model="numpy")
def _film(n2, h, fk, fh):
    """n^2 of a sub-face at depth ``h``: ``fk`` times n for a film (h -> 0), back to n at
    ``fh`` and deeper (``fk`` = 1: n at every depth)."""
    m = 1.0 + (fk - 1.0) * max(0.0, 1.0 - h / fh)
    return n2 * m * m


@njit(inline="always", fastmath=True, error_model="numpy")
def _inertial(q, h, s, gdt, n2):
    """Local-inertial unit discharge update (Bates et al. 2010) with implicit friction."""
    return _implicit(q - gdt * h * s, h, gdt, n2)


@njit(inline="always", fastmath=True, error_model="numpy")
def _free(qold, h, s, gdt, n2):
    """LISFLOOD-FP FREE outflow magnitude (>= 0) through an edge sub-face."""
    return _implicit(abs(qold) + gdt * h * abs(s), h, gdt, n2)


@njit(inline="always", fastmath=True, error_model="numpy")
def _subfaces(q, sills, e, s, gdt, n2, thr, fk, fh):
    """New discharge of the sub-faces of one interior face at level ``e`` and slope ``s``
    (no flow where the depth is at or below ``thr``; branch-free, so it vectorises)."""
    for k in range(sills.shape[0]):
        h = e - sills[k]
        hh = max(h, thr)
        qn = _inertial(q[k], hh, s, gdt, _film(n2, hh, fk, fh))
        q[k] = qn if h > thr else 0.0


@njit(inline="always", fastmath=True, error_model="numpy")
def _edge(q, sills, e, s, sign, ok, gdt, n2, thr, fk, fh):
    """Discharge of the sub-faces of one edge face of a block at level ``e``: free outflow
    (towards ``sign``) where the edge is free and the depth exceeds ``thr``, else none."""
    for k in range(sills.shape[0]):
        h = e - sills[k]
        hh = max(h, thr)
        q[k] = sign * _free(q[k], hh, s, gdt, _film(n2, hh, fk, fh)) if ok and h > thr else 0.0


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def momentum(eta, qx, qy, sill_x, sill_y, n2, free, dxc, dt, thr, fk, fh):
    """New unit discharge of every sub-face (edge sub-faces: free outflow or none); the film
    roughness ``fk``, ``fh`` as ``_film`` (``defaults.SUBGRID_FILM_ROUGHNESS``)."""
    yc, xc = eta.shape
    gdt = G * dt
    for i in range(yc):
        for j in range(xc + 1):
            if 0 < j < xc:
                e0, e1 = eta[i, j - 1], eta[i, j]
                nn = 0.5 * (n2[i, j - 1] + n2[i, j])
                _subfaces(
                    qx[i, j], sill_x[i, j], max(e0, e1), (e1 - e0) / dxc, gdt, nn, thr, fk, fh
                )
            else:
                b, sign = (0, -1.0) if j == 0 else (xc - 1, 1.0)
                inn = b + 1 if j == 0 else b - 1
                s = (eta[i, b] - eta[i, inn]) / dxc if 0 <= inn < xc else 0.0
                ok = free[3] if j == 0 else free[2]
                _edge(qx[i, j], sill_x[i, j], eta[i, b], s, sign, ok, gdt, n2[i, b], thr, fk, fh)
    for i in range(yc + 1):
        for j in range(xc):
            if 0 < i < yc:
                e0, e1 = eta[i - 1, j], eta[i, j]
                nn = 0.5 * (n2[i - 1, j] + n2[i, j])
                _subfaces(
                    qy[i, j], sill_y[i, j], max(e0, e1), (e1 - e0) / dxc, gdt, nn, thr, fk, fh
                )
            else:
                b, sign = (0, -1.0) if i == 0 else (yc - 1, 1.0)
                inn = b + 1 if i == 0 else b - 1
                s = (eta[b, j] - eta[inn, j]) / dxc if 0 <= inn < yc else 0.0
                ok = free[0] if i == 0 else free[1]
                _edge(qy[i, j], sill_y[i, j], eta[b, j], s, sign, ok, gdt, n2[b, j], thr, fk, fh)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def _outflow(qx, qy, i, j, xc, yc):
    """Sum of the discharges (m2/s) leaving block (i, j) over its four faces."""
    out = 0.0
    for k in range(qx.shape[2]):
        out += max(-qx[i, j, k], 0.0) + max(qx[i, j + 1, k], 0.0)
        out += max(-qy[i, j, k], 0.0) + max(qy[i + 1, j, k], 0.0)
    return out


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def continuity(V, qx, qy, rain_ms, vrain, dxf, dt, fac, dead):
    """Strict limiter (outflow <= the block's volume above its depression storage ``dead``),
    then V += dt (in - out) + rain; the limited discharges are kept. Returns the volume that
    left through the edges."""
    yc, xc = V.shape
    f = qx.shape[2]
    for i in range(yc):
        for j in range(xc):
            out = _outflow(qx, qy, i, j, xc, yc) * dxf * dt
            fac[i, j] = min(1.0, max(V[i, j] - dead[i, j], 0.0) / out) if out > 0.0 else 1.0
    for i in range(yc):
        for j in range(xc + 1):
            fw = fac[i, j - 1] if j > 0 else 1.0  # the factor of the block the water leaves
            fe = fac[i, j] if j < xc else 1.0
            for k in range(f):
                q = qx[i, j, k]
                qx[i, j, k] = q * (fw if q > 0.0 else fe)
    for i in range(yc + 1):
        for j in range(xc):
            fn = fac[i - 1, j] if i > 0 else 1.0
            fs = fac[i, j] if i < yc else 1.0
            for k in range(f):
                q = qy[i, j, k]
                qy[i, j, k] = q * (fn if q > 0.0 else fs)
    lost = 0.0
    w = dxf * dt
    for i in range(yc):
        for j in range(xc):
            net = 0.0
            for k in range(f):
                net += qx[i, j, k] - qx[i, j + 1, k] + qy[i, j, k] - qy[i + 1, j, k]
            V[i, j] = max(V[i, j] + net * w + rain_ms[i, j] * vrain[i, j] * dt, 0.0)
        for k in range(f):
            lost += (max(-qx[i, 0, k], 0.0) + max(qx[i, xc, k], 0.0)) * w
    for j in range(xc):
        for k in range(f):
            lost += (max(-qy[0, j, k], 0.0) + max(qy[yc, j, k], 0.0)) * w
    return lost


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def run_segments(
    V,
    qx,
    qy,
    rain,
    seg_end,
    seg_frame,
    seg_save,
    levels,
    vol_at,
    dead,
    nvalid,
    sill_x,
    sill_y,
    n2,
    free,
    dxc,
    dxf,
    cfl,
    max_step,
    thr,
    fk,
    fh,
):
    """Advance from t = 0 through segments ending at ``seg_end`` [S] (s), each under rain
    frame ``seg_frame`` [S] of ``rain`` [NF, yc, xc] (m/s; -1: no rain); the block volumes
    at the end of every segment with ``seg_save`` [nsave, yc, xc], the step count, the
    volume that left through the edges, and the shortest and longest full step."""
    yc, xc = V.shape
    af = dxf * dxf
    out = np.empty((int(seg_save.sum()), yc, xc))
    idx = np.zeros((yc, xc), np.int64)
    eta = np.empty((yc, xc))
    area = np.empty((yc, xc))
    hsum = np.empty((yc, xc))
    fac = np.empty((yc, xc))
    dry = np.zeros((yc, xc))
    vrain = nvalid * af  # the rain falls on the valid fine cells of a block
    steps, lost, t, k = 0, 0.0, 0.0, 0
    dt_min, dt_max = 1e300, 0.0
    for s in range(seg_end.shape[0]):
        end = seg_end[s]
        r = rain[seg_frame[s]] if seg_frame[s] >= 0 else dry
        while t < end - 1e-9:
            block_levels(V, levels, vol_at, nvalid, af, idx, eta, area)
            dt = step_bound(eta, area, qx, qy, sill_x, sill_y, free, dxc, dxf, cfl, thr, hsum)
            dt = min(dt, max_step)
            if dt < end - t:
                dt_min, dt_max = min(dt_min, dt), max(dt_max, dt)
            else:
                dt = end - t
            momentum(eta, qx, qy, sill_x, sill_y, n2, free, dxc, dt, thr, fk, fh)
            lost += continuity(V, qx, qy, r, vrain, dxf, dt, fac, dead)
            t = t + dt if dt < end - t else end
            steps += 1
        if seg_save[s]:
            out[k] = V
            k += 1
    return out, steps, lost, dt_min, dt_max
