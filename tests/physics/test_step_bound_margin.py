"""The per-face step bound's arithmetic (kernels._vsum, _vscale, the row loops): the float v
is never below the real-number v of the face's discharge, the margin costs no steps, zero
flow gives exactly zero, and the theta = 1 loop gives the same discharges."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit

from floodcast.physics import kernels as K

CFL, DX, G, THR, DT = 0.7, 30.0, 9.80655, 1e-3, 1.5


def _params(dtype, theta: float = 1.0) -> np.ndarray:
    """The parameter vector Simulation builds (solver.py), for one 30 m, 1.5 s step."""
    p = np.zeros(K.NPARAM, dtype)
    p[[K.P_G, K.P_DT, K.P_DX, K.P_INVDX, K.P_THR]] = [G, DT, DX, 1 / DX, THR]
    p[[K.P_THETA, K.P_WNB, K.P_GDT, K.P_DTDX]] = [theta, 0.5 * (1 - theta), G * DT, DT / DX]
    p[[K.P_ZERO, K.P_ONE, K.P_QUARTER, K.P_HALF, K.P_R4]] = [0, 1, 0.25, 0.5, 4 * CFL * DX]
    return p


def _v_exact(c, slope):
    """The real-number v (float64) of a face with wave speed c and slope |S|."""
    c = np.asarray(c, np.float64)
    x = 4 * CFL * DX * G * np.asarray(slope, np.float64)
    return 0.5 * (c + np.sqrt(c * c + x))


def test_vscale_hand_values():
    for dtype in (np.float32, np.float64):
        vhalf, r4g = K._vscale(_params(dtype))
        assert vhalf.dtype == dtype and r4g.dtype == dtype
        assert float(vhalf) == pytest.approx(0.5 * (1 + 2.0**-18), rel=1e-7)
        assert float(r4g) == pytest.approx(4 * 0.7 * 30 * 9.80655, rel=1e-7)  # 823.75 m²/s²


def test_veff_float32_is_never_below_the_real_number_v():
    vhalf, r4g = K._vscale(_params(np.float32))
    # every face has c = 0 (dry) or c >= sqrt(g thr) = 0.099 m/s (wet), and |S| = 0 or
    # >= ulp(eta)/dx; a log-spaced sweep well beyond both ranges, zeros included
    c = np.concatenate([[0.0], np.geomspace(1e-15, 1e4, 400)]).astype(np.float32)
    s = np.concatenate([[0.0], np.geomspace(1e-30, 1e2, 300)]).astype(np.float32)
    cc, ss = (a.ravel() for a in np.meshgrid(c, s))
    v = np.array([K._veff(a, b, r4g, vhalf) for a, b in zip(cc, ss, strict=True)], np.float64)
    exact = _v_exact(cc, ss)
    assert np.all(np.isfinite(v))
    assert np.all(v >= exact)
    assert np.all(v <= exact * (1 + 2.0**-18 + 1e-6))  # the margin, and no more
    assert K._veff(np.float32(0), np.float32(0), r4g, vhalf) == 0.0  # sqrt(0) = 0, no NaN


def test_veff_tiny_and_denormal_inputs_stay_finite():
    vhalf, r4g = K._vscale(_params(np.float32))
    for c in (0.0, 1e-38, 1e-40, 1e-45):
        for s in (0.0, 1e-38, 1e-40, 1e-45):
            v = float(K._veff(np.float32(c), np.float32(s), r4g, vhalf))
            assert np.isfinite(v) and v >= 0.0
            if s > 0:  # c^2 underflows to 0 here, the slope term does not
                assert v >= float(_v_exact(c, s))


@njit(fastmath=True, error_model="numpy")
def _rinv_error(lo_bits, hi_bits):
    """Extreme relative errors of 1/h = rcbrt(h)^3, the kernels' 1/h, over all float32 h
    with bits in [lo_bits, hi_bits)."""
    e_lo, e_hi = 0.0, 0.0
    for b in range(lo_bits, hi_bits):
        h = K._bitsf(np.int32(b))
        y = K.rcbrt(h)
        e = np.float64(y * y * y) * np.float64(h) - 1.0
        e_lo, e_hi = min(e_lo, e), max(e_hi, e)
    return e_lo, e_hi


def test_one_over_h_error_is_inside_the_margin():
    # |u| = |q| rcbrt(h)^3 carries this error into c; with < 5e-7 from the roundings of v
    # itself, it must stay inside 2^-18 = 3.8e-6. All float32 depths from 1 mm to 4096 m:
    bits = np.array([2.0**-10, 2.0**12], np.float32).view(np.int32)
    e_lo, e_hi = _rinv_error(int(bits[0]), int(bits[1]))
    assert e_lo > -1e-6 and e_hi < 1e-6  # measured -4.7e-7 / +6.8e-7
    assert max(-e_lo, e_hi) + 5e-7 < 2.0**-18


def _random_row(rng, nx: int, dtype):
    """One row and its neighbours: dry cells, films below the threshold, deep fast water and
    steep steps (wet, about-to-wet and dry faces all present)."""
    h = rng.lognormal(-2.0, 1.5, size=(3, nx))
    h[rng.random((3, nx)) < 0.3] = 0.0
    h[rng.random((3, nx)) < 0.1] = rng.uniform(0.0, 2 * THR)
    z = np.cumsum(rng.normal(0.0, 1.0, size=(3, nx)), axis=1)
    qx = rng.normal(0.0, 0.5, size=(3, nx + 1)) * np.pad(h, ((0, 0), (0, 1)))
    qy = rng.normal(0.0, 0.5, size=(4, nx))
    n2 = np.full(nx + 1, 0.035**2)
    return [np.asarray(a, dtype) for a in (h, z, qx, qy, n2)]


def _exact_row_maxima(h, z, qn):
    """Real-number max wave speed and max v of a row's x-faces, from the row's float depths
    and the kernel's discharges qn (|u| = |qn| / h in float64)."""
    eta = z[0] + h[0]  # in the state dtype, as the kernel: the face's own depth and slope
    e0, e1, z0, z1 = eta[:-1], eta[1:], z[0, :-1], z[0, 1:]
    hflow = np.maximum(e0, e1) - np.maximum(z0, z1)
    hf = np.maximum(hflow, h.dtype.type(THR)).astype(np.float64)
    wet = hflow > THR
    u = np.where(wet, np.abs(qn[1:-1].astype(np.float64)) / hf, 0.0)
    c = u + np.sqrt(G * np.where(wet, hf, 0.0))
    slope = np.where(2 * hflow > THR, np.abs((e1 - e0).astype(np.float64)) / DX, 0.0)
    return c.max(), _v_exact(c, slope).max()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("theta", [1.0, 0.7])
def test_row_bound_is_never_below_the_real_number_v(dtype, theta):
    rng = np.random.default_rng(7)
    p = _params(dtype, theta)
    vhalf, _ = K._vscale(p)
    it = np.int32 if dtype == np.float32 else np.int64
    for _ in range(40):
        h, z, qx, qy, n2 = _random_row(rng, 83, dtype)  # 82 faces: vector body and tail
        out = np.zeros(84, dtype)
        cb, vb = K._xrow(h[0], z[0], qx[0], qy[0], qy[1], n2, out, p)
        c_row = float(np.array(cb, it).view(dtype))
        v_row = float(vhalf * np.array(vb, it).view(dtype))  # as flux_row
        c_ex, v_ex = _exact_row_maxima(h, z, out)
        assert v_ex > 0.0
        assert v_ex <= v_row <= v_ex * (1 + 2.0**-18 + 2e-6)
        assert c_row == pytest.approx(c_ex, rel=2e-6)


def test_dry_row_gives_zero_speeds():
    p = _params(np.float32)
    h = np.zeros((3, 40), np.float32)
    z = np.cumsum(np.ones((3, 40), np.float32), axis=1)  # steep but dry: no flow
    out = np.ones(41, np.float32)
    cb, vb = K._xrow(
        h[0], z[0], np.zeros(41, np.float32), h[0], h[1], np.ones(41, np.float32), out, p
    )
    assert cb == 0 and vb == 0
    assert np.all(out[1:-1] == 0.0)


@njit(fastmath=True, error_model="numpy")
def _both_paths(h, z, qx, qy, n2, p, general, fast):
    K._xfaces(h[0], z[0], qx[0], qy[0], qy[1], n2, general, p, True)
    K._xfaces(h[0], z[0], qx[0], qy[0], qy[1], n2, fast, p, False)
    K._yfaces(
        h[0], h[1], z[0], z[1], qy[1], qy[0], qy[2], qx[0], qx[1], n2[:-1], general[:-1], p, True
    )
    K._yfaces(
        h[0], h[1], z[0], z[1], qy[1], qy[0], qy[2], qx[0], qx[1], n2[:-1], fast[:-1], p, False
    )


def test_theta_one_loop_gives_the_same_discharges():
    # theta = 1: theta q0 + wnb (..) = 1 q0 + 0 (..) = q0, so the loop without the
    # neighbours' loads (_xrow/_yrow's default path) changes no discharge
    rng = np.random.default_rng(3)
    p = _params(np.float32, 1.0)
    for _ in range(10):
        h, z, qx, qy, n2 = _random_row(rng, 83, np.float32)
        general, fast = np.zeros(84, np.float32), np.zeros(84, np.float32)
        _both_paths(h, z, qx, qy, n2, p, general, fast)
        assert np.count_nonzero(general) > 20
        np.testing.assert_array_equal(general, fast)
