"""Watch mode's radar-grid window for STEPS: kept per file, reset on a new grid or a rain
file, saved with the watcher's state; the live ensemble runs STEPS on it (real MeteoSwiss
and FMI frames) and regrids the members onto the DEM."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
from affine import Affine

from floodcast import defaults
from floodcast.io.radar import RadarSequence
from floodcast.serve.live import LivePhysics
from floodcast.serve.live_ensemble import LiveEnsemble
from floodcast.serve.maps import MapBoard
from floodcast.serve.radar_window import RADAR_HISTORY, RadarWindow
from floodcast.serve.watch_inputs import read_drop
from floodcast.serve.watcher import Watcher

from .test_watch_radar import _dem_where_it_rains, _frames

T0 = 1431715800  # 2015-05-15T18:50:00Z


def _seq(unix: list[int], value: float = 1.0, x0: float = 0.0, source="mch") -> RadarSequence:
    n = len(unix)
    rain = np.full((n, 4, 5), value, np.float32) + np.arange(n, dtype=np.float32)[:, None, None]
    times = np.array(unix, "datetime64[s]")
    return RadarSequence(rain, times, Affine(1000, 0, x0, 0, -1000, 0), "EPSG:21781", 1000, source)


def test_window_keeps_the_last_frames_of_one_grid_after_the_last_gap():
    w = RadarWindow()
    for k in range(6):
        w.add(_seq([T0 + 300 * k], value=10.0 * k))
    assert len(w) == RADAR_HISTORY == 4
    seq = w.sequence()
    assert seq.times.astype(np.int64).tolist() == [T0 + 300 * k for k in range(2, 6)]
    assert seq.rain_mmh[:, 0, 0].tolist() == [20.0, 30.0, 40.0, 50.0]
    w.add(_seq([T0 + 300 * 5]))  # the same time again (a re-sent file): not a new frame
    assert len(w) == 4
    w.add(_seq([T0 + 300 * 8], value=80.0))  # 10 min missing: STEPS starts after the gap
    assert w.sequence().times.astype(np.int64).tolist() == [T0 + 2400]
    w.add(_seq([T0 + 300 * 9], x0=5000.0))  # another window: frames of two grids never mix
    assert len(w) == 1 and w.grid["transform"][2] == 5000.0


def test_window_state_round_trip_and_a_mismatch_is_refused():
    w = RadarWindow()
    w.add(_seq([T0, T0 + 300, T0 + 600]))
    meta, arrays = w.to_state()
    back = RadarWindow()
    back.restore(meta, arrays)
    assert back.grid == w.grid and len(back) == 3
    np.testing.assert_array_equal(back.sequence().rain_mmh, w.sequence().rain_mmh)
    assert back.sequence().transform == w.sequence().transform
    back.restore({}, {})  # a state file written before the window existed
    assert len(back) == 0 and back.sequence() is None
    with pytest.raises(ValueError, match="does not match its metadata"):
        back.restore({**meta, "unix": meta["unix"][:2]}, arrays)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "folder,pattern,source", [("mch", "*.gif", "mch"), ("fmi/pgm", "*.pgm.gz", "fmi")]
)
def test_live_cycle_runs_steps_on_the_radar_grid(shared_data, folder, pattern, source):
    """MeteoSwiss 2015-05-15 18:45-18:55 on 64 x 64 cells of 50 m: rain moves ~44 cells a
    step, so on the DEM grid pysteps' alignment left the oldest frame all NaN and STEPS
    failed ("x contains non-finite values"); on the radar window it runs."""
    files = _frames(shared_data, folder, pattern, 6)
    dem = _dem_where_it_rains(files, source, shape=(64, 64))
    live, window, hist = LivePhysics(dem), RadarWindow(), []
    for f in files[2:5]:
        drop = read_drop(f, dem, 300.0, source)
        window.add(drop.radar)
        hist.extend(drop.rin.frames)
        live.advance(drop.rin.frames[-1], drop.rin.interval_s)
    seq = window.sequence()
    assert len(seq.times) == 3 and seq.cell_size == pytest.approx(1000.0, rel=1e-3)
    # the window of nowcast --radar: DEM (3.2 km) + 60 km each side at 1 km, within the radar
    assert min(seq.shape[1:]) > 60 and np.isnan(seq.rain_mmh).any() == (source == "mch")
    ens = LiveEnsemble(live, members=2, n_steps=2, thresholds=(0.01,), seed=7, dem=dem)
    res = ens.cycle(np.stack(hist), 300.0, radar=seq)
    st = ens.status()
    assert st["method"] == defaults.ENSEMBLE_METHOD and st["steps_fallbacks"] == 0
    assert st["steps_grid"] == f"radar {seq.shape[1]}x{seq.shape[2]} cells of 1000 m"
    assert res.members == 2 and res.probability.shape == (2, 1, 64, 64)  # regridded to DEM
    assert np.isfinite(res.rain_mean_mmh).all() and 0.0 <= st["unknown_rain_fraction"] < 1.0
    assert 0 < st["steps_s"] <= st["cycle_s"]


@pytest.mark.shared_data
def test_restart_keeps_the_radar_window_and_rain_files_clear_it(shared_data, tmp_path):
    from .conftest import npz_bytes, storm

    files = _frames(shared_data, "mch", "*.gif", 3)
    dem = _dem_where_it_rains(files, "mch")
    watch, state = tmp_path / "radar", tmp_path / "state"
    watch.mkdir()
    seen = []

    def watcher():
        board = MapBoard(dem, None, state / "maps", threading.Lock(), n_leads=1)
        on_state = lambda live, h, unix, dt, radar=None: seen.append(radar)  # noqa: E731
        return Watcher(watch, state, dem, board, LivePhysics(dem), 300.0, 0.05, None, "mch",
                       on_state)  # fmt: skip

    for f in files[:2]:
        shutil.copy(f, watch / f.name)
    w = watcher()
    assert sum(w.poll_once() for _ in range(2)) == 2 and len(w.radar) == 2
    for f in files[:2]:
        (watch / f.name).unlink()  # a feed that prunes its folder: the state must carry it
    shutil.copy(files[2], watch / files[2].name)
    w2 = watcher()  # a restarted server
    assert len(w2.radar) == 2 and w2.radar.grid == w.radar.grid
    assert sum(w2.poll_once() for _ in range(2)) == 1
    seq = seen[-1]
    assert seq.times.astype(np.int64).tolist() == [T0, T0 + 300, T0 + 600]
    np.testing.assert_array_equal(seq.rain_mmh[:2], w.radar.sequence().rain_mmh, strict=True)
    # a rain file already on the DEM grid: STEPS goes back to the DEM grid (no window)
    (watch / "z_rain.npz").write_bytes(npz_bytes(storm(1, shape=dem.shape)))
    assert sum(w2.poll_once() for _ in range(2)) == 1
    assert seen[-1] is None and len(w2.radar) == 0
