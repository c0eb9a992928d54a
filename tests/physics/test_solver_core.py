"""Core behaviour of floodcast.physics: well-balancing, mass conservation, API contract."""

from __future__ import annotations

import math

import numpy as np
import pytest

from floodcast.io.rain import RainSeries
from floodcast.physics import (
    Boundaries,
    Edge,
    PointInflow,
    Simulation,
    SimulationError,
    SolverConfig,
    run,
)


def _rain(rate_mmh: float = 0.0, end: float = math.inf, until: float | None = None) -> RainSeries:
    if until is None:
        return RainSeries(np.array([rate_mmh], np.float32), np.zeros(1), end, "test")
    return RainSeries(np.array([rate_mmh, 0.0], np.float32), np.array([0.0, until]), end, "test")


def _bowl(n: int = 24, dx: float = 10.0, rng=None) -> np.ndarray:
    y, x = np.mgrid[0:n, 0:n] * dx
    c = (n - 1) * dx / 2
    z = 10.0 + 0.002 * ((x - c) ** 2 + (y - c) ** 2) / dx
    if rng is not None:
        z = z + rng.uniform(-0.3, 0.3, z.shape)
    return z


def _assert_sane(sim: Simulation) -> None:
    h = sim.depth
    assert np.all(np.isfinite(h)) and h.min() >= 0
    assert np.all(np.isfinite(sim.qx)) and np.all(np.isfinite(sim.qy))


# ----------------------------------------------------------------- lake at rest
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_lake_at_rest_uneven_dem(rng, precision):
    z = _bowl(rng=rng)
    if precision == "float32":
        # float32 is exact only for representable sums: bed on a 1/1024 m grid, level 12 m
        # (for arbitrary beds eta = z + h is off by one ulp, ~1e-6 m: see physics.md)
        z = np.round(z * 1024) / 1024
    level = 12.0
    h0 = np.maximum(level - z, 0.0)
    z[3, 5] = level + 0.5  # an island sticking out of the lake
    h0[3, 5] = 0.0
    cfg = SolverConfig(manning=0.03, max_step=5.0, precision=precision)
    sim = Simulation(z, 10.0, _rain(0.0), cfg, initial_depth=h0)
    h_start = sim.depth.copy()
    sim.advance(2000.0)
    _assert_sane(sim)
    wet = np.maximum(sim.h[:, 1:], sim.h[:, :-1]) > 0.01
    u = np.abs(sim.qx[:, 1:-1])[wet] / np.maximum(sim.h[:, 1:], sim.h[:, :-1])[wet]
    assert u.max() < 1e-10
    assert np.abs(sim.qy).max() < 1e-10
    assert np.abs(sim.depth - h_start).max() == 0.0
    assert sim.mass.relative_error < 1e-12


# ----------------------------------------------------------------- mass
def test_closed_domain_rain_mass_balance_float64(rng):
    z = _bowl(rng=rng)
    sim = Simulation(
        z,
        10.0,
        _rain(60.0, until=900.0),
        SolverConfig(manning=0.03, max_step=10.0, precision="float64"),
    )
    steps = []
    sim.advance(2400.0, on_step=lambda t, dt: steps.append(dt))
    _assert_sane(sim)
    m = sim.mass
    assert m.rain_in_m3 == pytest.approx(60 / 3.6e6 * 900 * z.size * 100, rel=1e-12)
    assert m.boundary_out_m3 == 0.0 and m.clipped_m3 == 0.0
    assert m.relative_error < 1e-6  # measured ~1e-15
    assert sum(steps) == pytest.approx(2400.0, abs=1e-9)


def test_closed_domain_rain_mass_balance_float32(rng):
    z = _bowl(rng=rng)
    sim = Simulation(z, 10.0, _rain(60.0, until=900.0), SolverConfig(manning=0.03, max_step=10.0))
    sim.advance(2400.0)
    _assert_sane(sim)
    # float32 round-off of the stored depths (LISFLOOD-FP's float32 build: ~1e-5)
    assert sim.mass.relative_error < 1e-5
    assert sim.mass.clipped_m3 == 0.0


def test_nan_walls_infiltration_and_inflow_mass(rng):
    z = _bowl(rng=rng)
    z[8:12, 8:12] = np.nan  # a building block
    z[0, :] = np.nan
    ts = np.array([0.0, 300.0, 600.0])
    inflow = PointInflow(20, 20, ts, np.array([0.0, 2.0, 0.0]))
    cfg = SolverConfig(manning=0.03, infiltration_mmh=20.0, precision="float64")
    sim = Simulation(
        z, 10.0, _rain(40.0), cfg, Boundaries.parse("S=free,E=level:10.5"), inflows=[inflow]
    )
    sim.advance(1200.0)
    _assert_sane(sim)
    m = sim.mass
    assert np.all(sim.depth[np.isnan(z)] == 0)
    assert m.inflow_m3 == pytest.approx(600.0, rel=1e-12)  # triangle 2 m³/s x 600 s / 2
    assert m.infiltration_m3 > 0
    assert m.relative_error < 1e-9
    active = np.isfinite(z).sum()
    assert m.rain_in_m3 == pytest.approx(40 / 3.6e6 * 1200 * active * 100, rel=1e-12)


def test_infiltration_limited_by_available_water():
    z = np.full((5, 5), 1.0)
    sim = Simulation(z, 1.0, _rain(10.0), SolverConfig(infiltration_mmh=50.0, precision="float64"))
    sim.advance(600.0)
    # as LISFLOOD-FP: only depths above the 1 mm threshold infiltrate, so a film of at most
    # 1 mm (plus one step of rain) stays; the rest infiltrated and the ledger closes
    assert np.all(sim.depth <= 1e-3 + 10 / 3.6e6 * sim.dt_max + 1e-9)
    m = sim.mass
    assert m.infiltration_m3 + m.stored_m3 == pytest.approx(m.rain_in_m3, rel=1e-12)
    assert m.infiltration_m3 > 0.3 * m.rain_in_m3  # 1.67 mm of rain, 1 mm stays


def test_free_and_level_edges_drain_and_fill():
    z = np.tile(np.linspace(2.0, 1.0, 20), (6, 1))  # slopes down to the east
    sim = Simulation(z, 5.0, _rain(100.0, until=600.0), SolverConfig(), Boundaries.parse("E=free"))
    sim.advance(3600.0)
    assert sim.mass.boundary_out_m3 > 0.9 * sim.mass.rain_in_m3
    # a fixed level above the bed floods the domain from the west
    sim2 = Simulation(
        np.zeros((4, 10)),
        5.0,
        _rain(),
        SolverConfig(precision="float64"),
        Boundaries(west=Edge("level", 0.5)),
    )
    sim2.advance(1800.0)
    assert np.allclose(sim2.depth, 0.5, atol=0.01)  # a small seiche remains
    assert sim2.depth.mean() == pytest.approx(0.5, abs=2e-3)
    assert sim2.mass.boundary_out_m3 == pytest.approx(-sim2.mass.stored_m3, rel=1e-9)
    assert sim2.mass.stored_m3 == pytest.approx(0.5 * 4 * 10 * 25, rel=5e-3)
    assert sim2.mass.relative_error < 1e-9  # boundary supply counts as input


# ----------------------------------------------------------------- stepping / API
def test_advance_lands_on_targets_and_frame_changes():
    rain = RainSeries(
        np.array([30.0, 0.0, 10.0], np.float32), np.array([0.0, 95.5, 200.0]), 400.0, "t"
    )
    sim = Simulation(_bowl(), 10.0, rain, SolverConfig(max_step=7.0))
    times = []
    sim.advance(333.3, on_step=lambda t, dt: times.append(t))
    assert sim.t == 333.3
    assert 95.5 in times and 200.0 in times
    with pytest.raises(SimulationError, match="ends at"):
        sim.advance(400.5)
    with pytest.raises(ValueError):
        sim.advance(100.0)


def test_run_saves_and_records_mass():
    sim = Simulation(_bowl(), 10.0, _rain(50.0), SolverConfig(max_step=5.0))
    res = run(sim, 250.0, 60.0, mass_every_s=25.0)
    assert list(res.times_s) == [60.0, 120.0, 180.0, 240.0, 250.0]
    assert res.depth.shape == (5, 24, 24) and res.depth.dtype == np.float32
    assert len(res.mass) >= 10 and res.mass[-1].time_s == 250.0
    assert np.all(res.max_depth >= res.depth.max(axis=0) - 1e-7)
    assert res.steps == sim.steps and res.cell_updates_per_s > 0
    assert 0 < res.dt_min <= res.dt_max <= 5.0


def test_run_raises_on_mass_error():
    sim = Simulation(_bowl(), 10.0, _rain(50.0), SolverConfig(max_mass_error=1e-30))
    with pytest.raises(SimulationError, match="mass error"):
        run(sim, 120.0, 60.0)


def test_state_dict_hot_start_is_exact(rng):
    z = _bowl(rng=rng)
    rain = _rain(80.0, until=300.0)
    a = Simulation(z, 10.0, rain, SolverConfig(), Boundaries.parse("free"))
    a.advance(600.0)
    b = Simulation(z, 10.0, rain, SolverConfig(), Boundaries.parse("free"))
    b.advance(300.0)
    c = Simulation(z, 10.0, rain, SolverConfig(), Boundaries.parse("free"))
    c.load_state_dict(b.state_dict())
    c.advance(600.0)
    assert np.array_equal(a.depth, c.depth) and np.array_equal(a.max_depth, c.max_depth)
    assert a.mass == c.mass and a.steps == c.steps


def test_manning_grid_and_lisflood_mode():
    z = _bowl()
    n = np.full(z.shape, 0.03)
    a = Simulation(z, 10.0, _rain(50.0), SolverConfig(manning=n))
    b = Simulation(z, 10.0, _rain(50.0), SolverConfig(manning=0.03))
    a.advance(300.0)
    b.advance(300.0)
    assert np.allclose(a.depth, b.depth, atol=1e-6)
    cfg = SolverConfig.lisflood(max_step=1.0)
    assert not cfg.speed_aware_step and cfg.rain_at_step_start


@pytest.mark.parametrize(
    "kw",
    [
        {"manning": 0.0},
        {"manning": -1.0},
        {"cfl": 1.5},
        {"max_step": 0.0},
        {"theta": 1.2},
        {"precision": "float16"},
        {"manning": np.zeros((3, 3))},
    ],
)
def test_config_validation(kw):
    with pytest.raises(ValueError):
        SolverConfig(**kw)


def test_boundaries_parse():
    b = Boundaries.parse("N=free,S=closed,E=level:12.5")
    assert b.north == Edge("free") and b.south == Edge("closed")
    assert b.east == Edge("level", 12.5) and b.west == Edge("closed")
    assert Boundaries.parse("free") == Boundaries.all("free")
    assert Boundaries.parse("closed") == Boundaries()
    assert Boundaries.parse(" w = free ").west.kind == "free"
    for bad, token in [
        ("N=flood", "N=flood"),
        ("X=free", "X=free"),
        ("E=level:abc", "E=level:abc"),
        ("N=free,N=closed", "N=closed"),
        ("wet", "wet"),
        ("N=free,junk", "junk"),
    ]:
        with pytest.raises(ValueError, match=token.replace(":", ".").replace("=", ".")):
            Boundaries.parse(bad)


def test_point_inflow_volume_and_rate():
    f = PointInflow(0, 0, np.array([10.0, 20.0, 40.0]), np.array([0.0, 4.0, 0.0]))
    assert f.rate(5.0) == 0.0 and f.rate(15.0) == pytest.approx(2.0)
    assert f.volume(0.0, 100.0) == pytest.approx(60.0)
    assert f.volume(15.0, 30.0) == pytest.approx(15.0 + 30.0)
    with pytest.raises(ValueError):
        PointInflow(0, 0, np.array([1.0, 1.0]), np.array([0.0, 1.0]))


def test_instability_and_bad_inputs_raise():
    z = _bowl()
    with pytest.raises(ValueError):
        Simulation(z, 10.0, _rain(), initial_depth=-np.ones_like(z))
    with pytest.raises(ValueError):
        Simulation(z, 10.0, _rain(), inflows=[PointInflow(99, 0, np.zeros(1), np.ones(1))])
    with pytest.raises(ValueError, match="rain grid"):
        Simulation(z, 10.0, RainSeries(np.zeros((1, 3, 3), np.float32), np.zeros(1), 10.0))
    # cfl = 1 with theta = 0 and a huge step on a steep deep domain: must not produce NaN
    # silently -- either it stays finite or it raises SimulationError
    deep = np.where(np.arange(24)[None, :] < 12, 5.0, 0.0) * np.ones((24, 1))
    sim = Simulation(
        z,
        10.0,
        _rain(),
        SolverConfig(cfl=1.0, theta=0.0, speed_aware_step=False, max_step=50.0),
        initial_depth=deep,
    )
    try:
        sim.advance(600.0)
    except SimulationError:
        return
    _assert_sane(sim)


def test_a_simulation_leaves_torch_on_the_threads_it_was_given():
    # numba's OpenMP layer sets the process-wide OpenMP thread count; torch shares it
    import numba
    import torch

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs NUMBA_NUM_THREADS >= 2 (make test sets 2) for numba to change it")
    from floodcast.data.reference_storm import reference_series

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        reference_series(
            np.random.default_rng(0).random((40, 40)) * 3, 30.0, duration_s=1800, cache=False
        )
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
