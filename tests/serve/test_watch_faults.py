"""Watch mode under faults: a NetCDF copied slowly (truncated), empty files, a damaged
state file, and a kill between the maps and the state."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from floodcast.predict.mapper import FloodMapper
from floodcast.serve.live import LivePhysics
from floodcast.serve.maps import MapBoard
from floodcast.serve.watcher import STATE_FILE, Watcher

from .bombs import netcdf3_file
from .conftest import npz_bytes, storm


def _watcher(model_file, dem, watch, state):
    board = MapBoard(dem, FloodMapper.load(model_file), state / "maps", threading.Lock(), n_leads=1)
    return Watcher(watch, state, dem, board, LivePhysics(dem, 0.1), 300.0, poll_s=0.05)


def _poll(w, times=2):
    return sum(w.poll_once() for _ in range(times))


@pytest.fixture
def dirs(tmp_path):
    watch, state = tmp_path / "radar", tmp_path / "state"
    watch.mkdir()
    return watch, state


def test_truncated_netcdf_waits_then_completes(model_file, dem, dirs, tmp_path):
    watch, state = dirs
    rain = storm(2, seed=3)
    full = netcdf3_file(tmp_path / "full.nc", rain).read_bytes()
    w = _watcher(model_file, dem, watch, state)
    path = watch / "radar_000.nc"
    path.write_bytes(full[: len(full) // 2])  # a slow copy, stalled half way
    assert _poll(w, 3) == 0
    assert w.done == [] and w.live.t == 0 and w.frames == 0
    assert not (state / STATE_FILE).exists()  # the state never moved
    (rej,) = w.status()["rejected_files"]
    assert "truncated" in rej["reason"]
    path.write_bytes(full)  # the copy finishes
    os.utime(path, ns=(1, 10**18))
    assert _poll(w) == 1
    assert w.done == ["radar_000.nc"] and w.frames == 2
    assert w.status()["rejected"] == 0  # retried successfully: no longer counted
    np.testing.assert_allclose(np.stack(w.history), rain, rtol=1e-6)


def test_empty_file_reported_then_taken(model_file, dem, dirs):
    watch, state = dirs
    w = _watcher(model_file, dem, watch, state)
    path = watch / "radar_000.npz"
    path.write_bytes(b"")
    assert _poll(w, 3) == 0
    (rej,) = w.status()["rejected_files"]
    assert "0 bytes" in rej["reason"]
    path.write_bytes(npz_bytes(storm(1)))
    assert _poll(w) == 1 and w.status()["rejected"] == 0


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_damaged_state_set_aside_and_fresh_start(model_file, dem, dirs, damage):
    watch, state = dirs
    w = _watcher(model_file, dem, watch, state)
    (watch / "r0.npz").write_bytes(npz_bytes(storm(1)))
    assert _poll(w) == 1
    sp = state / STATE_FILE
    data = sp.read_bytes()
    sp.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"")
    w2 = _watcher(model_file, dem, watch, state)
    assert w2.live.t == 0 and w2.done == []
    assert "not resumed" in w2.errors[0] and "starting afresh" in w2.errors[0]
    kept = state / f"{STATE_FILE}.damaged-1"
    assert kept.exists() and kept.stat().st_size == (len(data) // 2 if damage == "truncated" else 0)
    assert _poll(w2) == 1 and w2.live.t == pytest.approx(300.0)  # re-ingested from scratch


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not caught by ``except Exception``)."""


@pytest.mark.parametrize("where", ["maps", "state"])
def test_kill_mid_update_every_file_has_maps_after_restart(
    model_file, dem, dirs, where, monkeypatch
):
    watch, state = dirs
    rain = storm(2, seed=4)
    (watch / "r0.npz").write_bytes(npz_bytes(rain[:1]))
    w = _watcher(model_file, dem, watch, state)
    assert _poll(w) == 1
    (watch / "r1.npz").write_bytes(npz_bytes(rain[1:]))
    if where == "maps":
        monkeypatch.setattr(w.board, "update", lambda *a, **k: (_ for _ in ()).throw(Killed))
    else:
        monkeypatch.setattr(w, "_save", lambda: (_ for _ in ()).throw(Killed))
    with pytest.raises(Killed):
        _poll(w)
    monkeypatch.undo()
    w2 = _watcher(model_file, dem, watch, state)
    _poll(w2)
    assert w2.done == ["r0.npz", "r1.npz"]
    idx = w2.board.latest()
    r1_unix = (watch / "r1.npz").stat().st_mtime_ns / 1e9
    assert idx["valid_time"] == w2.board.latest()["steps"][-2]["time"]
    assert [s["unix"] for s in idx["steps"] if s["kind"] == "observed"][-1] == pytest.approx(
        r1_unix
    )
    observed = [s["unix"] for s in idx["steps"] if s["kind"] == "observed"]
    assert len(observed) == len(set(observed)) == 2  # each file once

    # and the state is the one of an uninterrupted run
    ref_state = dirs[1].parent / "ref"
    ref = _watcher(model_file, dem, watch, ref_state)
    _poll(ref)
    np.testing.assert_array_equal(ref.live.depth, w2.live.depth)
    assert ref.live.t == w2.live.t
