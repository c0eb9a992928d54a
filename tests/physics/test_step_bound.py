"""The per-face speed-aware step bound (kernels._veff) and hot starts from older states."""

from __future__ import annotations

import math

import numpy as np
import pytest

from floodcast.io.rain import RainSeries
from floodcast.physics import Simulation, SolverConfig
from floodcast.physics import kernels as K

R = 0.7 * 30.0  # cfl * dx


G = 9.80655
R4G = 4 * R * G  # kernels._vscale: 4 cfl dx g


def test_veff_hand_values():
    # pure wave speed: v = c; pure acceleration a = g|S| from rest: v = sqrt(a R)
    s = 8.7 / G  # the slope whose gravity acceleration is 8.7 m/s²
    assert K._veff(5.4, 0.0, R4G, 0.5) == pytest.approx(5.4, rel=1e-12)
    assert K._veff(0.0, s, R4G, 0.5) == pytest.approx(math.sqrt(8.7 * 21.0), rel=1e-12)
    # two faces, one fast (c = 5.4) and one steep thin film (a = 8.7): the old bound took
    # both maxima together, v = (5.4 + sqrt(5.4^2 + 4 * 8.7 * 21)) / 2 = 16.484 -> 1.274 s;
    # per face the film sets v = sqrt(182.7) = 13.517 -> 1.554 s
    old = 21.0 / K._veff(5.4, s, R4G, 0.5)
    new = 21.0 / max(K._veff(5.4, 0.0, R4G, 0.5), K._veff(0.0, s, R4G, 0.5))
    assert old == pytest.approx(1.2740, abs=1e-4)
    assert new == pytest.approx(1.5536, abs=1e-4)


def _plane_sim() -> Simulation:
    z = np.tile(np.linspace(20.0, 0.0, 16), (12, 1))  # 1.33 m drop per 10 m cell: steep
    rain = RainSeries(np.array([80.0], np.float32), np.zeros(1), math.inf, "test")
    return Simulation(z, 10.0, rain, SolverConfig(max_step=5.0))


def test_step_is_the_per_face_bound_and_never_shorter():
    sim = _plane_sim()
    sim.advance(120.0)
    eta = sim.z.astype(np.float64) + sim.h  # the state the next step's bound is taken on
    steps = sim.steps
    sim.advance(sim.t + sim.next_step_limit())
    assert sim.steps == steps + 1
    d = sim.state_dict()
    reach = 0.7 * 10.0
    c = max(math.sqrt(9.80655 * d["hmax"]), d["veff"])
    assert sim.next_step_limit() == pytest.approx(min(5.0, reach / c), rel=1e-12)
    # the old bound, from max speed and max acceleration g|S| over the (nearly) wet interior
    # faces (hflow > thr / 2; the edges are closed), is shorter
    a = 0.0
    for e0, e1, z0, z1 in (
        (eta[:, :-1], eta[:, 1:], sim.z[:, :-1], sim.z[:, 1:]),
        (eta[:-1], eta[1:], sim.z[:-1], sim.z[1:]),
    ):
        hflow = np.maximum(e0, e1) - np.maximum(z0, z1)
        s = np.abs(e1 - e0)[2 * hflow > 1e-3] / 10.0
        a = max(a, 9.80655 * float(s.max(initial=0.0)))
    assert a > 1.0  # steep: the acceleration term matters
    cold = max(math.sqrt(9.80655 * d["hmax"]), d["speed"])
    old = 2 * reach / (cold + math.sqrt(cold * cold + 4 * a * reach))
    assert sim.next_step_limit() >= old


def test_state_without_veff_takes_the_old_bound():
    sim = _plane_sim()
    sim.advance(60.0)
    d = sim.state_dict()
    del d["veff"]
    d["acc"] = 1.5  # as saved before the per-face bound
    other = _plane_sim()
    other.load_state_dict(d)
    reach = 0.7 * 10.0
    c = max(math.sqrt(9.80655 * d["hmax"]), d["speed"])
    old = 2 * reach / (c + math.sqrt(c * c + 4 * 1.5 * reach))
    assert other.next_step_limit() == pytest.approx(min(5.0, old), rel=1e-12)
