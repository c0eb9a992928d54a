"""Numba kernels of the local-inertial scheme (Bates et al. 2010; de Almeida et al. 2012).

Grid layout (row 0 = north, column 0 = west): ``h``/``z`` [ny, nx]; x-face unit discharge
``qx`` [ny, nx+1] (face j is the west face of cell j, positive towards the east); y-face
``qy`` [ny+1, nx] (face i is the north face of row i, positive towards the south).

One step is four passes, each a ``prange`` over rows with branch-light inner loops that LLVM
can vectorise:

1. ``flux_interior``: new interior face discharges from the old ones (``qx``/``qy`` -> ``qxn``/
   ``qyn``), semi-implicit Manning friction, plus two per-row step-limit figures: the max
   face wave speed ``|q|/h`` + sqrt(g h) and the max over the row's faces of each face's own
   effective speed ``_veff`` (the speed-aware step limit).
2. ``flux_boundary``: the perimeter faces (closed / free / fixed level); O(perimeter).
3. ``limiter``: LISFLOOD-FP's drying limiter as a per-cell factor on *outgoing* discharges
   (stored in ``fac``, padded with a halo of ones).
4. ``continuity``: applies the factors face by face (each face takes its upwind cell's factor,
   so both neighbours see the same discharge: exactly conservative), adds rain, updates
   depth, clips negatives (and counts the clipped volume), losses, max depth, and
   writes the limited discharges back into ``qx``/``qy`` (the next step's old discharges).
   Per-row reductions: max depth, boundary outflow, clipped, infiltrated, drained volume.

Manning n enters as n² per face, precomputed once (``friction.face_n2``: LISFLOOD-FP's
mean of the two cells' n, then squared; a perimeter face takes its edge cell's n), so the
kernels do no averaging and a uniform n is one broadcast row.

``step`` chains the four passes (and point inflows) and reduces the per-row results in one
compiled call, so a step costs one dispatch from Python.

All arithmetic is in the dtype of the state (float32 by default, float64 optional): every
constant comes in through the parameter vector ``p`` (same dtype), so no float64 promotion
sneaks into the float32 kernels. Vectorisation needs ``error_model="numpy"`` (no zero-division
checks), loop constants hoisted into scalars, and max-reductions done on the float bits.
"""

# size: the numba passes of one scheme (flux, boundary, limiter, continuity, fused step) share
# inlined helpers and must stay identical to the batched ensemble's use of them.

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic, overload

# indices into the parameter vector p (state dtype)
P_G, P_DT, P_DX, P_INVDX, P_THR, P_THETA, P_GDT, P_WNB, P_DTDX, P_RDT, P_INFDT = range(11)
# (P_RDT, P_INFDT: unused; losses come in as per-cell rate arrays)
P_ZERO, P_ONE, P_QUARTER, P_HALF, P_INFAC, P_R4 = range(11, 17)
# P_R4: 4 * cfl * dx, the reach term of the per-face step bound (``_veff``)
NPARAM = 17

WALL_Z = 1.0e30  # bed elevation of NaN (wall) cells: hflow = max(eta) - max(z) = 0 -> no flow

_opts = {"parallel": True, "fastmath": True, "error_model": "numpy", "cache": True, "nogil": True}


@intrinsic
def _fbits(typingctx, x):
    """Bit pattern of a float32 (-> int32) or float64 (-> int64): for x >= 0 the integer order
    equals the float order, and integer max-reductions vectorise where float ones do not."""
    if x == types.float32:
        rt, width = types.int32, 32
    elif x == types.float64:
        rt, width = types.int64, 64
    else:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(width))

    return rt(x), codegen


@intrinsic
def _bitsf(typingctx, i):
    """Inverse of ``_fbits``."""
    if i == types.int32:
        rt, ft = types.float32, ir.FloatType()
    elif i == types.int64:
        rt, ft = types.float64, ir.DoubleType()
    else:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ft)

    return rt(i), codegen


def rcbrt(x):
    """x**(-1/3) for x > 0 (float32 or float64) without a libm call: bit-level first guess
    (exponent / -3) and multiply-only Newton steps (vectorisable; rel. error < 3e-7 in
    float32, < 1e-15 in float64)."""
    return x ** (-1.0 / 3.0)


@overload(rcbrt, inline="always", jit_options={"fastmath": True})
def _ol_rcbrt(x):
    if x == types.float32:

        def impl32(x):
            i = np.int32(0x54A2FA8C - np.int32(np.float32(_fbits(x)) * np.float32(1.0 / 3.0)))
            y = _bitsf(i)  # (int32 arithmetic is promoted to int64 in numba: cast back)
            c43 = np.float32(4.0 / 3.0)
            c13 = np.float32(1.0 / 3.0)
            y = y * (c43 - c13 * x * y * y * y)
            y = y * (c43 - c13 * x * y * y * y)
            y = y * (c43 - c13 * x * y * y * y)
            return y

        return impl32
    if x == types.float64:

        def impl64(x):
            i = np.int64(0x553F09FC20000000) - np.int64(np.float64(_fbits(x)) * (1.0 / 3.0))
            y = _bitsf(i)
            c43 = 4.0 / 3.0
            c13 = 1.0 / 3.0
            y = y * (c43 - c13 * x * y * y * y)
            y = y * (c43 - c13 * x * y * y * y)
            y = y * (c43 - c13 * x * y * y * y)
            y = y * (c43 - c13 * x * y * y * y)
            y = y * (c43 - c13 * x * y * y * y)
            return y

        return impl64
    return None


@njit(inline="always", fastmath=True, error_model="numpy")
def _face(eta0, eta1, z0, z1, q0, qc, qp, n2, c):
    """New discharge on a face between cell 0 (W/N) and cell 1 (E/S): (q, |u|, h, |S|).

    |u|, the flow depth h of a wet face (0 when dry) and the water-surface slope |S| of a
    face that is wet or about to wet (0 otherwise) feed the step limit: the callers combine
    them per face into the wave speed |u| + sqrt(g h) and the effective speed ``_vsum``.
    c = (zero, one, thr, g*dt, 1/dx, g, thr/2) as scalars (not the p array:
    loads from an array inside the loop could alias the output and block vectorisation).
    """
    zero, one, thr, gdt, invdx, g, thr2 = c
    hflow = max(eta0, eta1) - max(z0, z1)
    hf = max(hflow, thr)
    s = (eta1 - eta0) * invdx
    qmag = np.sqrt(q0 * q0 + qp * qp)
    y = rcbrt(hf)
    rinv = y * y * y  # 1/hf from the cube root: no division
    hm73 = rinv * rinv * y  # hf**(-7/3) without pow()
    qn = (qc - gdt * hf * s) / (one + gdt * n2 * qmag * hm73)
    wet = hflow > thr
    qn = qn if wet else zero
    u = abs(qn) * rinv if wet else zero
    hw = hf if wet else zero
    # the gravity acceleration g|S| acts on faces that are wet or about to wet (2 hflow > thr,
    # i.e. hflow > thr/2: the same test, a factor 2 is exact): a face that starts from q = 0
    # gains g|S|dt of speed in one step (no friction with q_old = 0)
    slope = abs(s) if hflow > thr2 else zero
    return qn, u, hw, slope


@njit(inline="always", fastmath=True, error_model="numpy")
def _vsum(c, slope, r4g):
    """2 v of a face with wave speed c = |u| + sqrt(g h) and water-surface slope |S|:
    c + sqrt(c^2 + r4g |S|), r4g = 4 cfl dx g (``_vscale``).

    With R = cfl dx and the gravity acceleration a = g |S|, 4 a R = r4g |S|, and v is the
    positive root of v^2 = c v + a R: the face meets c dt + a dt^2 <= R for dt <= R / v.
    The step is R over the max of v: every face meets its own bound, and since v grows with
    c and a it is never shorter than the old bound from max c and max a taken over
    different faces (measured: thin films on steep faces set max a, deep fast faces max c).
    The factor 1/2 is applied once to the row maximum (``flux_row``), not per face: a
    multiplication by a positive constant commutes with the max, bit for bit."""
    return c + np.sqrt(c * c + r4g * slope)


@njit(inline="always", fastmath=True, error_model="numpy")
def _veff(c, slope, r4g, vhalf):
    """Effective speed v of one face: ``vhalf * _vsum`` (vhalf, r4g from ``_vscale``)."""
    return vhalf * _vsum(c, slope, r4g)


#: relative margin of the per-face bound (``_vscale``): 2^-18 = 3.8e-6
V_MARGIN = 2.0**-18


def _vscale(p):
    """(vhalf, r4g) = (1/2 (1 + 2^-18), 4 cfl dx g) in the state dtype: the constants of the
    per-face bound ``_veff``.

    The margin keeps the computed v at or above the real-number v of the face's discharge
    (docs/physics.md, "Step limit"): float32 v is ~8 roundings of 2^-24 each from the
    exact v of its inputs (< 5e-7), and |u| = |q| / h carries the error of the bit-level
    1/h (``rcbrt`` cubed, < 7e-7); 2^-18 = 3.8e-6 covers both
    (tests/physics/test_step_bound_margin.py).
    The step gets 3.8e-6 shorter: no measurable change in the number of steps."""
    m = p.dtype.type(1.0 + V_MARGIN)
    return p[P_HALF] * m, p[P_R4] * p[P_G]


@overload(_vscale, inline="always", jit_options={"fastmath": True})
def _ol_vscale(p):
    if p.dtype not in (types.float32, types.float64):
        return None
    # the margin as a constant of the state dtype (a float64 one would promote the product)
    m = np.float32(1.0 + V_MARGIN) if p.dtype == types.float32 else 1.0 + V_MARGIN

    def impl(p):
        return p[P_HALF] * m, p[P_R4] * p[P_G]

    return impl


@njit(inline="always")
def _consts(p):
    return (p[P_ZERO], p[P_ONE], p[P_THR], p[P_GDT], p[P_INVDX], p[P_G], p[P_HALF] * p[P_THR])


@njit(inline="always", fastmath=True, error_model="numpy")
def _xfaces(hr, zr, qxr, qyr0, qyr1, nfr, out, p, centred):
    """``_xrow``'s loop; ``centred`` False (theta = 1): qc = q0 without the neighbours."""
    nx = hr.shape[0]
    quarter = p[P_QUARTER]
    theta = p[P_THETA]
    wnb = p[P_WNB]
    _, r4g = _vscale(p)
    g = p[P_G]
    c = _consts(p)
    cmax = _fbits(p[P_ZERO])
    vmax = cmax
    for j in range(1, nx):
        q0 = qxr[j]
        qc = theta * q0 + wnb * (qxr[j - 1] + qxr[j + 1]) if centred else q0
        qp = quarter * (qyr0[j - 1] + qyr1[j - 1] + qyr0[j] + qyr1[j])
        qn, u, hw, slope = _face(
            zr[j - 1] + hr[j - 1], zr[j] + hr[j], zr[j - 1], zr[j], q0, qc, qp, nfr[j], c
        )
        out[j] = qn
        cf = u + np.sqrt(g * hw)
        cmax = max(cmax, _fbits(cf))  # all >= 0: integer max of the bits is exact
        vmax = max(vmax, _fbits(_vsum(cf, slope, r4g)))
    return cmax, vmax


@njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def _xrow(hr, zr, qxr, qyr0, qyr1, nfr, out, p):
    """x-faces 1..nx-1 of one row (nfr: face n², [nx+1]); returns the maxima of the face
    wave speed |u| + sqrt(g h) and of 2 v (``_vsum``), as float bits (int)."""
    # theta = 1 (the default): theta q0 + wnb (..) = 1 q0 + 0 (..) = q0 exactly (finite
    # neighbours), so the loop without the neighbours' loads gives the same discharges
    if p[P_THETA] == p[P_ONE] and p[P_WNB] == p[P_ZERO]:
        return _xfaces(hr, zr, qxr, qyr0, qyr1, nfr, out, p, False)
    return _xfaces(hr, zr, qxr, qyr0, qyr1, nfr, out, p, True)


@njit(inline="always", fastmath=True, error_model="numpy")
def _yfaces(h0r, h1r, z0r, z1r, qyr, qym, qyp, qx0r, qx1r, nfr, out, p, centred):
    """``_yrow``'s loop (``centred`` as ``_xfaces``)."""
    nx = h0r.shape[0]
    quarter = p[P_QUARTER]
    theta = p[P_THETA]
    wnb = p[P_WNB]
    _, r4g = _vscale(p)
    g = p[P_G]
    c = _consts(p)
    cmax = _fbits(p[P_ZERO])
    vmax = cmax
    for j in range(nx):
        q0 = qyr[j]
        qc = theta * q0 + wnb * (qym[j] + qyp[j]) if centred else q0
        qp = quarter * (qx0r[j] + qx0r[j + 1] + qx1r[j] + qx1r[j + 1])
        qn, u, hw, slope = _face(
            z0r[j] + h0r[j], z1r[j] + h1r[j], z0r[j], z1r[j], q0, qc, qp, nfr[j], c
        )
        out[j] = qn
        cf = u + np.sqrt(g * hw)
        cmax = max(cmax, _fbits(cf))
        vmax = max(vmax, _fbits(_vsum(cf, slope, r4g)))
    return cmax, vmax


@njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def _yrow(h0r, h1r, z0r, z1r, qyr, qym, qyp, qx0r, qx1r, nfr, out, p):
    """y-faces between two rows (0 = north, 1 = south; nfr: face n², [nx]); returns maxima
    as ``_xrow``."""
    if p[P_THETA] == p[P_ONE] and p[P_WNB] == p[P_ZERO]:
        return _yfaces(h0r, h1r, z0r, z1r, qyr, qym, qyp, qx0r, qx1r, nfr, out, p, False)
    return _yfaces(h0r, h1r, z0r, z1r, qyr, qym, qyp, qx0r, qx1r, nfr, out, p, True)


@njit(inline="always")
def flux_row(i, h, z, qx, qy, qxn, qyn, n2x, n2y, p, row_speed, row_veff):
    """Row i of ``flux_interior`` (the pass's loop body; also the fused member step's)."""
    lastx = n2x.shape[0] - 1  # 0 for one row (uniform n)
    lasty = n2y.shape[0] - 1
    cb, vb = _xrow(h[i], z[i], qx[i], qy[i], qy[i + 1], n2x[min(i, lastx)], qxn[i], p)
    if i >= 1:
        cy, vy = _yrow(
            h[i - 1],
            h[i],
            z[i - 1],
            z[i],
            qy[i],
            qy[i - 1],
            qy[i + 1],
            qx[i - 1],
            qx[i],
            n2y[min(i, lasty)],
            qyn[i],
            p,
        )
        cb = max(cb, cy)
        vb = max(vb, vy)
    row_speed[i] = _bitsf(cb)  # the row's max face wave speed |u| + sqrt(g h)
    vhalf, _ = _vscale(p)
    row_veff[i] = vhalf * _bitsf(vb)  # max of 2 v -> max v (``_vsum``)


@njit(**_opts)
def flux_interior(h, z, qx, qy, qxn, qyn, n2x, n2y, p, row_speed, row_veff):
    """Interior faces: x-faces of row i and y-faces between rows i-1 and i.

    n2x / n2y: Manning n² per face (see ``friction.face_n2``), [ny, nx+1] / [ny+1, nx], or
    one row [1, nx+1] / [1, nx] for a uniform n. Per row: row_speed the max face wave speed
    |u| + sqrt(g h); row_veff the max effective speed ``_veff`` of the faces (the gravity
    acceleration g|S| of (nearly) wet faces included).
    """
    for i in prange(h.shape[0]):
        flux_row(np.int64(i), h, z, qx, qy, qxn, qyn, n2x, n2y, p, row_speed, row_veff)


@njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def _free_q(hb, eta_b, eta_in, in_wall, qold, n2v, p):
    """LISFLOOD-FP FREE outflow magnitude (>= 0) at an edge cell; returns (|q|, speed,
    water-surface slope |S| for the step bound ``_veff``)."""
    zero = p[P_ZERO]
    if hb <= p[P_THR]:
        return zero, zero, zero
    s = zero if in_wall else abs(eta_b - eta_in) * p[P_INVDX]
    qa = abs(qold)
    gdt = p[P_GDT]
    q = (qa + gdt * hb * s) / (p[P_ONE] + gdt * n2v * qa * rcbrt(hb) / (hb * hb))
    return q, q / hb + np.sqrt(p[P_G] * hb), s


@njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def flux_boundary(h, z, qx, qy, qxn, qyn, n2x, n2y, p, kinds, levels):
    """Perimeter faces. kinds/levels: [north, south, east, west]; 0 closed, 1 free, 2 level.
    n2x / n2y as in ``flux_interior`` (the perimeter entries: the edge cell's own n²).

    Returns the maximum face wave speed and effective speed ``_veff`` on the boundary.
    """
    ny, nx = h.shape
    zero = p[P_ZERO]
    half = p[P_HALF]
    theta = p[P_THETA]
    wnb = p[P_WNB]
    vhalf, r4g = _vscale(p)
    smax = zero
    vmax = zero
    c = _consts(p)
    lastx = n2x.shape[0] - 1
    lasty = n2y.shape[0] - 1
    # west (face 0 of each row) and east (face nx)
    for side in (3, 2):
        kind = kinds[side]
        for i in range(ny):
            if side == 3:
                jb, jc, jin, sgn = 0, 0, 1, -1
            else:
                jb, jc, jin, sgn = nx, nx - 1, nx - 2, 1
            if kind == 0:
                qxn[i, jb] = zero
                continue
            slope = zero
            n2v = n2x[min(i, lastx), jb]
            hb = h[i, jc]
            zb = z[i, jc]
            if kind == 1:
                in_wall = jin < 0 or jin >= nx
                eta_in = zero
                if not in_wall:
                    in_wall = z[i, jin] >= WALL_Z
                    eta_in = z[i, jin] + h[i, jin]
                q, spd, slope = _free_q(hb, zb + hb, eta_in, in_wall, qx[i, jb], n2v, p)
                qxn[i, jb] = q if sgn > 0 else -q
            else:
                lev = levels[side]
                q0 = qx[i, jb]
                qc = q0
                if theta < p[P_ONE]:
                    qc = theta * q0 + wnb * (qx[i, jb + 1 if side == 3 else jb - 1] + q0)
                qp = half * (qy[i, jc] + qy[i + 1, jc])
                if side == 3:
                    q, u, hw, slope = _face(lev, zb + hb, zb, zb, q0, qc, qp, n2v, c)
                else:
                    q, u, hw, slope = _face(zb + hb, lev, zb, zb, q0, qc, qp, n2v, c)
                spd = u + np.sqrt(p[P_G] * hw)
                qxn[i, jb] = q
            smax = max(smax, spd)
            vmax = max(vmax, _veff(spd, slope, r4g, vhalf))
    # north (face 0 of each column) and south (face ny)
    for side in (0, 1):
        kind = kinds[side]
        for j in range(nx):
            if side == 0:
                ib, ic, iin, sgn = 0, 0, 1, -1
            else:
                ib, ic, iin, sgn = ny, ny - 1, ny - 2, 1
            if kind == 0:
                qyn[ib, j] = zero
                continue
            slope = zero
            n2v = n2y[min(ib, lasty), j]
            hb = h[ic, j]
            zb = z[ic, j]
            if kind == 1:
                in_wall = iin < 0 or iin >= ny
                eta_in = zero
                if not in_wall:
                    in_wall = z[iin, j] >= WALL_Z
                    eta_in = z[iin, j] + h[iin, j]
                q, spd, slope = _free_q(hb, zb + hb, eta_in, in_wall, qy[ib, j], n2v, p)
                qyn[ib, j] = q if sgn > 0 else -q
            else:
                lev = levels[side]
                q0 = qy[ib, j]
                qc = q0
                if theta < p[P_ONE]:
                    qc = theta * q0 + wnb * (qy[ib + 1 if side == 0 else ib - 1, j] + q0)
                qp = half * (qx[ic, j] + qx[ic, j + 1])
                if side == 0:
                    q, u, hw, slope = _face(lev, zb + hb, zb, zb, q0, qc, qp, n2v, c)
                else:
                    q, u, hw, slope = _face(zb + hb, lev, zb, zb, q0, qc, qp, n2v, c)
                spd = u + np.sqrt(p[P_G] * hw)
                qyn[ib, j] = q
            smax = max(smax, spd)
            vmax = max(vmax, _veff(spd, slope, r4g, vhalf))
    return smax, vmax


@njit(**_opts)
def limiter(h, qxn, qyn, fac, infil, drain, p):
    """Drying limiter: factor on the outgoing discharges of cells that would go negative.

    As LISFLOOD-FP (p[P_INFAC] = 1): if h*A + dt*(Q_in - Q_out) < 0, outgoing discharges are
    scaled by h*A / (dt*(Q_out - Q_in)). That counts on inflows that the neighbours' own
    limiters may cut, so a depth can still go negative (then clipped: water is created).
    Strict variant (p[P_INFAC] = 0): inflows are not counted, outgoing discharges are scaled
    to at most the water in the cell, so no depth can go negative (exactly conservative).
    The strict variant also leaves the step's losses (infiltration, drainage: taken from the
    start-of-step depth, see ``continuity``) in the cell, so no depth goes negative even when
    a Green–Ampt capacity takes most of a cell's water.
    ``fac`` is [ny+2, nx+2] with a halo of ones.
    """
    for i in prange(h.shape[0]):
        limiter_row(np.int64(i), h, qxn, qyn, fac, infil, drain, p)


@njit(inline="always")
def limiter_row(i, h, qxn, qyn, fac, infil, drain, p):
    """Row i of ``limiter`` (the pass's loop body; also the fused member step's)."""
    nx = h.shape[1]
    zero = p[P_ZERO]
    one = p[P_ONE]
    dt = p[P_DT]
    dx = p[P_DX]
    thr = p[P_THR]
    infac = p[P_INFAC]
    keep = one - infac  # 1 in the strict variant: losses are not available for outflow
    ir = infil[min(i, infil.shape[0] - 1)]
    dr = drain[min(i, drain.shape[0] - 1)]
    qxr = qxn[i]
    qn0 = qyn[i]
    qs0 = qyn[i + 1]
    hr = h[i]
    fr = fac[i + 1]
    for j in range(nx):
        qw = qxr[j]
        qe = qxr[j + 1]
        qn = qn0[j]
        qs = qs0[j]
        qout = max(qe, zero) - min(qw, zero) + max(qs, zero) - min(qn, zero)
        qin = max(qw, zero) - min(qe, zero) + max(qn, zero) - min(qs, zero)
        hv = hr[j]
        loss = min(hv, (ir[j] + dr[j]) * dt) if hv > thr else zero
        hdx = (hv - keep * loss) * dx
        net = dt * (qout - infac * qin)
        f = hdx / net if net > hdx else one
        fr[j + 1] = f


@njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def _crow(hr, qxnr, qyn0, qyn1, fc, fn, fs, rr, ir, dr, ar, mr, qxr, qyr, p):
    """Continuity for one row; returns (max depth bits int32, clipped, infiltrated and
    drained depth sums)."""
    nx = hr.shape[0]
    zero = p[P_ZERO]
    dt = p[P_DT]
    dtdx = p[P_DTDX]
    thr = p[P_THR]
    hm = _fbits(zero)
    clip = zero  # row sums in the state dtype (float64 sums would halve the vector width)
    inf = zero
    drn = zero
    for j in range(nx):
        # losses as LISFLOOD-FP (infevap.cpp:26-36): only where the start-of-step depth
        # exceeds the threshold, before rain and fluxes, at most the water in the cell
        h0 = hr[j]
        wet = h0 > thr
        li = min(h0, ir[j] * dt) if wet else zero
        h1 = h0 - li
        ld = min(h1, dr[j] * dt) if wet else zero
        h1 = h1 - ld
        inf += li
        drn += ld
        f = fc[j + 1]
        qw = qxnr[j]
        lw = qw * (fc[j] if qw > zero else f)
        qe = qxnr[j + 1]
        le = qe * (f if qe > zero else fc[j + 2])
        qn = qyn0[j]
        ln = qn * (fn[j + 1] if qn > zero else f)
        qs = qyn1[j]
        ls = qs * (f if qs > zero else fs[j + 1])
        # net increment first: at a steady state it is ~0 and h is not rounded every step
        # (h + r dt + div, in that order, biases the float32 mass balance by ~1e-5)
        dh = rr[j] * dt + dtdx * ((lw - le) + (ln - ls))
        hn = h1 + dh
        hn = hn if ar[j] else zero
        neg = min(hn, zero)
        hn = hn - neg
        clip -= neg
        hr[j] = hn
        mr[j] = max(mr[j], hn)
        hm = max(hm, _fbits(hn))
        qxr[j] = lw
        qyr[j] = ln
    return hm, clip, inf, drn


@njit(**_opts)
def continuity(
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
    row_hmax,
    row_bnd,
    row_clip,
    row_inf,
    row_drain,
):
    """Depth update with limited discharges; writes them to qx/qy; per-row reductions.

    rain, infil, drain: rates (m/s) as [ny, nx], or one row [1, nx] when uniform (infil and
    drain act only where the start-of-step depth exceeds the threshold, capped by the water
    present). active: uint8 [ny, nx] (0 = wall). Per row: row_hmax max depth; row_bnd net
    boundary outflow as unit discharge (m²/s; x dx -> m³/s); row_clip depth created by
    clipping negatives (m); row_inf infiltrated and row_drain drained depth (m).
    """
    for i in prange(h.shape[0]):
        continuity_row(
            np.int64(i),
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
            row_hmax,
            row_bnd,
            row_clip,
            row_inf,
            row_drain,
        )


@njit(inline="always")
def continuity_row(
    i,
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
    row_hmax,
    row_bnd,
    row_clip,
    row_inf,
    row_drain,
):
    """Row i of ``continuity`` (the pass's loop body; also the fused member step's)."""
    ny, nx = h.shape
    zero = p[P_ZERO]
    hm, clip, inf, drn = _crow(
        h[i],
        qxn[i],
        qyn[i],
        qyn[i + 1],
        fac[i + 1],
        fac[i],
        fac[i + 2],
        rain[min(i, rain.shape[0] - 1)],  # one row when uniform
        infil[min(i, infil.shape[0] - 1)],
        drain[min(i, drain.shape[0] - 1)],
        active[i],
        maxd[i],
        qx[i],
        qy[i],
        p,
    )
    qe = qxn[i, nx]
    le = qe * (fac[i + 1, nx] if qe > zero else fac[i + 1, nx + 1])
    qx[i, nx] = le
    bnd = le - qx[i, 0]
    if i == 0:
        for j in range(nx):
            bnd -= qy[0, j]
    if i == ny - 1:
        for j in range(nx):
            qs = qyn[ny, j]
            ls = qs * (fac[ny, j + 1] if qs > zero else fac[ny + 1, j + 1])
            qy[ny, j] = ls
            bnd += ls
    row_hmax[i] = _bitsf(hm)
    row_bnd[i] = bnd
    row_clip[i] = clip
    row_inf[i] = inf
    row_drain[i] = drn


@njit(cache=True, nogil=True)
def row_totals(row_bnd, row_clip, row_inf, row_drain):
    """float64 sums of the per-row float32 partials of a step: (net boundary outflow as unit
    discharge, clipped, infiltrated, drained depth). Every stepper (``step``, the coast's
    ``step_outlets``, the ensemble's members) reduces through this one loop."""
    bnd = 0.0
    clip = 0.0
    inf = 0.0
    drn = 0.0
    for i in range(row_bnd.shape[0]):
        bnd += row_bnd[i]
        clip += row_clip[i]
        inf += row_inf[i]
        drn += row_drain[i]
    return bnd, clip, inf, drn


@njit(cache=True, nogil=True)
def add_point_volumes(h, rows, cols, depths):
    """Add point-inflow depths (m) to cells (tiny; outside the parallel passes)."""
    for k in range(rows.shape[0]):
        h[rows[k], cols[k]] += depths[k]


@njit(cache=True, nogil=True)
def step(
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
    in_rows,
    in_cols,
    in_depths,
    row_speed,
    row_veff,
    row_hmax,
    row_bnd,
    row_clip,
    row_inf,
    row_drain,
):
    """One whole time step: the four passes and their reductions in one compiled call.

    Calling the passes one by one from Python cost ~8 % of a 512 x 512 step in dispatch and
    NumPy reductions. Returns (max depth, max face wave speed, max effective speed
    ``_veff``, net boundary outflow as unit discharge sum (m2/s), clipped, infiltrated and drained
    depth sums).
    """
    flux_interior(h, z, qx, qy, qxn, qyn, n2x, n2y, p, row_speed, row_veff)
    bspeed, bveff = flux_boundary(h, z, qx, qy, qxn, qyn, n2x, n2y, p, kinds, levels)
    limiter(h, qxn, qyn, fac, infil, drain, p)
    add_point_volumes(h, in_rows, in_cols, in_depths)  # no-op without inflows
    continuity(
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
        row_hmax,
        row_bnd,
        row_clip,
        row_inf,
        row_drain,
    )
    speed = max(row_speed.max(), bspeed)
    veff = max(row_veff.max(), bveff)
    bnd, clip, inf, drn = row_totals(row_bnd, row_clip, row_inf, row_drain)
    return row_hmax.max(), speed, veff, bnd, clip, inf, drn
