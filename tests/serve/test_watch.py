"""Watch mode: files are ingested when complete, bad ones skipped and reported, restarts
resume; through the app, /maps/latest shows model and physics maps and their CSI."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from floodcast.predict.mapper import FloodMapper
from floodcast.serve import ServeConfig, create_app
from floodcast.serve.live import LivePhysics
from floodcast.serve.maps import MapBoard
from floodcast.serve.watcher import Watcher

from .conftest import FRAMES, npz_bytes, storm


def _drop(folder, name: str, rain: np.ndarray) -> None:
    """Write like a radar feed would: under a hidden name, then rename into place."""
    tmp = folder / f".{name}"
    tmp.write_bytes(npz_bytes(rain))
    tmp.rename(folder / name)


def _watcher(model_file, dem, watch, state, leads=1):
    mapper = FloodMapper.load(model_file)
    board = MapBoard(dem, mapper, state / "maps", threading.Lock(), n_leads=leads)
    return Watcher(watch, state, dem, board, LivePhysics(dem, 0.1), 300.0, poll_s=0.05)


def _poll(w: Watcher, times: int = 2) -> int:
    return sum(w.poll_once() for _ in range(times))


def test_ingest_skip_corrupt_partial_and_resume(model_file, dem, tmp_path):
    watch, state = tmp_path / "radar", tmp_path / "state"
    watch.mkdir()
    rain = storm(5, seed=1)
    w = _watcher(model_file, dem, watch, state)
    for k in range(2):
        _drop(watch, f"radar_{k:03d}.npz", rain[k : k + 1])
    (watch / "radar_002.npz").write_bytes(b"PK\x03\x04 this is not a zip")  # corrupt
    (watch / "radar_003.npz.part").write_bytes(b"half")  # partial, by name
    (watch / ".radar_004.npz").write_bytes(b"hidden")
    (watch / "notes.txt").write_text("not radar")
    assert _poll(w) == 2
    assert w.done == ["radar_000.npz", "radar_001.npz"] and w.frames == 2
    st = w.status()
    assert st["rejected"] == 1 and st["rejected_files"][0]["name"] == "radar_002.npz"
    assert "radar_002.npz" in st["rejected_files"][0]["reason"]
    assert "waiting for 3 radar frames" in st["model"]
    t_after_two = w.live.t
    assert t_after_two == pytest.approx(600.0)

    # a file that is still growing is not taken until its size settles
    growing = watch / "radar_005.npz"
    data = npz_bytes(rain[2:3])
    growing.write_bytes(data[: len(data) // 2])
    assert w.poll_once() == 0
    growing.write_bytes(data)
    assert _poll(w) == 1 and w.done[-1] == "radar_005.npz"
    idx = w.board.latest()
    assert idx["model"] == "ok" and [s["kind"] for s in idx["steps"]][-2:] == [
        "observed",
        "nowcast",
    ]
    assert "0" in idx["csi"] and idx["physics"]["advance_s"] > 0
    assert all((state / "maps" / s["flood"].rsplit("/", 1)[1]).exists() for s in idx["steps"])

    # restart: the state file brings back time, history and the files already used
    depth = w.live.depth.copy()
    w2 = _watcher(model_file, dem, watch, state)
    assert w2.live.t == pytest.approx(900.0) and len(w2.history) == FRAMES
    np.testing.assert_array_equal(w2.live.depth, depth)
    assert _poll(w2) == 0  # nothing new (the corrupt file is reported again, not ingested)
    _drop(watch, "radar_006.npz", rain[3:4])
    assert _poll(w2) == 1 and w2.live.t == pytest.approx(1200.0)
    assert w2.board.latest()["seq"] == w.board.latest()["seq"] + 1


def test_bad_state_file_starts_afresh(model_file, dem, tmp_path):
    watch, state = tmp_path / "radar", tmp_path / "state"
    watch.mkdir()
    state.mkdir()
    (state / "watch_state.npz").write_bytes(b"garbage")
    w = _watcher(model_file, dem, watch, state)
    assert w.live.t == 0 and "not resumed" in w.errors[0]


def test_app_watch_mode_end_to_end(model_file, dem, tmp_path):
    watch, state = tmp_path / "radar", tmp_path / "state"
    watch.mkdir()
    for k, fr in enumerate(storm(FRAMES, seed=2)):
        _drop(watch, f"r{k}.npz", fr[None])
    cfg = ServeConfig(
        model_file, dem, watch_dir=watch, state_dir=state, n_leads=2, poll_s=0.05, ensemble=0
    )  # the live ensemble: test_live_cycle.py
    with TestClient(create_app(cfg)) as client:
        deadline = time.time() + 120
        idx = {}
        while time.time() < deadline:
            idx = client.get("/maps/latest").json()
            if (
                idx.get("available")
                and idx["status"]["watch"]["files"] == FRAMES
                and idx.get("model") == "ok"
            ):
                break
            time.sleep(0.2)
        assert idx["status"]["watch"]["files"] == FRAMES, idx
        assert [s["kind"] for s in idx["steps"]].count("nowcast") == 2
        assert set(idx["csi"]) == {"0", "5", "10"}
        assert client.get(idx["steps"][-1]["radar"]).status_code == 200
        text = client.get("/metrics").text
        assert "floodcast_physics_keeps_up 1.0" in text
        assert 'floodcast_model_physics_csi{lead_min="0"}' in text
        assert "floodcast_watch_frames 3.0" in text
        assert client.get("/maps/latest?format=geojson").status_code == 200
        assert idx["ensemble"] is None and "floodcast_ensemble_members_run" not in text
