"""Interior outlets: open nodata cells (free outflow) and sea cells (fixed level).

Hand calculation (the coastal toy): land sloping east at S = 0.01 to a sea, 20 land cells of
dx = 10 m, rain r = 50 mm/h. At steady state the coast face carries q = r * 20 dx =
2.7778e-3 m²/s per metre, and the coast cell stands at about Manning's normal depth
h = (n q / sqrt(S))^(3/5) = (0.035 * 2.7778e-3 / 0.1)^0.6 = 0.015583 m.
"""

from __future__ import annotations

import numpy as np
import pytest

from floodcast.io.rain import RainSeries
from floodcast.physics import Boundaries, Simulation, SolverConfig
from floodcast.physics.outlets import FREE, LEVEL, outlet_faces

NY, NX, DX, S, RAIN = 6, 30, 10.0, 0.01, 50.0
H_NORMAL = 0.015583  # module docstring


def _rain(mmh: float = RAIN) -> RainSeries:
    return RainSeries(np.array([mmh], np.float32), np.zeros(1), np.inf, "uniform")


def _ramp() -> np.ndarray:
    """Elevation falling east by S per metre; 0 m at the last column."""
    return np.tile((NX - 1 - np.arange(NX)) * S * DX, (NY, 1)).astype(float)


def _coast_toy() -> np.ndarray:
    z = _ramp()
    z[:, 20:] = np.nan  # the sea, as nodata, east of column 19
    return z


def test_outlet_faces_by_hand():
    active = np.ones((3, 3), bool)
    active[1, 1] = False  # one nodata cell in the middle, open
    open_cells = ~active
    faces, fvals = outlet_faces(active, open_cells, np.zeros_like(active), 0.05, 0.0)
    got = sorted(map(tuple, faces.tolist()))
    # x-face col 1 (W land -> E outlet, +1), x-face col 2 (E land, -1); y-faces rows 1, 2
    assert got == sorted(
        [(0, 1, 1, 1, FREE), (0, 1, 2, -1, FREE), (1, 1, 1, 1, FREE), (1, 2, 1, -1, FREE)]
    )
    assert np.allclose(fvals[:, 0], 0.05**2)
    sea = np.zeros((2, 3), bool)
    sea[:, 2] = True
    faces, fvals = outlet_faces(~sea, np.zeros_like(sea), sea, np.array([[0.1, 0.2, 0.3]] * 2), 1.5)
    assert sorted(map(tuple, faces.tolist())) == [(0, 0, 2, 1, LEVEL), (0, 1, 2, 1, LEVEL)]
    assert np.allclose(fvals, [[0.2**2, 1.5]] * 2)  # the land cell's n², the level


def test_wall_ponds_at_the_coast_open_drains_at_normal_depth():
    z = _coast_toy()
    wall = Simulation(z, DX, _rain(), SolverConfig(), Boundaries())
    wall.advance(3600.0)
    coast_wall = float(wall.max_depth[:, 19].max())
    assert coast_wall > 10 * H_NORMAL  # nowhere to go: ponds against the coastline
    assert wall.mass.boundary_out_m3 == 0.0

    sim = Simulation(z, DX, _rain(), SolverConfig(nodata="open", precision="float64"), Boundaries())
    sim.advance(3600.0)
    coast = sim.max_depth[:, 19]
    assert coast.max() == pytest.approx(H_NORMAL, rel=0.02)  # the hand-calculated depth
    m = sim.mass
    assert m.relative_error < 1e-9
    assert m.outlet_out_m3 == pytest.approx(m.boundary_out_m3, rel=1e-12)  # closed edges
    assert m.outlet_out_m3 == pytest.approx(m.rain_in_m3 - m.stored_m3, rel=1e-9)
    # at steady state the outflow matches the rain on the land
    q_out = sim.qx[:, 20].astype(float).sum() * DX
    assert q_out == pytest.approx(RAIN / 3.6e6 * NY * 20 * DX * DX, rel=1e-3)


def test_open_nodata_is_the_free_edge_rule():
    """A nodata column east of the land with --nodata open gives the same run as the land
    alone with a free east edge (the same FREE rule, LISFLOOD-FP's)."""
    z = _coast_toy()
    cfg = SolverConfig(nodata="open", precision="float64", shift_elevation=False)
    a = Simulation(z, DX, _rain(), cfg, Boundaries())
    b = Simulation(z[:, :20], DX, _rain(), cfg, Boundaries.parse("E=free"))
    a.advance(1200.0)
    b.advance(1200.0)
    assert a.steps == b.steps
    np.testing.assert_allclose(a.max_depth[:, :20], b.max_depth, rtol=1e-5, atol=1e-9)
    assert a.mass.boundary_out_m3 == pytest.approx(b.mass.boundary_out_m3, rel=1e-9)


def test_sea_cells_hold_the_level_like_a_level_edge():
    """Cells at or below --sea-level are a fixed level: the same run as the land alone with
    E=level:M, no depth and no rain on the sea, and the ledger closes."""
    z = _ramp() - 0.45  # columns 25..29 are at or below 0 m
    cfg = SolverConfig(sea_level=0.0, precision="float64", shift_elevation=False)
    a = Simulation(z, DX, _rain(), cfg, Boundaries())
    assert a.sea.sum() == NY * 5 and not a.active[:, 25:].any()
    b = Simulation(
        z[:, :25],
        DX,
        _rain(),
        SolverConfig(precision="float64", shift_elevation=False),
        Boundaries.parse("E=level:0"),
    )
    a.advance(1800.0)
    b.advance(1800.0)
    assert np.all(a.max_depth[:, 25:] == 0.0)
    np.testing.assert_allclose(a.max_depth[:, :25], b.max_depth, rtol=1e-5, atol=1e-9)
    m = a.mass
    assert m.rain_in_m3 == pytest.approx(RAIN / 3.6e6 * 1800 * NY * 25 * DX * DX, rel=1e-9)
    assert m.relative_error < 1e-9 and m.outlet_out_m3 > 0
    assert m.outlet_out_m3 == pytest.approx(b.mass.boundary_out_m3, rel=1e-9)


def test_sea_level_with_float32_default_and_hot_start():
    z = _ramp() - 0.45
    cfg = SolverConfig(sea_level=0.0)
    a = Simulation(z, DX, _rain(), cfg, Boundaries())
    a.advance(600.0)
    assert a.mass.relative_error < 1e-5
    state = a.state_dict()
    assert state["vol_outlet"] > 0
    b = Simulation(z, DX, _rain(), cfg, Boundaries())
    b.load_state_dict(state)
    a.advance(900.0)
    b.advance(900.0)
    np.testing.assert_array_equal(a.h, b.h)
    other = Simulation(z, DX, _rain(), SolverConfig(sea_level=-0.2), Boundaries())
    with pytest.raises(ValueError, match="fingerprint"):
        other.load_state_dict(state)  # another coast: refused
    plain = Simulation(z, DX, _rain(), SolverConfig(), Boundaries())
    assert plain.fingerprint() != a.fingerprint()


def test_bad_coast_settings():
    with pytest.raises(ValueError, match="nodata must be 'wall' or 'open'"):
        SolverConfig(nodata="sea")
    with pytest.raises(ValueError, match="sea_level must be a finite"):
        SolverConfig(sea_level=float("nan"))
    with pytest.raises(ValueError, match="at or below the sea level"):
        Simulation(_ramp(), DX, _rain(), SolverConfig(sea_level=1e4), Boundaries())
