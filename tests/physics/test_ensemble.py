"""The batched ensemble kernel equals members run one by one with the scalar solver."""

from __future__ import annotations

import numpy as np
import pytest

from floodcast.physics.boundaries import Boundaries
from floodcast.physics.ensemble import EnsembleSimulation, run_separately, template_simulation
from floodcast.physics.solver import SolverConfig


def _valley(ny=24, nx=20):
    y, x = np.mgrid[0:ny, 0:nx]
    z = 0.02 * y + 0.05 * np.abs(x - nx / 2)  # a V-valley draining south
    z[3, 4] = np.nan  # a wall cell
    return z


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_batch_equals_separate_runs(precision):
    rng = np.random.default_rng(0)
    z = _valley()
    cfg = SolverConfig(precision=precision, max_step=5.0)
    bnd = Boundaries.parse("free")
    rain = rng.gamma(2.0, 15.0, size=(4, 3) + z.shape).astype(np.float32)  # [M, T, y, x]
    rain[1] *= 3.0  # members differ: different step sequences
    rain[2, 1] = np.nan  # NaN rain counts as 0 in both
    # hot start from a wet state so members start from flow, not a dry grid
    warm = template_simulation(z, 10.0, cfg, bnd)
    ens0 = EnsembleSimulation(warm, 1)
    ens0.advance(300.0, rain[:1, :1] + 20.0, 0.0, 300.0)
    state = ens0.member_state(0)
    ens = EnsembleSimulation(template_simulation(z, 10.0, cfg, bnd, state), 4)
    ens.advance(300.0 + 900.0, rain, 300.0, 300.0)
    ref = run_separately(z, 10.0, cfg, bnd, state, rain, 300.0, 1200.0)
    assert np.all(ens.t == 1200.0)
    assert ens.depth.max() > 0.01
    assert len(set(ens.steps.tolist())) > 1  # members took different numbers of steps
    tol = 1e-6 if precision == "float32" else 1e-12
    np.testing.assert_allclose(ens.depth, ref, rtol=0, atol=tol)


def test_ensemble_rejects_bad_rain_shape():
    sim = template_simulation(_valley(), 10.0)
    ens = EnsembleSimulation(sim, 2)
    with pytest.raises(ValueError, match="rain"):
        ens.advance(600.0, np.zeros((3, 2, 24, 20), np.float32), 0.0, 300.0)
    with pytest.raises(ValueError, match="n_members"):
        EnsembleSimulation(sim, 0)
