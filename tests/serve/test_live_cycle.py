"""Live ensemble in watch mode: cycles run in the background on the newest state, their
probability maps reach /maps/latest and the page's files, their status /metrics."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from floodcast.serve import ServeConfig, create_app
from floodcast.serve.live import LivePhysics
from floodcast.serve.live_cycle import EnsembleRunner
from floodcast.serve.live_ensemble import LiveEnsemble

from ..predict.test_alerts import receiver  # noqa: F401  (a fixture: a local HTTP endpoint)
from .conftest import FRAMES, npz_bytes, storm

T0 = 1704110400.0  # 2024-01-01T12:00:00Z


def _runner(live, members, lead_min, thresholds, folder, dem) -> EnsembleRunner:
    ens = LiveEnsemble(live, members=members, thresholds=thresholds)
    return EnsembleRunner(ens, folder, lead_min, dem.cell_size**2)


def _wait(pred, timeout=120.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


def _storm_folder(tmp_path, peak: float):
    """A watch folder of FRAMES hourly radar files from 12:00 (the last one 14:00)."""
    watch = tmp_path / "radar"
    watch.mkdir()
    for k, fr in enumerate(storm(FRAMES, seed=2, peak=peak)):
        (watch / f"radar_20240101{12 + k:02d}00.npz").write_bytes(npz_bytes(fr[None]))
    return watch


def _after_the_last_cycle(client, analysis_time: str = "2024-01-01T14:00:00Z") -> dict:
    """The /maps/latest index once the ensemble has cycled on the last frame."""

    def done():
        e = client.get("/maps/latest").json().get("ensemble") or {}
        return e.get("analysis_time") == analysis_time and not e["status"]["busy"]

    assert _wait(done), client.get("/maps/latest").json()
    return client.get("/maps/latest").json()


def test_runner_newest_state_wins_and_maps_are_indexed(dem, tmp_path):
    live = LivePhysics(dem)
    rain = storm(3, shape=dem.shape, seed=3, peak=80.0)
    run = _runner(live, 2, 10.0, (0.01, 0.1), tmp_path / "maps", dem)
    run.submit(live, rain[:1], 0.0, 300.0)  # one frame: no motion, nothing queued
    assert run.status()["waiting"] == "waiting for 2 radar frames (have 1)"
    for k, fr in enumerate(rain):
        live.advance(fr, 300.0)
        if k:
            run.submit(live, rain[: k + 1], T0 + 300.0 * k, 300.0)
    assert run.status()["cycles_skipped"] == 1  # the worker had not started: only the newest
    run.start()
    try:
        assert _wait(lambda: run.index.get("seq") == 1 and not run.busy), run.status()
    finally:
        run.stop()
    idx = run.latest()
    assert idx["analysis_unix"] == T0 + 600.0 and idx["analysis_time"] == "2024-01-01T12:10:00Z"
    assert [r["lead_min"] for r in idx["leads"]] == [5.0, 10.0]
    assert [r["time"] for r in idx["leads"]] == ["2024-01-01T12:15:00Z", "2024-01-01T12:20:00Z"]
    st = idx["status"]
    assert st["members_run"] == 2 and st["reduced"] is False and st["cycles"] == 1
    assert st["realtime_factor"] > 0 and st["error"] is None
    lead = idx["leads"][-1]
    assert set(lead["probability"]) == {"0.01", "0.1"}
    png = tmp_path / "maps" / lead["probability"]["0.01"].rsplit("/", 1)[1]
    assert png.read_bytes()[:4] == b"\x89PNG"
    # probabilities are fractions of 2 members; area with P >= 0.5 in km2 of 50 m cells
    assert lead["max_probability"]["0.01"] in (0.0, 0.5, 1.0)
    assert lead["area_p50_km2"]["0.01"] == pytest.approx(
        round(lead["area_p50_km2"]["0.01"] / 0.0025) * 0.0025
    )


def test_runner_reports_a_failed_cycle_and_goes_on(dem, tmp_path):
    live = LivePhysics(dem)
    run = _runner(live, 2, 4.0, (0.1,), tmp_path / "maps", dem)  # lead < one interval
    with pytest.raises(ValueError, match="shorter than the radar interval"):
        run.run_cycle(None, np.zeros((2, *dem.shape), np.float32), 0.0, 300.0)


def test_app_runs_the_ensemble_after_each_frame(model_file, dem, tmp_path):
    watch, state = _storm_folder(tmp_path, 80.0), tmp_path / "state"
    cfg = ServeConfig(
        model_file,
        dem,
        watch_dir=watch,
        state_dir=state,
        n_leads=1,
        poll_s=0.05,
        ensemble=3,
        lead_min=10.0,
        thresholds=(0.01, 0.1),
        reference_check=False,
    )
    with TestClient(create_app(cfg)) as client:
        idx = _after_the_last_cycle(client)
        assert idx["valid_time"] == "2024-01-01T14:00:00Z"  # the time in the file name
        ens = idx["ensemble"]
        assert ens["thresholds_m"] == [0.01, 0.1] and len(ens["leads"]) == 2
        assert client.get(ens["leads"][0]["probability"]["0.1"]).status_code == 200
        assert client.get("/maps/files/ens000001_lead1_p9.png").status_code == 404
        assert idx["status"]["ensemble"]["members_requested"] == 3
        text = client.get("/metrics").text
        assert "floodcast_ensemble_members_requested 3.0" in text
        assert "floodcast_ensemble_reduced 0.0" in text
        assert "floodcast_ensemble_cycle_seconds" in text
        assert "floodcast_ensemble_lead_minutes 10.0" in text
        legend = client.get("/api/area").json()["legend"]["probability"]
        assert [r["label"] for r in legend][0] == "P ≥ 0.1" and len(legend) == 5


def test_lead_not_a_multiple_of_the_interval_is_refused(model_file, dem, tmp_path):
    from floodcast.errors import InputError

    (tmp_path / "radar").mkdir()
    cfg = ServeConfig(model_file, dem, watch_dir=tmp_path / "radar", lead_min=7.0)
    with pytest.raises(InputError, match="--lead 7 min is not a multiple"):
        create_app(cfg)


def test_app_alert_reaches_a_local_endpoint_once(model_file, dem, tmp_path, receiver):  # noqa: F811
    from ..predict.test_alerts import _area

    port, got = receiver
    watch = _storm_folder(tmp_path, 120.0)
    cfg = ServeConfig(
        model_file,
        dem,
        watch_dir=watch,
        state_dir=tmp_path / "state",
        n_leads=1,
        poll_s=0.05,
        ensemble=2,
        lead_min=10.0,
        thresholds=(0.1,),
        alerts=(f"{_area(tmp_path)}:0.005:0.5:10",),
        notify=(f"json://127.0.0.1:{port}/hook",),
        map_url="http://127.0.0.1:8000/",
        reference_check=False,
    )
    with TestClient(create_app(cfg)) as client:
        ens = _after_the_last_cycle(client)["ensemble"]
        assert ens["thresholds_m"] == [0.005, 0.1]  # the alert's depth is computed too
        (row,) = ens["alerts"]
        # sent by the first cycle that reached it; a later one remembers it (once per event)
        assert row["name"] == "Valley school" and row["reached"], row
        assert (row["sent"] or row["was_fired"]) and not row["errors"], row
        assert "floodcast_alerts_sent_total 1.0" in client.get("/metrics").text
    assert [g[0] for g in got] == ["/hook"]
    body = got[-1][1]
    assert "Valley school" in body["title"] + body["message"]
    assert "http://127.0.0.1:8000/" in body["message"]
    state = json.loads((tmp_path / "state" / "alerts_state.json").read_text())
    assert len(state["fired"]) == 1  # remembered: not sent again while it stays reached
