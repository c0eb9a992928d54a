"""POST /predict in every format, bad input -> 4xx JSON, limits, path safety, metrics."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
import rasterio
from fastapi.testclient import TestClient
from PIL import Image

from floodcast.serve import ServeConfig, create_app

from .conftest import FRAMES, SHAPE, npz_bytes, storm


@pytest.fixture(scope="module")
def app(model_file, dem, tmp_path_factory):
    return create_app(
        ServeConfig(
            model_file,
            dem,
            state_dir=tmp_path_factory.mktemp("state"),
            max_upload_mb=1.0,
            n_leads=1,
        )
    )


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def _upload(data: bytes, name: str = "rain.npz") -> dict:
    return {"file": (name, data, "application/octet-stream")}


def test_health_and_openapi(client):
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["frames_needed"] == FRAMES and h["dem_shape"] == list(SHAPE)
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/predict"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json", "application/octet-stream"} <= set(body)
    assert client.get("/docs").status_code == 200


def test_predict_geojson_default_and_formats(client, dem):
    data = npz_bytes(storm())
    r = client.post("/predict", files=_upload(data))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["properties"]["frames"] == FRAMES

    r = client.post("/predict", files=_upload(data), headers={"Accept": "image/tiff"})
    assert r.status_code == 200 and r.headers["content-type"] == "image/tiff"
    with rasterio.MemoryFile(r.content) as mem, mem.open() as ds:
        assert ds.count == 2 and (ds.height, ds.width) == SHAPE
        assert ds.crs.to_epsg() == 32614 and ds.transform == dem.transform
        p = ds.read(1)
    assert np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()

    r = client.post("/predict?format=png", files=_upload(data))
    img = Image.open(io.BytesIO(r.content))
    assert r.headers["content-type"] == "image/png" and img.mode == "RGBA"
    assert img.size == (SHAPE[1], SHAPE[0])

    s = client.post("/predict", files=_upload(data), headers={"Accept": "application/json"}).json()
    assert s["shape"] == list(SHAPE) and s["frames"] == FRAMES and 0 <= s["max_probability"] <= 1


def test_predict_json_raw_netcdf_and_geotiff_agree(client, dem, tmp_path):
    import xarray as xr

    rain = storm(seed=3)
    ref = client.post(
        "/predict?format=json", json={"rain_mmh": rain.tolist(), "interval_s": 300}
    ).json()
    raw = client.post(
        "/predict?format=json",
        content=npz_bytes(rain),
        headers={"Content-Type": "application/octet-stream"},
    ).json()
    nc = tmp_path / "rain.nc"
    xr.Dataset(
        {"rain": (("time", "y", "x"), rain, {"units": "mm/h"})},
        coords={"time": ("time", np.arange(FRAMES) * 300.0, {"units": "s"})},
    ).to_netcdf(nc)
    via_nc = client.post("/predict?format=json", files=_upload(nc.read_bytes(), "r.nc")).json()
    tif = tmp_path / "rain.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        height=SHAPE[0],
        width=SHAPE[1],
        count=FRAMES,
        dtype="float32",
        crs=dem.crs,
        transform=dem.transform,
    ) as ds:
        ds.write(rain)
        ds.update_tags(interval_s="300")
    via_tif = client.post("/predict?format=json", files=_upload(tif.read_bytes(), "r.tif")).json()
    for other in (raw, via_nc, via_tif):
        assert other["wet_cells"] == ref["wet_cells"], other
        assert other["max_probability"] == pytest.approx(ref["max_probability"], abs=1e-5)


def _bad_npz(kind: str) -> bytes:
    r = storm()
    if kind == "nan":
        r[0, 3, 3] = np.nan
    elif kind == "negative":
        r[1, 2, 2] = -1.0
    elif kind == "inf":
        r[1, 2, 2] = np.inf
    elif kind == "few_frames":
        r = r[:2]
    elif kind == "shape":
        r = r[:, :10, :10]
    elif kind == "swapped":
        r = np.ascontiguousarray(r[:, : SHAPE[0], : SHAPE[0]].transpose(0, 2, 1))
    elif kind == "strings":
        return npz_bytes(np.full((3, *SHAPE), "ab"))
    elif kind == "no_times":
        buf = io.BytesIO()
        np.savez(buf, rain_mmh=r)
        return buf.getvalue()
    elif kind == "truncated":
        return npz_bytes(r)[:500]
    elif kind == "interval":
        return npz_bytes(r, interval=900.0)
    return npz_bytes(r)


@pytest.mark.parametrize(
    "kind",
    [
        "nan",
        "negative",
        "inf",
        "few_frames",
        "shape",
        "swapped",
        "strings",
        "no_times",
        "truncated",
        "interval",
    ],
)
def test_bad_files_are_4xx_json(client, kind):
    r = client.post("/predict", files=_upload(_bad_npz(kind)))
    assert r.status_code == 422, (kind, r.status_code, r.text)
    assert r.json()["error"]


@pytest.mark.parametrize(
    "body,status",
    [
        ({"rain_mmh": [[[1.0]]]}, 422),  # wrong grid
        ({"rain_mmh": [[[1.0, 2.0], [1.0]]]}, 422),  # ragged
        ({"rain_mmh": "nope"}, 422),
        ({"rain_mmh": [[["a"]]]}, 422),
        ({"rain": []}, 422),
        ({"rain_mmh": storm().tolist(), "interval_s": -5}, 422),
    ],
)
def test_bad_json_is_4xx(client, body, status):
    r = client.post("/predict", json=body)
    assert r.status_code == status and "error" in r.json(), r.text


def test_nan_in_json_and_other_protocol_errors(client):
    rain = storm()
    rain[0, 1, 1] = np.nan
    text = json.dumps({"rain_mmh": rain.tolist()})  # Python writes NaN (not strict JSON)
    assert "NaN" in text
    r = client.post("/predict", content=text, headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "NaN" in r.json()["error"]
    r = client.post("/predict", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    r = client.post("/predict", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    r = client.post("/predict", files=_upload(npz_bytes(storm())), headers={"Accept": "text/csv"})
    assert r.status_code == 406
    r = client.post("/predict", data={"other": "1"}, files={"x": ("a", b"b")})
    assert r.status_code == 422 and "file" in r.json()["error"]
    r = client.post("/predict", files=_upload(b""))
    assert r.status_code == 422


def test_upload_limit(client):
    big = b"PK\x03\x04" + os.urandom(1_200_000)
    r = client.post("/predict", files=_upload(big))
    assert r.status_code == 413 and "limit" in r.json()["error"]

    def chunks():  # no Content-Length: counted while read
        for _ in range(12):
            yield b"\0" * 100_000

    r = client.post(
        "/predict", content=chunks(), headers={"Content-Type": "application/octet-stream"}
    )
    assert r.status_code == 413


def test_no_file_outside_the_data_folder(client, app, tmp_path):
    folder = app.state.server.board.folder
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"secret")
    (folder / "000099_obs_radar.png").symlink_to(secret)
    for url in (
        "/maps/files/..%2F..%2Fsecret.png",
        "/maps/files/../../etc/passwd",
        "/maps/files/000099_obs_radar.png",
        "/maps/files/000001_obs_radar.png",
        "/static/..%2F..%2Fapp.py",
        "/maps/files/%2Fetc%2Fpasswd",
    ):
        r = client.get(url)
        assert r.status_code == 404, (url, r.status_code)
        assert b"secret" not in r.content


def test_cache_publish_and_latest(client):
    data = npz_bytes(storm(seed=7))
    a = client.post("/predict?format=json", files=_upload(data))
    b = client.post("/predict?format=json", files=_upload(data))
    assert b.headers.get("x-cache") == "hit" and a.json() == b.json()
    assert client.get("/maps/latest?format=png").status_code in (200, 404)
    r = client.post("/predict?publish=true&format=json", files=_upload(data))
    assert r.status_code == 200
    idx = client.get("/maps/latest").json()
    assert idx["available"] and idx["steps"][0]["kind"] == "observed"
    assert client.get(idx["steps"][0]["flood"]).headers["content-type"] == "image/png"
    assert client.get("/maps/latest?format=geojson").json()["type"] == "FeatureCollection"


def test_metrics_prometheus_text(client):
    client.post("/predict?format=json", files=_upload(npz_bytes(storm(seed=11))))
    client.post("/predict", files=_upload(b"junk"))
    text = client.get("/metrics").text
    assert 'floodcast_requests_total{method="POST",route="/predict",status="200"}' in text
    assert 'route="/predict",status="422"' in text
    assert "floodcast_request_latency_seconds_bucket" in text
    assert "floodcast_model_info{" in text and 'frames="3"' in text
    assert 'floodcast_input_rain_mean_mmh{set="training"} 2.0' in text
    assert 'floodcast_input_rain_mean_mmh{set="recent"}' in text
    assert "floodcast_input_drift_mean_shift" in text and "floodcast_input_rain_mmh_bucket" in text


def test_cli_refuses_bad_setup(model_file, tmp_path):
    from typer.testing import CliRunner

    from floodcast.cli import app as cli
    from floodcast.serve.command import serve_command

    r = CliRunner().invoke(cli, ["serve", "--model", str(tmp_path / "none.pt"), "--dem", "sample"])
    assert r.exit_code == 1 and "error" in r.output
    r = CliRunner().invoke(
        cli,
        [
            "serve",
            "--model",
            str(model_file),
            "--dem",
            "sample",
            "--watch",
            str(tmp_path / "missing"),
        ],
    )
    assert r.exit_code == 1 and "not a folder" in r.output
    assert serve_command("m.pt").startswith("floodcast serve --model m.pt --dem sample")


def test_default_tile_is_at_least_256_cells(app, model_file, dem, tmp_path):
    """The model was trained on 32-cell patches; the server maps in 256-cell tiles (a
    quarter overlap) unless told otherwise, and --tile/--overlap win."""
    from floodcast.serve.app import SERVE_TILE, Server

    m = app.state.server.mapper
    assert (m.patch, m.overlap) == (SERVE_TILE, SERVE_TILE // 4) == (256, 64)
    own = Server(ServeConfig(model_file, dem, state_dir=tmp_path, tile=48, overlap=0)).mapper
    assert (own.patch, own.overlap) == (48, 0)


def test_docs_served_offline_without_a_cdn(client):
    """/docs loads Swagger UI from the server itself (it was blank offline: jsdelivr)."""
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn.jsdelivr" not in page.text and "/docs-assets/swagger-ui-bundle.js" in page.text
    js = client.get("/docs-assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/docs-assets/swagger-ui.css").status_code == 200


def test_geotiff_walls_are_nodata(dem):
    from rasterio.io import MemoryFile

    from floodcast.predict.mapper import FloodMap
    from floodcast.serve.routes import geotiff_bytes

    z = dem.elevation.copy()
    z[0, 0] = np.nan
    walled = type(dem)(z, dem.cell_size, dem.transform, dem.crs, "walled")
    fm = FloodMap(np.zeros(z.shape, np.float32), np.zeros(z.shape, bool))
    with MemoryFile(geotiff_bytes(fm, walled)) as mem, mem.open() as ds:
        assert ds.nodata == -9999.0 and ds.read(1, masked=True).mask[0, 0]
        assert not ds.read(1, masked=True).mask[1, 1]
