"""Alerts end to end: a real apprise JSON notification to a local HTTP endpoint."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest
from typer.testing import CliRunner

from floodcast.cli import app

from .test_flood_nowcast import _inputs


@pytest.fixture
def receiver():
    got = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            got.append((self.path, json.loads(body)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield srv.server_address[1], got
    srv.shutdown()
    srv.server_close()


def _area(tmp_path):
    """A polygon over the whole test DEM (UTM 14N, 2.5 x 2 km), in WGS 84."""
    from rasterio.warp import transform

    xs, ys = [500000, 502500, 502500, 500000, 500000], [4000000, 4000000, 3998000, 3998000, 4000000]
    lon, lat = transform("EPSG:32614", "EPSG:4326", xs, ys)
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Valley school"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [list(map(list, zip(lon, lat, strict=False)))],
                },
            }
        ],
    }
    path = tmp_path / "assets.geojson"
    path.write_text(json.dumps(gj))
    return path


def test_alert_once_per_event_rearmed_and_failing_target_reported(tmp_path, receiver, monkeypatch):
    from floodcast.predict import alerts

    monkeypatch.setattr(alerts, "RETRY_WAIT_S", 0.01)
    port, got = receiver
    dem, rain = _inputs(tmp_path)
    area = _area(tmp_path)
    out = tmp_path / "nc"
    args = [
        "nowcast",
        "--dem",
        str(dem),
        "--rain",
        str(rain),
        "--out",
        str(out),
        "--ensemble",
        "0",
        "--lead",
        "10",
        "--spin-up",
        "0",
        "--alert",
        f"{area}:0.1:0.5:10",
        "--notify",
        f"json://127.0.0.1:{port}/hook",
        "--map-url",
        "http://maps.example/latest",
    ]
    r = CliRunner().invoke(app, args + ["--notify", "json://127.0.0.1:9/dead"])
    assert r.exit_code == 0, r.output
    assert "failed after retries" in r.output  # the dead target is reported, forecast done
    assert (out / "nowcast.nc").exists()
    assert len(got) == 1
    path, msg = got[0]
    assert path == "/hook"
    assert "Valley school" in msg["title"] and "Valley school" in msg["message"]
    assert "first exceedance +" in msg["message"] and "http://maps.example/latest" in msg["message"]
    s = json.loads((out / "nowcast.json").read_text())
    a = s["alerts"][0]
    assert a["reached"] and a["peak_probability"] == 1.0 and not a["sent"]  # one target failed
    # only the working target: sent now; the event is then remembered
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert len(got) == 2
    r = CliRunner().invoke(app, args)  # same event: no new message
    assert r.exit_code == 0 and len(got) == 2
    # the rain stops: below the threshold, re-armed; rain again: a new message
    np.savez(
        tmp_path / "dry.npz",
        rain_mmh=np.zeros((5, 40, 50), np.float32),
        times_s=np.arange(5) * 300.0,
    )
    dry = [a if a != str(rain) else str(tmp_path / "dry.npz") for a in args]
    r = CliRunner().invoke(app, dry)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "alerts_state.json").read_text())["fired"] == []
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0 and len(got) == 3
