"""Compiled loop of the sub-grid solver (``floodcast.physics.subgrid``): levels from volumes,
each face's flow area and conveyance at its level, the step bound, one discharge per face,
the strict limiter and continuity, in float64 (the conveyance sums in float32).

Arrays: ``levels``/``vol_at`` [yc, xc, F*F] (block hypsometry), ``nvalid`` [yc, xc],
``sill_x`` [F, yc, xc+1] and ``sill_y`` [F, yc+1, xc] (the sub-face sills of each face as
layers, lowest first; edges at index 0 and -1 of the face axes), unit discharges ``qx`` /
``qy`` [yc, xc+1] / [yc+1, xc] (m2/s summed over a face's sub-faces, so a face passes
``q * dx_fine`` m3/s; + towards +x / +y = east / south), ``n2`` [yc, xc] Manning n squared,
``rain`` [T, yc, xc] (m/s), ``free`` the edge kinds (N, S, E, W; 1 = free, 0 = closed).
Per step the face loops are O(faces), the conveyance O(sub-faces) as F layers of
contiguous faces (vectorised along the faces).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .kernels import rcbrt

G = 9.81
NOWHERE = -1e300  # the level of a wall block (or a closed edge): below every sill


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
def _film_factor(h, fk, fh):
    """Manning n multiplier of a sub-face at depth ``h`` (float32): ``fk`` for a film
    (h -> 0), back to 1 at ``fh`` and deeper (``fk`` = 1: n at every depth)."""
    one = np.float32(1.0)
    return one + np.float32(fk - 1.0) * max(np.float32(0.0), one - h * np.float32(1.0 / fh))


@njit(inline="always", fastmath=True, error_model="numpy")
def _layer(e, sills, thr, fk, fh, a, k):
    """Add one layer of sub-faces (``sills`` [n, m], one per face at level ``e``) to the
    faces' flow area ``a`` (sum of wet depths, m) and conveyance ``k`` (sum of
    h^(5/3) / film factor, float32: rcbrt in 3 multiply-only Newton steps); a sub-face is
    wet above ``thr``. Branch-free, contiguous along the faces: it vectorises."""
    t32 = np.float32(thr)
    zero = np.float32(0.0)
    for i in range(e.shape[0]):
        for j in range(e.shape[1]):
            h = e[i, j] - sills[i, j]
            w = np.float32(h) if h > thr else zero
            ww = max(w, t32)
            a[i, j] += w
            k[i, j] += w * w * rcbrt(ww) / _film_factor(ww, fk, fh)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def faces(eta, sill_x, sill_y, free, thr, fk, fh, ex, ey, ax, kx, ay, ky):
    """Level ``ex``/``ey`` of every face (the higher block's; an edge face the edge block's,
    NOWHERE where the edge is closed), its flow area ``ax``/``ay`` and conveyance
    ``kx``/``ky`` there."""
    yc, xc = eta.shape
    for i in range(yc):
        for j in range(xc + 1):
            ex[i, j] = max(eta[i, max(j - 1, 0)], eta[i, min(j, xc - 1)])
        ex[i, 0] = ex[i, 0] if free[3] else NOWHERE
        ex[i, xc] = ex[i, xc] if free[2] else NOWHERE
    for i in range(yc + 1):
        a, b = max(i - 1, 0), min(i, yc - 1)
        for j in range(xc):
            ey[i, j] = max(eta[a, j], eta[b, j])
    if not free[0]:
        ey[0, :] = NOWHERE
    if not free[1]:
        ey[yc, :] = NOWHERE
    ax[:, :], kx[:, :], ay[:, :], ky[:, :] = 0.0, 0.0, 0.0, 0.0
    for m in range(sill_x.shape[0]):
        _layer(ex, sill_x[m], thr, fk, fh, ax, kx)
        _layer(ey, sill_y[m], thr, fk, fh, ay, ky)


@njit(inline="always", fastmath=True, error_model="numpy")
def _speed(q, k, hm, thr):
    """max |u| + sqrt(g h) over the wet sub-faces of a face. At the Manning split of its
    discharge (q_j = q h_j^(5/3) / (m_j K)) the deepest sub-face (depth ``hm``) is the
    fastest: |u| <= |q| hm^(2/3) / K. No slope term (the main solver's g|S| dt^2): with the
    fully implicit friction of ``_discharge`` a step cannot accelerate water past the
    Manning flux of its level gradient, however long it is."""
    h = max(hm, thr)
    return abs(q) * h * float(rcbrt(np.float32(h))) / k + np.sqrt(G * h)


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def step_bound(area, qx, qy, ex, ey, ax, kx, ay, ky, sill_x, sill_y, dxc, dxf, cfl, thr, hsum):
    """Largest stable step (s) for the current faces (``faces``); ``hsum`` is scratch."""
    yc, xc = area.shape
    vmax = 0.0
    hsum[:, :] = 0.0
    for i in range(yc):
        for j in range(xc + 1):
            if ax[i, j] > 0.0:
                hm = ex[i, j] - sill_x[0, i, j]
                vmax = max(vmax, _speed(qx[i, j], float(kx[i, j]), hm, thr))
                if j > 0:
                    hsum[i, j - 1] += ax[i, j]
                if j < xc:
                    hsum[i, j] += ax[i, j]
    for i in range(yc + 1):
        for j in range(xc):
            if ay[i, j] > 0.0:
                hm = ey[i, j] - sill_y[0, i, j]
                vmax = max(vmax, _speed(qy[i, j], float(ky[i, j]), hm, thr))
                if i > 0:
                    hsum[i - 1, j] += ay[i, j]
                if i < yc:
                    hsum[i, j] += ay[i, j]
    r = np.inf  # the pit bound below: min over the blocks of area / hsum, one sqrt
    for i in range(yc):
        for j in range(xc):
            if hsum[i, j] > 0.0:
                r = min(r, area[i, j] / hsum[i, j])
    dt = cfl * dxc / vmax if vmax > 0.0 else 1e300
    if r < np.inf:
        dt = min(dt, 2.0 * cfl * np.sqrt(r * dxc / (G * dxf)))
    return dt


@njit(inline="always", fastmath=True, error_model="numpy")
def _discharge(b, a, k, gdt, n2):
    """q solving q (1 + c |q|) = b, c = g dt n^2 A / K^2: the face's Manning friction taken
    at the new discharge (fully implicit), in the form without cancellation. As dt grows,
    q tends to K sqrt(|S|) / n (b = q_old - g dt A S), the sum of its sub-faces' Manning
    fluxes, never past it; no flow where no sub-face is wet (A = 0)."""
    if a <= 0.0:
        return 0.0
    c = gdt * n2 * a / (k * k)
    return 2.0 * b / (1.0 + np.sqrt(1.0 + 4.0 * c * abs(b)))


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def momentum(eta, qx, qy, ax, kx, ay, ky, n2, free, dxc, dt):
    """New discharge of every face by the local-inertial equation (Bates et al. 2010) on
    its flow area and conveyance; an edge face: LISFLOOD-FP's FREE outflow (slope from the
    edge block to its inward neighbour), or none where closed (A = 0 there)."""
    yc, xc = eta.shape
    gdt = G * dt
    for i in range(yc):
        for j in range(1, xc):
            s = (eta[i, j] - eta[i, j - 1]) / dxc
            nn = 0.5 * (n2[i, j - 1] + n2[i, j])
            a, k = ax[i, j], float(kx[i, j])
            qx[i, j] = _discharge(qx[i, j] - gdt * a * s, a, k, gdt, nn)
        for j, b, inn, sign in ((0, 0, 1, -1.0), (xc, xc - 1, xc - 2, 1.0)):
            s = abs(eta[i, b] - eta[i, inn]) / dxc if 0 <= inn < xc else 0.0
            a, k = ax[i, j], float(kx[i, j])
            qx[i, j] = sign * _discharge(abs(qx[i, j]) + gdt * a * s, a, k, gdt, n2[i, b])
    for i in range(1, yc):
        for j in range(xc):
            s = (eta[i, j] - eta[i - 1, j]) / dxc
            nn = 0.5 * (n2[i - 1, j] + n2[i, j])
            a, k = ay[i, j], float(ky[i, j])
            qy[i, j] = _discharge(qy[i, j] - gdt * a * s, a, k, gdt, nn)
    for i, b, inn, sign in ((0, 0, 1, -1.0), (yc, yc - 1, yc - 2, 1.0)):
        for j in range(xc):
            s = abs(eta[b, j] - eta[inn, j]) / dxc if 0 <= inn < yc else 0.0
            a, k = ay[i, j], float(ky[i, j])
            qy[i, j] = sign * _discharge(abs(qy[i, j]) + gdt * a * s, a, k, gdt, n2[b, j])


@njit(cache=True, nogil=True, fastmath=True, error_model="numpy")
def continuity(V, qx, qy, rain_ms, vrain, dxf, dt, fac, dead):
    """Strict limiter (outflow <= the block's volume above its depression storage ``dead``),
    then V += dt (in - out) + rain; the limited discharges are kept. Returns the volume that
    left through the edges."""
    yc, xc = V.shape
    w = dxf * dt
    for i in range(yc):
        for j in range(xc):
            out = max(-qx[i, j], 0.0) + max(qx[i, j + 1], 0.0)
            out = (out + max(-qy[i, j], 0.0) + max(qy[i + 1, j], 0.0)) * w
            fac[i, j] = min(1.0, max(V[i, j] - dead[i, j], 0.0) / out) if out > 0.0 else 1.0
    for i in range(yc):
        for j in range(xc + 1):
            q = qx[i, j]  # scaled by the factor of the block the water leaves
            qx[i, j] = (
                q * (fac[i, j - 1] if j > 0 else 1.0)
                if q > 0.0
                else q * (fac[i, j] if j < xc else 1.0)
            )
    for i in range(yc + 1):
        for j in range(xc):
            q = qy[i, j]
            qy[i, j] = (
                q * (fac[i - 1, j] if i > 0 else 1.0)
                if q > 0.0
                else q * (fac[i, j] if i < yc else 1.0)
            )
    lost = 0.0
    for i in range(yc):
        for j in range(xc):
            net = qx[i, j] - qx[i, j + 1] + qy[i, j] - qy[i + 1, j]
            V[i, j] = max(V[i, j] + net * w + rain_ms[i, j] * vrain[i, j] * dt, 0.0)
        lost += (max(-qx[i, 0], 0.0) + max(qx[i, xc], 0.0)) * w
    for j in range(xc):
        lost += (max(-qy[0, j], 0.0) + max(qy[yc, j], 0.0)) * w
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
    ex, ax, kx = np.empty(qx.shape), np.empty(qx.shape), np.empty(qx.shape, np.float32)
    ey, ay, ky = np.empty(qy.shape), np.empty(qy.shape), np.empty(qy.shape, np.float32)
    dry = np.zeros((yc, xc))
    vrain = nvalid * af  # the rain falls on the valid fine cells of a block
    steps, lost, t, k = 0, 0.0, 0.0, 0
    dt_min, dt_max = 1e300, 0.0
    for s in range(seg_end.shape[0]):
        end = seg_end[s]
        r = rain[seg_frame[s]] if seg_frame[s] >= 0 else dry
        while t < end - 1e-9:
            block_levels(V, levels, vol_at, nvalid, af, idx, eta, area)
            faces(eta, sill_x, sill_y, free, thr, fk, fh, ex, ey, ax, kx, ay, ky)
            dt = step_bound(
                area, qx, qy, ex, ey, ax, kx, ay, ky, sill_x, sill_y, dxc, dxf, cfl, thr, hsum
            )
            dt = min(dt, max_step)
            if dt < end - t:
                dt_min, dt_max = min(dt_min, dt), max(dt_max, dt)
            else:
                dt = end - t
            momentum(eta, qx, qy, ax, kx, ay, ky, n2, free, dxc, dt)
            lost += continuity(V, qx, qy, r, vrain, dxf, dt, fac, dead)
            t = t + dt if dt < end - t else end
            steps += 1
        if seg_save[s]:
            out[k] = V
            k += 1
    return out, steps, lost, dt_min, dt_max
