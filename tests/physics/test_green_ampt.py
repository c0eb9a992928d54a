"""Green–Ampt infiltration against the implicit ponded solution F(t), and its ledger.

Ponded infiltration from F(0) = 0 obeys F - S ln(1 + F/S) = Ks t (S = psi * dtheta; e.g.
Chow, Maidment & Mays 1988, Applied Hydrology, eq. 4.3.8). Silt loam of Rawls et al. (1983)
(Chow et al. Table 4.3.1 / Example 4.3.1): Ks = 0.65 cm/h, psi = 16.68 cm, porosity 0.486,
effective saturation 0.3 -> dtheta = (1 - 0.3) * 0.486 = 0.340. Chow et al. Example 4.3.1
gives F = 3.17 cm after 1 h of ponding (our bisection root: 3.1693 cm).
"""

from __future__ import annotations

import numpy as np
import pytest

from floodcast.io.rain import RainSeries
from floodcast.physics import Boundaries, Simulation, SolverConfig
from floodcast.physics.green_ampt import GreenAmpt, capacity, cumulative_ponded

KS_MMH, PSI_MM, DEFICIT = 6.5, 166.8, 0.486 * 0.7


def _no_rain() -> RainSeries:
    return RainSeries(np.zeros(1, np.float32), np.zeros(1), np.inf, "none")


def test_implicit_solution_matches_chow_example():
    assert cumulative_ponded(3600.0, KS_MMH, PSI_MM, DEFICIT) == pytest.approx(31.7, abs=0.05)
    # one exact step of the solver's increment from 0 equals the implicit solution
    f = capacity(0.0, KS_MMH / 3.6e6, PSI_MM * 1e-3 * DEFICIT, 3600.0) * 1e3
    assert f == pytest.approx(cumulative_ponded(3600.0, KS_MMH, PSI_MM, DEFICIT), rel=1e-9)


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_ponded_infiltration_follows_implicit_green_ampt(precision):
    h0 = 0.5  # deep ponding on a flat closed basin: stays ponded for the whole run
    soil = GreenAmpt(KS_MMH, PSI_MM, DEFICIT)
    sim = Simulation(
        np.zeros((4, 5)),
        10.0,
        _no_rain(),
        SolverConfig(soil=soil, max_step=30.0, precision=precision),
        Boundaries.parse("closed"),
        initial_depth=np.full((4, 5), h0),
    )
    area = 20 * 100.0
    for t in (60.0, 600.0, 1800.0, 3600.0, 7200.0):
        sim.advance(t)
        want = cumulative_ponded(t, KS_MMH, PSI_MM, DEFICIT) * 1e-3  # m
        got = sim.mass.infiltration_m3 / area
        assert got == pytest.approx(want, rel=0.01), (t, got, want)  # issue bar: < 1 %
        assert np.allclose(sim.state_dict()["soil_infiltrated_m"], want, rtol=1e-4)
        assert np.allclose(sim.h, h0 - want, atol=1e-5 if precision == "float32" else 1e-9)
    assert sim.mass.relative_error < (1e-6 if precision == "float32" else 1e-12)


def test_green_ampt_limited_by_water_and_hot_start(rng):
    z = rng.uniform(0.0, 0.3, (12, 12))
    rain = RainSeries(np.array([40.0, 0.0], np.float32), np.array([0.0, 600.0]), np.inf, "r")
    soil = GreenAmpt(np.full(z.shape, 5.0), 110.0, np.where(z > 0.15, 0.3, 0.1))
    cfg = SolverConfig(soil=soil, precision="float64")
    a = Simulation(z, 5.0, rain, cfg, Boundaries.parse("S=free"))
    a.advance(900.0)  # the same step sequence as b + c
    a.advance(1800.0)
    m = a.mass
    assert 0 < m.infiltration_m3 < m.rain_in_m3 and m.relative_error < 1e-9
    b = Simulation(z, 5.0, rain, cfg, Boundaries.parse("S=free"))
    b.advance(900.0)
    c = Simulation(z, 5.0, rain, cfg, Boundaries.parse("S=free"))
    c.load_state_dict(b.state_dict())
    c.advance(1800.0)
    assert np.array_equal(a.h, c.h) and a.mass == c.mass


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"ks_mmh": -1.0}, r"ks_mmh must be finite and >= 0, got -1"),
        ({"deficit": 1.5}, r"deficit must be finite and \[0, 1\], got 1.5"),
        ({"deficit": np.array([[0.2, -0.1]])}, r"got -0.1 at cell \(row 0, col 1\)"),
    ],
)
def test_soil_out_of_physical_range(kw, match):
    args = {"ks_mmh": 5.0, "psi_mm": 100.0, "deficit": 0.3, **kw}
    with pytest.raises(ValueError, match=match):
        GreenAmpt(**args)
