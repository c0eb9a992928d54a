"""The social-media layer of the web map: ``serve --posts places.geojson``.

The file is the ``places.geojson`` that ``floodcast social map`` writes (points in WGS84,
each with ``posts`` and ``types`` counts). It is checked once at startup -- a bad file
is refused naming the feature and the problem -- and served at ``GET /api/posts``;
``static/posts.js`` draws it beside the flood extent. serve reads the file only: it
imports nothing from :mod:`floodcast.social`, which stands apart from the flood stack.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from floodcast.errors import InputError

MAX_FEATURES = 20_000  # a browser draws this many circle markers without stalling


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def load_posts_layer(path: str | Path) -> dict:
    """Read and check a posts GeoJSON: a FeatureCollection of WGS84 Points with counts."""
    path = Path(path)
    try:
        fc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"--posts {path}: not a readable GeoJSON file ({exc})") from exc
    if (
        not isinstance(fc, dict)
        or fc.get("type") != "FeatureCollection"
        or not isinstance(fc.get("features"), list)
    ):
        raise InputError(
            f"--posts {path}: expected a GeoJSON FeatureCollection "
            "(as written by `floodcast social map`)"
        )
    if len(fc["features"]) > MAX_FEATURES:
        raise InputError(
            f"--posts {path}: {len(fc['features'])} features, at most {MAX_FEATURES} are drawn"
        )
    out = []
    for i, f in enumerate(fc["features"]):
        geom = f.get("geometry") if isinstance(f, dict) else None
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        if not (
            isinstance(geom, dict)
            and geom.get("type") == "Point"
            and isinstance(coords, list)
            and len(coords) >= 2
            and all(_number(c) for c in coords[:2])
        ):
            raise InputError(f"--posts {path}: feature {i} is not a Point with numeric coordinates")
        lon, lat = coords[:2]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise InputError(
                f"--posts {path}: feature {i} at lon {lon}, lat {lat} is "
                "outside WGS84 range (GeoJSON is lon, lat)"
            )
        props = f.get("properties") or {}
        posts = props.get("posts", 1)
        if not _number(posts) or posts < 0:
            raise InputError(f"--posts {path}: feature {i} has a bad 'posts' count {posts!r}")
        types = props.get("types") if isinstance(props.get("types"), dict) else {}
        out.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "name": str(props.get("name", "")),
                    "event": str(props.get("event", "")),
                    "posts": posts,
                    "types": {str(k): v for k, v in types.items() if _number(v)},
                },
            }
        )
    return {"type": "FeatureCollection", "features": out}


def add_posts_routes(app: FastAPI, layer: dict | None) -> None:
    """``GET /api/posts``: the layer, or 404 when serve runs without ``--posts``."""

    @app.get(
        "/api/posts",
        summary="Social-media posts per place (GeoJSON, WGS84)",
        responses={404: {"description": "serve was started without --posts"}},
    )
    async def posts():
        if layer is None:
            return JSONResponse(
                {"error": "no posts layer: start serve with --posts FILE"}, status_code=404
            )
        return JSONResponse(layer, media_type="application/geo+json")
