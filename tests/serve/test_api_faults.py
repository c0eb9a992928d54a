"""Hostile requests to the API: deep JSON, oversized JSON, wrong method, a body that
never arrives, and an OpenAPI document whose references all resolve."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from floodcast.serve import ServeConfig, create_app
from floodcast.serve.inputs import MAX_FRAMES
from floodcast.serve.limits import BodyLimit

from .conftest import FRAMES, storm


@pytest.fixture(scope="module")
def client(model_file, dem, tmp_path_factory):
    app = create_app(
        ServeConfig(
            model_file,
            dem,
            state_dir=tmp_path_factory.mktemp("state"),
            max_upload_mb=1.0,
            n_leads=1,
        )
    )
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize("depth", [1000, 20000])
def test_deep_json_is_422(client, depth):
    body = "[" * depth + "]" * depth
    r = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text[:300]
    assert "error" in r.json()


def test_json_with_too_many_values_refused_before_parsing(model_file, dem, tmp_path):
    app = create_app(ServeConfig(model_file, dem, state_dir=tmp_path, max_upload_mb=5.0, n_leads=1))
    body = "[[[" + "0," * (MAX_FRAMES * dem.elevation.size + 10) + "0]]]"
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.post("/predict", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422 and "more than" in r.json()["error"]


def test_json_valid_still_works(client):
    rain = storm(FRAMES).round(2).tolist()
    r = client.post("/predict?format=json", json={"rain_mmh": rain})
    assert r.status_code == 200, r.text[:300]


def test_405_carries_allow(client):
    r = client.get("/predict")
    assert r.status_code == 405
    assert r.headers.get("allow") == "POST"
    r = client.post("/health")
    assert r.status_code == 405 and "GET" in r.headers.get("allow", "")


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_openapi_refs_all_resolve(client):
    spec = client.get("/openapi.json").json()
    comps = spec["components"]["schemas"]
    refs = set(_refs(spec))
    assert "#/components/schemas/PredictJSON" in refs
    assert "#/components/schemas/PredictSummary" in refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in comps, ref


def test_body_that_never_arrives_times_out():
    """Content-Length larger than the body sent: 408 after the read timeout, not a hang."""
    reached = []

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        reached.append(True)

    async def run():
        sent = []
        chunks = [{"type": "http.request", "body": b"x" * 10, "more_body": True}]

        async def receive():
            if chunks:
                return chunks.pop()
            await asyncio.sleep(3600)  # the client went quiet

        async def send(msg):
            sent.append(msg)

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/predict",
            "headers": [(b"content-length", b"1000")],
        }
        await asyncio.wait_for(BodyLimit(app, 10_000, read_timeout_s=0.2)(scope, receive, send), 5)
        return sent

    sent = asyncio.run(run())
    assert not reached and sent[0]["status"] == 408
