"""Live ensemble cycle: from the live solver's state, members cut to fit the interval."""

from __future__ import annotations

import numpy as np

from floodcast import defaults
from floodcast.io.dem import Dem
from floodcast.serve.live import LivePhysics
from floodcast.serve.live_ensemble import LiveEnsemble


def _blobs(nt, n=32):
    yy, xx = np.mgrid[0:n, 0:n].astype(float)
    return np.stack(
        [60 * np.exp(-((yy - 12 - t) ** 2 + (xx - 12 - t) ** 2) / 50.0) for t in range(nt)]
    ).astype(np.float32)


def test_cycle_from_live_state_and_member_budget():
    z = 100 + np.add.outer(np.arange(32) * 0.3, np.abs(np.arange(32) - 16) * 0.4)
    live = LivePhysics(Dem(z.astype(np.float32), 100.0))
    frames = _blobs(4)
    for fr in frames:
        live.advance(fr, 300.0)
    ens = LiveEnsemble(live, members=3, n_steps=2, thresholds=(0.05,))
    res = ens.cycle(frames, 300.0)
    assert res.members == 3 and res.probability.shape == (2, 1, 32, 32)
    np.testing.assert_array_equal(res.depth0, live.depth)  # starts from the live state
    st = ens.status()
    assert st["members_run"] == 3 and not st["reduced"] and st["realtime_factor"] > 0
    # a cycle that would not fit in the interval runs fewer members next time
    ens.per_member_s = 100.0
    assert ens.plan(300.0) == 1
    res = ens.cycle(frames, 300.0)
    assert res.members == 1 and ens.status()["reduced"]


def test_steps_failure_falls_back_to_extrapolation_and_is_not_a_cut(monkeypatch):
    """The last resort: should STEPS still fail (it did on the DEM grid when rain crossed it
    within two intervals; radar now runs on its own grid, test_radar_window), the cycle runs
    deterministic extrapolation, says why and counts it."""
    import floodcast.predict.nowcast as nc

    real = nc.extrapolate

    def steps_fails(frames, n_steps, method="extrapolation", **kw):
        if method != "extrapolation":
            raise ValueError("x contains non-finite values")
        return real(frames, n_steps, method=method, **kw)

    monkeypatch.setattr(nc, "extrapolate", steps_fails)
    z = 100 + np.add.outer(np.arange(32) * 0.3, np.abs(np.arange(32) - 16) * 0.4)
    live = LivePhysics(Dem(z.astype(np.float32), 100.0))
    ens = LiveEnsemble(live, members=3, n_steps=2, thresholds=(0.05,))
    res = ens.cycle(_blobs(3), 300.0)
    st = ens.status()
    assert res.members == 1 and st["members_run"] == 1 and st["reduced"] is False
    name = defaults.ENSEMBLE_METHOD.upper()
    assert st["method"] == f"extrapolation ({name} failed: x contains non-finite values)"
    assert st["steps_fallbacks"] == 1 and st["steps_grid"] == "DEM"


def test_sseps_fallback_to_steps_members_is_reported(monkeypatch):
    """Where SSEPS cannot fit the field the members are STEPS's: the status names steps
    (the method that ran), it is not a last-resort fallback and not a member cut."""
    import floodcast.predict.nowcast_sseps as ns
    from floodcast.errors import InputError

    def fails(*a, **k):
        raise InputError("a local window is too smooth")

    monkeypatch.setattr(ns, "sseps_db", fails)
    monkeypatch.setattr(defaults, "ENSEMBLE_METHOD", "sseps")
    z = 100 + np.add.outer(np.arange(32) * 0.3, np.abs(np.arange(32) - 16) * 0.4)
    live = LivePhysics(Dem(z.astype(np.float32), 100.0))
    ens = LiveEnsemble(live, members=2, n_steps=2, thresholds=(0.05,))
    res = ens.cycle(_blobs(3), 300.0)
    st = ens.status()
    assert res.members == 2 and st["method"] == "steps"
    assert st["steps_fallbacks"] == 0 and st["reduced"] is False
