"""Request and response bodies of the HTTP API (pydantic), and the OpenAPI request body
of ``POST /predict`` (multipart upload, raw file bytes or JSON arrays)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, Field


class OutputFormat(str, Enum):
    geojson = "geojson"
    geotiff = "geotiff"
    png = "png"
    json = "json"


MEDIA_TYPES = {
    OutputFormat.geojson: "application/geo+json",
    OutputFormat.geotiff: "image/tiff",
    OutputFormat.png: "image/png",
    OutputFormat.json: "application/json",
}


class PredictJSON(BaseModel):
    """Rain frames as JSON arrays, for small grids (files are better for large ones)."""

    rain_mmh: list[list[list[float]]] = Field(
        ...,
        description="Rain rate (mm/h) [t][y][x] on the configured DEM grid, oldest first; "
        "at least as many frames as the model needs; finite and >= 0.",
    )
    interval_s: float | None = Field(
        None, gt=0, le=86400, description="Frame interval (s); default: the model's."
    )


class ErrorBody(BaseModel):
    error: str = Field(..., description="What is wrong with the request and how to fix it.")
    detail: Any | None = None


class Health(BaseModel):
    status: str
    model: str
    model_version: str
    frames_needed: int
    dem: str
    dem_shape: list[int]
    watch: bool
    floodcast_version: str


class PredictSummary(BaseModel):
    wet_cells: int
    wet_area_m2: float
    max_probability: float
    frames: int
    interval_s: float
    shape: list[int]
    cut: float
    threshold_m: float
    model_version: str
    notes: list[str] = []


ERRORS = {
    code: {"model": ErrorBody, "description": why}
    for code, why in (
        (400, "Malformed request"),
        (406, "No acceptable output format"),
        (413, "Upload larger than the limit"),
        (415, "Unsupported content type"),
        (
            422,
            (
                "Invalid input (shape, dtype, NaN, unreadable file, not what the model was "
                "trained for)"
            ),
        ),
    )
}

PREDICT_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "Radar frames on (or regriddable to) the DEM grid: npz "
                        "(rain_mmh [t,y,x], times_s [t]), NetCDF (rain(time,y,x) "
                        "mm/h) or GeoTIFF (one band per frame, mm/h).",
                    }
                },
            }
        },
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"$ref": "#/components/schemas/PredictJSON"}},
    },
}

PREDICT_RESPONSES = {
    200: {
        "description": "Flood map in the requested format (format= or Accept)",
        "content": {
            "application/geo+json": {"schema": {"type": "object"}},
            "image/tiff": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": {"$ref": "#/components/schemas/PredictSummary"}},
        },
    },
    **ERRORS,
}


def complete_openapi(app) -> None:
    """Publish the models the request and response bodies refer to by ``$ref``
    (``PredictJSON``, ``PredictSummary``): FastAPI only lists models used as parameters,
    so without this the document has dangling references and fuzzers skip the bodies."""
    base = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            spec = base()
            comps = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in (PredictJSON, PredictSummary, ErrorBody):
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                comps.update(js.pop("$defs", {}))
                comps.setdefault(model.__name__, js)
            app.openapi_schema = spec
        return app.openapi_schema

    app.openapi = openapi
