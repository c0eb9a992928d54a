"""The compiled step loop (``physics.step_loop``) is bit-identical to the Python loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from floodcast.io.rain import RainSeries
from floodcast.physics import Boundaries, PointInflow, Simulation, SimulationError, SolverConfig
from floodcast.physics.ensemble import EnsembleSimulation, template_simulation

FIGURES = ("t", "steps", "dt_min", "dt_max", "_hmax", "_speed", "_veff", "_vol")


def _valley(ny: int = 20, nx: int = 16) -> np.ndarray:
    y, x = np.mgrid[0:ny, 0:nx]
    z = 0.02 * y + 0.05 * np.abs(x - nx / 2) + 0.01 * np.sin(1.3 * x) * np.cos(0.7 * y)
    z[3, 4] = np.nan  # a wall cell
    return z


def _grid_rain(shape: tuple[int, int], n: int = 4, t0: float = 0.0) -> RainSeries:
    rng = np.random.default_rng(1)
    r = rng.gamma(2.0, 20.0, size=(n, *shape)).astype(np.float32)
    r[1, 2, 3] = np.nan  # counts as 0
    r[2, 5, 6] = -4.0  # counts as 0
    r[2, 0, 0] = np.inf  # counts as 0
    return RainSeries(r, t0 + 300.0 * np.arange(n), t0 + 300.0 * n, "grid")


def _uniform_rain() -> RainSeries:
    rates = np.array([40.0, 0.0, 75.0, np.nan], np.float32)
    return RainSeries(rates, 300.0 * np.arange(4), 1200.0, "uniform")


def _pair(z, rain, cfg, bnd=None, **kw) -> tuple[Simulation, Simulation]:
    """(compiled, Python loop) simulations of one set-up."""
    fast = Simulation(z, 10.0, rain, cfg, bnd, **kw)
    slow = Simulation(z, 10.0, rain, cfg, bnd, **kw)
    slow._python_loop = True
    return fast, slow


def _assert_identical(fast: Simulation, slow: Simulation) -> None:
    for name in ("h", "qx", "qy", "_maxd"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    for name in FIGURES:
        assert getattr(fast, name) == getattr(slow, name), name
    assert fast.mass == slow.mass


CASES = {
    "uniform, free edges, speed-aware": (_uniform_rain, SolverConfig(max_step=5.0), "free"),
    "grid, closed edges, depth-only step": (
        lambda: _grid_rain((20, 16)),
        SolverConfig(max_step=5.0, speed_aware_step=False),
        "closed",
    ),
    "grid, rain at step start, level edge": (
        lambda: _grid_rain((20, 16)),
        SolverConfig.lisflood(max_step=7.0),
        "N=level:0.05,S=free",
    ),
    "uniform, float64, rain at step start": (
        _uniform_rain,
        SolverConfig(precision="float64", rain_at_step_start=True, max_step=5.0),
        "S=free",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_compiled_loop_equals_python_loop(case):
    rain, cfg, edges = CASES[case]
    fast, slow = _pair(_valley(), rain(), cfg, Boundaries.parse(edges))
    for until in (250.0, 300.0, 777.7, 1200.0):  # on and between frame times
        fast.advance(until)
        slow.advance(until)
        _assert_identical(fast, slow)
    assert fast._loop is not None and slow._loop is None  # each took its own loop
    assert fast.steps > 100 and fast.h.max() > 0.01
    assert fast._vol["rain"] > 0 and (fast._vol["out"] != 0) == (edges != "closed")


def test_loss_rasters_and_initial_depth():
    z = _valley()
    rng = np.random.default_rng(2)
    cfg = SolverConfig(
        max_step=5.0,
        infiltration_mmh=rng.uniform(0.0, 30.0, z.shape),
        drainage_mmh=5.0,
        strict_limiter=False,
    )
    h0 = np.where(np.isfinite(z), 0.05, 0.0)
    fast, slow = _pair(z, _grid_rain(z.shape), cfg, Boundaries.parse("free"), initial_depth=h0)
    fast.advance(1200.0)
    slow.advance(1200.0)
    _assert_identical(fast, slow)
    assert fast._vol["infil"] > 0 and fast._vol["drain"] > 0


def test_dry_before_the_first_rain_frame():
    """Before the first frame's time the rain is 0 (the Python loop's frame -1)."""
    z = _valley()
    fast, slow = _pair(z, _grid_rain(z.shape, t0=200.0), SolverConfig(max_step=5.0))
    for until in (150.0, 900.0):
        fast.advance(until)
        slow.advance(until)
        _assert_identical(fast, slow)
    assert fast._vol["rain"] > 0


def test_hand_pinned_flat_box():
    """Flat closed 4 x 4 box, 36 mm/h = 1e-5 m/s for 100 s: h = 1 mm everywhere, and while
    h <= the 1 mm threshold every step is max_step (10 steps of 10 s); rain volume =
    1e-5 * 100 m² * 16 * 100 s = 1.6 m³ (the rate in float32: 1e-5 to 7 digits)."""
    rain = RainSeries(np.array([36.0], np.float32), np.zeros(1), math.inf, "box")
    sim = Simulation(np.zeros((4, 4)), 10.0, rain, SolverConfig(max_step=10.0))
    sim.advance(100.0)
    assert sim._loop is not None
    assert sim.steps == 10 and sim.dt_min == sim.dt_max == 10.0 and sim.t == 100.0
    np.testing.assert_allclose(sim.h, 1e-3, rtol=1e-6)
    assert sim._vol["rain"] == pytest.approx(1.6, rel=1e-6)
    assert sim._vol["out"] == 0.0 and sim._vol["clipped"] == 0.0
    assert abs(sim.mass.relative_error) < 1e-6


def test_instability_raises_the_same_error_in_both_loops():
    """A 1e6 m initial depth exceeds the 1e5 m bound after the first step."""
    z = np.zeros((6, 6))
    h0 = np.full(z.shape, 1e6)
    fast, slow = _pair(z, _uniform_rain(), SolverConfig(), initial_depth=h0)
    msgs = []
    for sim in (fast, slow):
        with pytest.raises(SimulationError, match="numerical instability") as err:
            sim.advance(300.0)
        msgs.append(str(err.value))
    assert msgs[0] == msgs[1]
    _assert_identical(fast, slow)
    assert fast.steps == 0 and fast.t == 0.0  # the failed step is not counted


def test_ineligible_runs_keep_the_python_loop():
    z = _valley()
    inflow = PointInflow(10, 8, np.array([0.0, 600.0]), np.array([1.0, 0.0]))
    sim = Simulation(z, 10.0, _uniform_rain(), SolverConfig(), inflows=[inflow])
    sim.advance(300.0)
    assert sim._loop is None
    sim = Simulation(z, 10.0, _uniform_rain(), SolverConfig())
    sim.advance(300.0, on_step=lambda t, dt: None)
    assert sim._loop is None


def test_batch_members_equal_compiled_separate_runs_exactly():
    """The batch (sweep per step) and a compiled single run (kernels.step) share the loop."""
    z = _valley()
    rng = np.random.default_rng(3)
    rain = rng.gamma(2.0, 15.0, size=(2, 3, *z.shape)).astype(np.float32)
    cfg, bnd = SolverConfig(max_step=5.0), Boundaries.parse("free")
    ens = EnsembleSimulation(template_simulation(z, 10.0, cfg, bnd), 2)
    ens.advance(900.0, rain, 0.0, 300.0)
    for m in range(2):
        series = RainSeries(rain[m], 300.0 * np.arange(3), math.inf, "member")
        sim = Simulation(z, 10.0, series, cfg, bnd)
        sim.advance(900.0)
        np.testing.assert_array_equal(ens.h[m], sim.h)
        assert ens.steps[m] == sim.steps
