"""Analytic verification of the local-inertial solver (no external data needed).

1. Flood wave over a horizontal plane (Hunter et al. 2005; Bates et al. 2010, test 1):
   h(x, t) = [(7/3) n² u² (u t - x)]^(3/7), u = 1 m/s, n = 0.01, compared at t = 3600 s.
   Set-up as Bates et al. (2010): a 5000 m long horizontal plane, dx = 25 m, closed sides and
   far end, initially dry; the upstream boundary is driven by the analytic solution. We impose
   the analytic *discharge* q(0, t) = u h(0, t) (a PointInflow per row into the first column,
   exact volume) rather than a depth: a fixed depth drives the inflow through the model's own
   momentum balance, which delivers u = 0.955 m/s here and starves the wave by 4.5 %.
   Why the u = 1 front lags (documented, strict xfail): the analytic solution is a travelling
   wave of the *diffusive* equations. In the full SWE the convective term d(q²/h)/dx cancels
   dq/dt exactly for this wave; the local inertial form keeps dq/dt but drops the convective
   term, so it needs a surface slope larger by 1 / (1 - u²/(g h)) -- 11 % at h = 0.93 m, 50 %
   at h = 0.3 m, singular where g h = u² (h = 0.1 m, Froude 1) near the front. The wave is
   therefore steeper and its front about 6 cells (150 m) behind, at any dx and dt (checked
   dx = 10, 25, 50 m, dt = 1-10 s), while the L1 depth error stays < 5 %. This is the known
   Froude-number limit of the local inertial approximation (de Almeida & Bates 2013, WRR 49).
   At u = 0.5 m/s (Froude <= 0.5 over most of the wave) the front is exact to the cell.
2. Rain on an inclined plane at steady state (kinematic wave): h(x) = (n r x / sqrt(S))^(3/5).
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from floodcast.io.rain import RainSeries
from floodcast.physics import Boundaries, PointInflow, Simulation, SolverConfig

N_WAVE = 0.01
DX, NX, NY, T_END = 25.0, 200, 3, 3600.0


def _wave_depth(x, t, u: float):
    t, x = np.asarray(t, np.float64), np.asarray(x, np.float64)
    arg = (7.0 / 3.0) * N_WAVE**2 * u**2 * (u * t - x)
    return np.where(arg > 0, np.maximum(arg, 0.0) ** (3.0 / 7.0), 0.0)


def _no_rain(end: float = np.inf) -> RainSeries:
    return RainSeries(np.zeros(1, np.float32), np.zeros(1), end, "none")


@functools.cache
def _run_wave(u: float):
    ts = np.linspace(0.0, T_END, 3601)
    q_row = u * _wave_depth(0.0, ts, u) * DX  # m³/s into each row's first cell
    inflows = [PointInflow(r, 0, ts, q_row) for r in range(NY)]
    cfg = SolverConfig(manning=N_WAVE, max_step=10.0)
    sim = Simulation(np.zeros((NY, NX)), DX, _no_rain(), cfg, inflows=inflows)
    sim.advance(T_END)
    h = sim.depth.astype(np.float64)
    assert np.all(np.isfinite(h)) and h.min() >= 0
    assert np.ptp(h, axis=0).max() < 1e-5  # rows identical (1-D problem)
    x = (np.arange(NX) + 0.5) * DX
    ha = _wave_depth(x, T_END, u)
    prof = h[1]
    # front: last cell centre with more than 1 cm of water (analytic: u*t minus ~0.1 m)
    front_num = x[np.nonzero(prof > 0.01)[0].max()]
    front_ana = x[np.nonzero(ha > 0.01)[0].max()]
    l1 = np.abs(prof - ha).sum() / ha.sum()
    return sim, front_num, front_ana, l1


def test_flood_wave_u1_depth_error():
    sim, _, _, l1 = _run_wave(1.0)
    assert l1 < 0.05, l1  # measured 0.041
    m = sim.mass
    assert m.relative_error < 1e-5 and abs(m.inflow_m3 / (m.stored_m3) - 1) < 1e-5


@pytest.mark.xfail(
    strict=True,
    reason="local inertial lacks the convective term: front lags "
    "~6 cells at u = 1 m/s (Froude ~1 near the front); see module docstring",
)
def test_flood_wave_u1_front():
    _, front_num, front_ana, _ = _run_wave(1.0)
    assert abs(front_num - front_ana) <= 2 * DX, (front_num, front_ana)


def test_flood_wave_low_froude_front_and_depth():
    _, front_num, front_ana, l1 = _run_wave(0.5)
    assert abs(front_num - front_ana) <= 2 * DX, (front_num, front_ana)  # measured: 0 cells
    assert l1 < 0.05, l1  # measured 0.016


def test_rain_on_inclined_plane_steady_state():
    dx, nx, ny = 5.0, 200, 3
    slope, n, r_mmh = 0.01, 0.03, 100.0
    x_c = (np.arange(nx) + 0.5) * dx
    z = np.tile(slope * (nx * dx - x_c), (ny, 1))
    rain = RainSeries(np.array([r_mmh], np.float32), np.zeros(1), np.inf, "uniform")
    sim = Simulation(
        z, dx, rain, SolverConfig(manning=n, max_step=10.0), Boundaries.parse("E=free")
    )
    sim.advance(3600.0)  # equilibrium time (n L / sqrt S)^(3/5) r^(-2/5) ~ 2035 s
    h = sim.depth[1].astype(np.float64)
    r = r_mmh / 3.6e6
    half = slice(nx // 2, nx)
    h_centre = (n * r * x_c / np.sqrt(slope)) ** 0.6
    h_face = (n * r * (x_c + dx / 2) / np.sqrt(slope)) ** 0.6
    err_c = np.abs(h[half] / h_centre[half] - 1).max()
    err_f = np.abs(h[half] / h_face[half] - 1).max()
    assert err_c < 0.05, err_c
    assert err_f < 0.01, err_f  # upwind face depth: the discrete steady state (see README)
    # steady state: outflow equals rain input
    q_out = sim.qx[:, -1].astype(np.float64).sum() * dx
    assert abs(q_out / (r * nx * ny * dx * dx) - 1) < 0.01
    assert sim.mass.relative_error < 1e-5
