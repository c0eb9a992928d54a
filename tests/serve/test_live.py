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
    with pytest.raises(ValueError, match="fingerprint mismatch"):  # at once, not at a frame
        other.restore(arrays)
    assert other.state is None


def _serve_app(monkeypatch, tmp_path, model_file, *surface_args):
    """`floodcast serve --watch ... SURFACE_ARGS` up to the app (uvicorn not started);
    returns the app's server."""
    from typer.testing import CliRunner

    from floodcast.cli import app as cli

    apps = []
    monkeypatch.setattr("uvicorn.run", lambda api, **kw: apps.append(api))
    (tmp_path / "watch").mkdir(exist_ok=True)
    args = ["serve", "--model", str(model_file), "--dem", str(tmp_path / "dem.tif")]
    args += ["--watch", str(tmp_path / "watch"), "--state", str(tmp_path / "state")]
    r = CliRunner().invoke(cli, [*args, "--no-realtime-check", *surface_args])
    assert r.exit_code == 0, r.output
    return apps[0].state.server


def _serve_live(monkeypatch, tmp_path, model_file, *surface_args) -> LivePhysics:
    """The live solver `floodcast serve --watch ... SURFACE_ARGS` builds."""
    return _serve_app(monkeypatch, tmp_path, model_file, *surface_args).watcher.live


def test_serve_cli_runs_live_physics_on_the_manning_raster(monkeypatch, tmp_path, model_file, dem):
    """--manning FILE / --landcover + --manning-table / --infiltration reach the live solver:
    a road | thicket split of the valley gives other depths than the raster's mean n."""
    from floodcast.io.geotiff import write_geotiff

    write_geotiff(tmp_path / "dem.tif", dem.elevation, dem)
    west = np.arange(dem.shape[1]) < dem.shape[1] // 2
    n = np.where(west, 0.015, 0.1) * np.ones((dem.shape[0], 1))
    write_geotiff(tmp_path / "n.tif", n, dem)
    live = _serve_live(monkeypatch, tmp_path, model_file, "--manning", str(tmp_path / "n.tif"))
    np.testing.assert_allclose(live.config.manning, n, rtol=1e-6)  # (float32 GeoTIFF)
    frame = storm(1, seed=10, peak=80.0)[0]
    depth = live.advance(frame, 900.0)
    mean = LivePhysics(dem, surface={"manning": float(n.mean())}).advance(frame, 900.0)
    # the valley floor ponds behind the thicket: 3.0 cm against 1.9 cm with the mean n
    assert float(depth.max()) > float(mean.max()) + 0.005
    # classes 1 | 2 through a table, and a loss: the same n, 2 mm/h infiltrated
    write_geotiff(tmp_path / "lc.tif", np.where(west, 1, 2) * np.ones((dem.shape[0], 1)), dem)
    (tmp_path / "n.csv").write_text("class,n,name\n1,0.015,road\n2,0.1,thicket\n")
    live = _serve_live(
        monkeypatch,
        tmp_path,
        model_file,
        *("--landcover", str(tmp_path / "lc.tif"), "--manning-table", str(tmp_path / "n.csv")),
        *("--infiltration", "2"),
    )
    np.testing.assert_allclose(live.config.manning, n, rtol=1e-6)
    assert live.config.infiltration_mmh == 2.0
    assert float(live.advance(frame, 900.0).sum()) < float(depth.sum())  # water infiltrated


def test_serve_cli_refuses_unknown_landcover_classes(monkeypatch, tmp_path, model_file, dem):
    from typer.testing import CliRunner

    from floodcast.cli import app as cli
    from floodcast.io.geotiff import write_geotiff

    write_geotiff(tmp_path / "dem.tif", dem.elevation, dem)
    write_geotiff(tmp_path / "lc.tif", np.full(dem.shape, 7.0), dem)
    monkeypatch.setattr("uvicorn.run", lambda api, **kw: None)
    args = ["serve", "--model", str(model_file), "--dem", str(tmp_path / "dem.tif")]
    r = CliRunner().invoke(cli, [*args, "--landcover", str(tmp_path / "lc.tif")])
    assert r.exit_code == 1 and "7 (1920 cells)" in r.output, r.output


def test_restart_with_another_surface_starts_afresh(model_file, dem, tmp_path):
    """A watch state saved with one Manning raster is set aside (reported) when the server
    restarts with another n, instead of failing on every new radar file."""
    import threading

    from floodcast.predict.mapper import FloodMapper
    from floodcast.serve.maps import MapBoard
    from floodcast.serve.watcher import Watcher

    from .conftest import npz_bytes

    watch, state = tmp_path / "radar", tmp_path / "state"
    watch.mkdir()
    mapper = FloodMapper.load(model_file)

    def watcher(live):
        board = MapBoard(dem, mapper, state / "maps", threading.Lock(), n_leads=1)
        return Watcher(watch, state, dem, board, live, 300.0, poll_s=0.05)

    n = np.where(np.arange(dem.shape[1]) < dem.shape[1] // 2, 0.015, 0.1)
    w = watcher(LivePhysics(dem, surface={"manning": n * np.ones((dem.shape[0], 1))}))
    (watch / "a.npz").write_bytes(npz_bytes(storm(1, seed=11, peak=60.0)))
    while not w.poll_once():
        pass
    assert w.live.t == 300.0
    again = watcher(LivePhysics(dem))  # restarted with the default uniform n
    assert again.live.t == 0.0 and "fingerprint mismatch" in again.errors[0]


def test_serve_live_ensemble_runs_on_the_live_surface(monkeypatch, tmp_path, model_file, dem):
    """serve --manning FILE: the live ensemble's members are solved on the live solver's
    n raster (its config, through the background cycle's snapshot), not the default n."""
    import floodcast.serve.live_ensemble as le
    from floodcast.io.geotiff import write_geotiff
    from floodcast.predict.flood_nowcast import run_ensemble
    from floodcast.serve.live_cycle import snapshot

    write_geotiff(tmp_path / "dem.tif", dem.elevation, dem)
    n = np.where(np.arange(dem.shape[1]) < dem.shape[1] // 2, 0.015, 0.1) * np.ones(
        (dem.shape[0], 1)
    )
    write_geotiff(tmp_path / "n.tif", n, dem)
    srv = _serve_app(monkeypatch, tmp_path, model_file, "--manning", str(tmp_path / "n.tif"))
    live, ens = srv.watcher.live, srv.ensemble.ens
    assert ens.live is live
    frames = storm(2, seed=11, peak=80.0)
    for fr in frames:
        live.advance(fr, 300.0)
    seen = []

    def spy(*a, **kw):
        seen.append(a)
        return run_ensemble(*a, **kw)

    monkeypatch.setattr(le, "run_ensemble", spy)
    res = ens.cycle(frames, 300.0, live=snapshot(live))  # 2 frames: one extrapolation
    (args,) = seen
    np.testing.assert_allclose(args[6].manning, n, rtol=1e-6)  # the config passed
    z, cell, state, fc, interval, thr = args[:6]
    assert res.members == 1 and state is not None
    with pytest.raises(ValueError, match="fingerprint mismatch"):  # the live state is the n's
        run_ensemble(z, cell, state, fc, interval, thr)  # the default n
    wet = {m: run_ensemble(z, cell, None, fc, interval, thr, c, args[7]).mean_depth for m, c in
           (("raster", args[6]), ("default", None))}  # fmt: skip
    assert not np.array_equal(wet["raster"], wet["default"])  # and the n changes the members
