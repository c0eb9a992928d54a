"""Live physics: hot start through the saved state equals an uninterrupted run; the
forecast leaves the state alone; the real-time check reports its figures."""

from __future__ import annotations

import math

import numpy as np
import pytest

from floodcast.serve.live import LivePhysics, realtime_check

from .conftest import storm


def test_restore_continues_exactly(dem):
    rain = storm(4, seed=5, peak=60.0)
    a = LivePhysics(dem)
    for fr in rain:
        a.advance(fr, 300.0)
    b = LivePhysics(dem)
    for fr in rain[:2]:
        b.advance(fr, 300.0)
    c = LivePhysics(dem)  # "restarted server": state read back from arrays
    c.restore({k: np.array(v) for k, v in b.to_arrays().items()})
    for fr in rain[2:]:
        c.advance(fr, 300.0)
    assert c.t == a.t == pytest.approx(1200.0)
    np.testing.assert_allclose(c.depth, a.depth, rtol=0, atol=1e-6)
    assert a.depth.max() > 0.0


def test_forecast_does_not_touch_the_state(dem):
    live = LivePhysics(dem)
    live.advance(storm(1, seed=6)[0], 300.0)
    before = {k: np.copy(v) for k, v in live.to_arrays().items()}
    leads = live.forecast(storm(3, seed=7), 300.0)
    assert len(leads) == 3 and leads[-1].shape == dem.shape
    assert float(leads[-1].sum()) > float(live.depth.sum())  # more rain, more water
    for k, v in live.to_arrays().items():
        np.testing.assert_array_equal(v, before[k])
    st = live.status()
    assert st["t_s"] == 300.0 and st["cells"] == dem.elevation.size


def test_restore_refuses_another_grid(dem):
    live = LivePhysics(dem)
    live.advance(storm(1)[0], 300.0)
    from floodcast.io.dem import Dem

    other = LivePhysics(Dem(np.zeros((10, 12), np.float32), 50.0))
    with pytest.raises(ValueError, match="does not match"):
        other.restore(live.to_arrays())


def test_realtime_check_small():
    r = realtime_check(size=48, n_intervals=1, peak_mmh=40.0)
    assert r["cells"] == 48 * 48 and len(r["advance_s_all"]) == 1
    assert r["advance_s"] > 0 and math.isfinite(r["realtime_factor"])
    assert r["keeps_up"] == (r["advance_s"] < 300.0)


def test_live_physics_with_a_manning_raster_and_its_fingerprint(dem, tmp_path):
    n = np.where(np.arange(dem.shape[1]) < dem.shape[1] // 2, 0.015, 0.1) * np.ones(
        (dem.shape[0], 1)
    )
    a = LivePhysics(dem, surface={"manning": n, "infiltration_mmh": 2.0})
    a.advance(storm(1, seed=8, peak=60.0)[0], 300.0)
    np.savez(tmp_path / "state.npz", **a.to_arrays())  # the fingerprint (a str) round-trips
    with np.load(tmp_path / "state.npz") as z:
        arrays = {k: z[k] for k in z.files}
    same = LivePhysics(dem, surface={"manning": n, "infiltration_mmh": 2.0})
    same.restore(arrays)
    same.advance(storm(1, seed=9)[0], 300.0)
    other = LivePhysics(dem)  # uniform n: the saved state belongs to another set-up
    other.restore(arrays)
    with pytest.raises(ValueError, match="fingerprint mismatch"):
        other.advance(storm(1, seed=9)[0], 300.0)
