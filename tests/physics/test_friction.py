"""Manning n per cell and per-cell losses: face rule, analytic cases, loss rule, ledger.

Analytic cases (hand-calculated):

* Inclined plane, two friction zones, steady uniform inflow q per unit width: on a uniform
  slope S the steady depth of each zone is Manning's normal depth h = (n q / sqrt(S))^(3/5).
  q = 0.005 m²/s, S = 0.01: n = 0.03 -> h = (0.0015)^0.6 = 0.020216 m; n = 0.1 ->
  h = (0.005)^0.6 = 0.041628 m.
* Lake at rest over a bumpy bed with islands, walls and a random n raster: still water stays
  still (the face n must not create motion where the surface is flat).
"""

from __future__ import annotations

import numpy as np
import pytest

from floodcast.io.rain import RainSeries
from floodcast.physics import Boundaries, PointInflow, Simulation, SolverConfig
from floodcast.physics.friction import face_n2

H_ZONE1, H_ZONE2 = 0.020216, 0.041628  # hand-calculated normal depths (module docstring)


def _rain(mmh: float = 0.0) -> RainSeries:
    return RainSeries(np.array([mmh], np.float32), np.zeros(1), np.inf, "uniform")


def test_face_n2_is_mean_of_cells_then_squared():
    n = np.array([[0.02, 0.04, 0.04], [0.1, 0.02, 0.04]])
    n2x, n2y = face_n2(n, n.shape, np.float64)
    assert n2x.shape == (2, 4) and n2y.shape == (3, 3)
    assert n2x[0, 1] == pytest.approx(0.03**2)  # interior: ((0.02 + 0.04) / 2)²
    assert n2x[1, 2] == pytest.approx(0.03**2)
    assert n2x[0, 0] == pytest.approx(0.02**2) and n2x[1, 3] == pytest.approx(0.04**2)  # edges
    assert n2y[1, 0] == pytest.approx(0.06**2)  # (0.02 + 0.1) / 2
    assert n2y[0, 1] == pytest.approx(0.04**2) and n2y[2, 0] == pytest.approx(0.1**2)
    ux, uy = face_n2(0.035, (5, 7), np.float32)
    assert ux.shape == (1, 8) and uy.shape == (1, 7) and ux.dtype == np.float32  # broadcast row


def test_inclined_plane_two_friction_zones_steady_depth():
    dx, nx, ny, slope, q = 5.0, 200, 3, 0.01, 0.005
    x_c = (np.arange(nx) + 0.5) * dx
    z = np.tile(slope * (nx * dx - x_c), (ny, 1))
    n = np.where(x_c < 500.0, 0.03, 0.1) * np.ones((ny, 1))
    ts = np.array([0.0, 1e6])
    inflows = [PointInflow(r, 0, ts, np.full(2, q * dx)) for r in range(ny)]
    sim = Simulation(
        z,
        dx,
        _rain(),
        SolverConfig(manning=n, max_step=5.0, precision="float64"),
        Boundaries.parse("E=free"),
        inflows=inflows,
    )
    sim.advance(10800.0)
    h = sim.depth[1].astype(np.float64)
    zone1 = h[20:80]  # away from the inlet and the zone boundary at column 100
    zone2 = h[130:190]  # away from the zone boundary and the free outlet
    assert np.abs(zone1 / H_ZONE1 - 1).max() < 0.01, zone1
    assert np.abs(zone2 / H_ZONE2 - 1).max() < 0.01, zone2
    assert np.ptp(sim.depth, axis=0).max() < 1e-6  # rows identical
    q_out = sim.qx[:, -1].astype(np.float64).mean()
    assert q_out == pytest.approx(q, rel=1e-3)  # steady: out = in
    assert sim.mass.relative_error < 1e-9


# float32: round-off of z + h (ulp 6e-8 m at 1 m) drives |q| ~ 1e-6 m²/s, as with uniform n
@pytest.mark.parametrize("precision,tol", [("float32", 1e-5), ("float64", 1e-12)])
def test_lake_at_rest_with_manning_raster(rng, precision, tol):
    ny, nx = 24, 30
    z = rng.uniform(0.0, 0.8, (ny, nx))
    z[5:9, 5:9] = 1.3  # an island above the lake level
    z[15, :10] = np.nan  # a wall
    n = rng.uniform(0.01, 0.2, (ny, nx))
    level = 1.0
    h0 = np.where(np.isfinite(z), np.maximum(level - np.nan_to_num(z), 0.0), 0.0)
    sim = Simulation(
        z,
        10.0,
        _rain(),
        SolverConfig(manning=n, precision=precision),
        Boundaries.parse("closed"),
        initial_depth=h0,
    )
    sim.advance(1800.0)
    assert np.abs(sim.h - h0).max() < tol
    assert max(np.abs(sim.qx).max(), np.abs(sim.qy).max()) < tol
    assert sim.mass.relative_error < 1e-6


def test_losses_only_above_threshold_before_rain():
    """One step by hand: h = 2 mm loses I*dt then gains rain; h = 0.5 mm loses nothing."""
    z = np.zeros((3, 3))
    z[1, 1] = 0.0015  # a flat water surface: no flow
    h0 = np.full((3, 3), 0.002)
    h0[1, 1] = 0.0005
    inf = np.full((3, 3), 36.0)  # 1e-5 m/s
    drn = np.full((3, 3), 18.0)  # 5e-6 m/s
    cfg = SolverConfig(infiltration_mmh=inf, drainage_mmh=drn, max_step=10.0, precision="float64")
    sim = Simulation(z, 1.0, _rain(3.6), cfg, initial_depth=h0)  # rain 1e-6 m/s
    dt = sim.next_step_limit()
    sim.advance(dt)  # one step
    assert sim.steps == 1
    assert sim.h[1, 1] == pytest.approx(0.0005 + 1e-6 * dt, abs=1e-9)  # rain only
    assert sim.h[0, 0] == pytest.approx(0.002 - 1.5e-5 * dt + 1e-6 * dt, abs=1e-9)
    m = sim.mass
    assert m.infiltration_m3 == pytest.approx(8 * 1e-5 * dt, rel=1e-12)
    assert m.drainage_m3 == pytest.approx(8 * 5e-6 * dt, rel=1e-12)
    assert m.relative_error < 1e-12


def test_drainage_and_infiltration_rasters_close_the_ledger(rng):
    z = rng.uniform(0.0, 0.5, (20, 20))
    inf = rng.uniform(0.0, 20.0, z.shape)
    drn = np.where(rng.random(z.shape) < 0.3, 12.0, 0.0)  # "urban" cells
    cfg = SolverConfig(
        manning=rng.uniform(0.015, 0.1, z.shape),
        infiltration_mmh=inf,
        drainage_mmh=drn,
        precision="float64",
    )
    sim = Simulation(z, 5.0, _rain(60.0), cfg, Boundaries.parse("S=free"))
    sim.advance(1800.0)
    m = sim.mass
    assert m.infiltration_m3 > 0 and m.drainage_m3 > 0 and m.boundary_out_m3 > 0
    assert m.relative_error < 1e-9
    with pytest.raises(ValueError, match=r"row 2, col 3"):
        bad = inf.copy()
        bad[2, 3] = -1.0
        Simulation(z, 5.0, _rain(), SolverConfig(infiltration_mmh=np.abs(inf), drainage_mmh=bad))


def test_hot_start_fingerprint_includes_manning_and_losses(rng):
    z = rng.uniform(0.0, 0.5, (10, 12))
    n = rng.uniform(0.02, 0.1, z.shape)
    a = Simulation(z, 5.0, _rain(30.0), SolverConfig(manning=n), Boundaries.parse("free"))
    a.advance(120.0)
    state = a.state_dict()
    b = Simulation(z, 5.0, _rain(30.0), SolverConfig(manning=n), Boundaries.parse("free"))
    b.load_state_dict(state)  # same set-up: accepted
    for cfg in (
        SolverConfig(manning=n * 1.01),
        SolverConfig(manning=n, infiltration_mmh=2.0),
        SolverConfig(manning=n, drainage_mmh=12.0),
    ):
        c = Simulation(z, 5.0, _rain(30.0), cfg, Boundaries.parse("free"))
        with pytest.raises(ValueError, match="fingerprint mismatch"):
            c.load_state_dict(state)
    legacy = {k: v for k, v in state.items() if k != "fingerprint"}
    Simulation(z, 5.0, _rain(30.0), SolverConfig(manning=0.05)).load_state_dict(legacy)
