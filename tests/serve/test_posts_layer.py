import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from floodcast.errors import InputError
from floodcast.serve.posts import add_posts_routes, load_posts_layer


def _fc(*coords, posts=3):
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(c)},
                "properties": {
                    "name": "Calgary",
                    "event": "e",
                    "posts": posts,
                    "types": {"Caution and advice": posts},
                },
            }
            for c in coords
        ],
    }


def test_posts_layer_served(tmp_path):
    f = tmp_path / "places.geojson"
    f.write_text(json.dumps(_fc((-114.07, 51.05))))
    app = FastAPI()
    add_posts_routes(app, load_posts_layer(f))
    r = TestClient(app).get("/api/posts")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    assert r.json()["features"][0]["geometry"]["coordinates"] == [-114.07, 51.05]
    bare = FastAPI()
    add_posts_routes(bare, None)
    assert TestClient(bare).get("/api/posts").status_code == 404


@pytest.mark.parametrize(
    "content,match",
    [
        ("not json", "not a readable GeoJSON"),
        (json.dumps({"type": "Feature"}), "FeatureCollection"),
        (json.dumps(_fc((51.05, -214.07))), "outside WGS84"),
        (json.dumps(_fc((1.0, 2.0), posts=-1)), "bad 'posts'"),
    ],
)
def test_bad_posts_layer_refused(tmp_path, content, match):
    f = tmp_path / "p.geojson"
    f.write_text(content)
    with pytest.raises(InputError, match=match):
        load_posts_layer(f)


def test_serve_app_with_posts_layer(tmp_path, model_file, dem):
    from floodcast.serve.app import ServeConfig, create_app

    f = tmp_path / "places.geojson"
    f.write_text(json.dumps(_fc((-114.07, 51.05), (-113.87, 50.58))))
    with TestClient(create_app(ServeConfig(model=model_file, dem=dem, posts=f))) as c:
        assert len(c.get("/api/posts").json()["features"]) == 2
        assert "/static/posts.js" in c.get("/").text
        assert c.get("/static/posts.js").status_code == 200
