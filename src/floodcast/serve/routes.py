"""GET routes (page, health, metrics, area, latest maps, overlay files) and map rendering."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response

from floodcast.predict.mapper import FloodMap
from floodcast.serve import limits, schemas
from floodcast.serve.maps import clean
from floodcast.serve.render import flood_rgba, leaflet_bounds, legend, png_bytes
from floodcast.serve.telemetry import CONTENT_TYPE

STATIC = Path(__file__).parent / "static"
HTML_HEADERS = {"Cache-Control": "no-cache"}


def geotiff_bytes(fmap: FloodMap, dem) -> bytes:
    """Two-band float32 GeoTIFF in memory: wet probability and wet mask (0/1)."""
    from rasterio.io import MemoryFile

    from floodcast.defaults import FLOAT_NODATA
    from floodcast.io.geotiff import local_transform

    tr = local_transform(dem)
    profile = {
        "driver": "GTiff",
        "height": dem.shape[0],
        "width": dem.shape[1],
        "count": 2,
        "dtype": "float32",
        "transform": tr,
        "compress": "deflate",
        "nodata": FLOAT_NODATA,
    }
    if dem.crs:
        profile["crs"] = dem.crs
    with MemoryFile() as mem:
        with mem.open(**profile) as ds:
            bands = np.stack([fmap.probability, fmap.wet]).astype(np.float32)
            bands[:, np.isnan(dem.elevation)] = FLOAT_NODATA  # walls/outside: nodata, not dry
            ds.write(bands)
            ds.set_band_description(1, "wet_probability")
            ds.set_band_description(2, "wet_mask")
        return mem.read()


def render_map(fmt: schemas.OutputFormat, fmap: FloodMap, srv, meta: dict) -> Response:
    """The flood map as GeoJSON, GeoTIFF, PNG overlay or a JSON summary."""
    F = schemas.OutputFormat
    dem = srv.dem
    headers = {"X-Model-Version": srv.version}
    if fmt == F.geotiff:
        return Response(geotiff_bytes(fmap, dem), media_type="image/tiff", headers=headers)
    if fmt == F.png:
        return Response(
            png_bytes(flood_rgba(fmap.probability)), media_type="image/png", headers=headers
        )
    wet_cells = int(fmap.wet.sum())
    if fmt == F.geojson:
        from floodcast.predict.outputs import flood_geojson

        fc = flood_geojson(fmap.wet, dem)
        fc["properties"] = {"wet_cells": wet_cells, "model_version": srv.version, **meta}
        return Response(json.dumps(fc), media_type="application/geo+json", headers=headers)
    s = schemas.PredictSummary(
        wet_cells=wet_cells,
        wet_area_m2=wet_cells * dem.cell_size**2,
        max_probability=float(np.max(fmap.probability)) if fmap.probability.size else 0.0,
        frames=meta.get("frames", 0),
        interval_s=meta.get("interval_s", 0.0),
        shape=list(dem.shape),
        cut=meta.get("cut", 0.5),
        threshold_m=srv.mapper.threshold,
        model_version=srv.version,
        notes=meta.get("notes", []),
    )
    return JSONResponse(s.model_dump(), headers=headers)


def add_routes(app: FastAPI, srv) -> None:

    @app.get("/", include_in_schema=False)
    async def index():
        return FileResponse(STATIC / "index.html", headers=HTML_HEADERS)

    @app.get("/health", response_model=schemas.Health, summary="Liveness and what is served")
    async def health():
        return schemas.Health(
            status="ok",
            model=srv.info["model"],
            model_version=srv.version,
            frames_needed=srv.mapper.frames,
            dem=str(srv.dem.source),
            dem_shape=list(srv.dem.shape),
            watch=srv.watcher is not None,
            floodcast_version=srv.info["floodcast"],
        )

    @app.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics():
        return Response(srv.metrics.render(), media_type=CONTENT_TYPE)

    @app.get("/api/area", summary="Map area, overlay bounds and legend (for the web page)")
    async def area():
        return {
            "dem": str(srv.dem.source),
            "shape": list(srv.dem.shape),
            "cell_size_m": srv.dem.cell_size,
            **leaflet_bounds(srv.dem),
            "hillshade": "/maps/hillshade.png",
            "legend": legend(),
            "model": {**srv.info, "threshold_m": srv.mapper.threshold},
            "watch": srv.watcher is not None,
        }

    @app.get(
        "/maps/hillshade.png",
        summary="Hillshade of the DEM (PNG)",
        response_class=Response,
        responses={200: {"content": {"image/png": {}}}},
    )
    async def hillshade():
        return Response(
            srv.hillshade, media_type="image/png", headers={"Cache-Control": "max-age=3600"}
        )

    @app.get(
        "/maps/latest",
        summary="Latest maps (watch mode): index, or the model map",
        responses={
            200: {
                "content": {
                    "application/json": {},
                    "application/geo+json": {},
                    "image/tiff": {},
                    "image/png": {},
                }
            },
            404: {"model": schemas.ErrorBody, "description": "No map yet"},
        },
        response_class=Response,
    )
    async def latest(
        request: Request,
        format: schemas.OutputFormat | None = Query(
            None,
            description="json (default): index of steps with overlay URLs, CSI, "
            "physics timing and the live ensemble's probability maps per lead; "
            "geojson/geotiff/png: the latest model map",
        ),
    ):
        idx = srv.board.latest()
        status = srv.status()
        if format in (None, schemas.OutputFormat.json):
            ens = srv.ensemble.latest() if srv.ensemble is not None else None
            return JSONResponse(
                clean({**idx, "ensemble": ens, "status": status, "available": bool(idx)})
            )
        fmap = srv.board.model_map
        if fmap is None:
            raise HTTPException(
                404,
                "no model map yet (watch mode ingests radar files; or POST /predict?publish=true)",
            )
        return await run_in_threadpool(
            render_map, format, fmap, srv, {"valid_time": idx.get("valid_time")}
        )

    @app.get(
        "/maps/files/{name}",
        summary="A map overlay PNG written by the server",
        response_class=FileResponse,
        responses={200: {"content": {"image/png": {}}}, 404: {"model": schemas.ErrorBody}},
    )
    async def map_file(name: str = PathParam(..., max_length=64)):
        path = limits.safe_file(srv.board.folder, name)
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})
