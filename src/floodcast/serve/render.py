"""Fast RGBA PNG overlays for the web map and the API: hillshade, radar, flood extent.

Overlays are rendered cell for cell (one pixel per DEM cell, row 0 = north) with a
lookup table and PIL, a few milliseconds for 512 x 512, so they can be made for every
radar frame and every request. Transparent where there is nothing to show, so they
stack over the hillshade (and over an optional basemap) in Leaflet.
"""

from __future__ import annotations

import io

import numpy as np

from floodcast.io.dem import Dem

# radar colour scale (mm/h lower bounds) and its legend, shared with the web page
RADAR_LEVELS = (0.1, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
RADAR_COLORS = (
    (200, 230, 255),
    (140, 200, 255),
    (60, 150, 250),
    (20, 200, 80),
    (250, 230, 30),
    (250, 140, 20),
    (230, 30, 30),
    (170, 0, 170),
)
# ensemble probability of depth above a threshold: lower bounds and colours (legend too)
PROB_LEVELS = (0.1, 0.3, 0.5, 0.7, 0.9)
PROB_COLORS = ((255, 237, 160), (254, 178, 76), (240, 59, 32), (189, 0, 38), (110, 1, 107))
FLOOD_RGB = (20, 70, 220)  # model: wet probability as blue opacity
PHYSICS_RGB = (255, 120, 0)  # physics: orange outline of the wet extent


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode a uint8 [y, x, 4] (or [y, x]) array as PNG (fast zlib level)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def hillshade_png(dem: Dem) -> bytes:
    """Grey shaded relief of the DEM (opaque; NaN cells white)."""
    from floodcast.io.plotting import hillshade

    shade = hillshade(dem.elevation, dem.cell_size)
    grey = (np.clip(shade, 0, 1) * 200 + 40).astype(np.uint8)
    return png_bytes(grey)


def radar_rgba(rain_mmh: np.ndarray) -> np.ndarray:
    """Rain rate (mm/h) -> stepped colours, transparent below 0.1 mm/h or where unknown."""
    r = np.nan_to_num(np.asarray(rain_mmh, np.float32), nan=-1.0)
    idx = np.searchsorted(np.asarray(RADAR_LEVELS, np.float32), r, side="right")  # 0 = dry
    lut = np.zeros((len(RADAR_LEVELS) + 1, 4), np.uint8)
    lut[1:, :3] = RADAR_COLORS
    lut[1:, 3] = 190
    return lut[idx]


def flood_rgba(
    probability: np.ndarray, physics_wet: np.ndarray | None = None, cut: float = 0.1
) -> np.ndarray:
    """Model wet probability as blue opacity (none below ``cut``, so the radar beneath
    stays visible), with the physics wet extent outlined in orange."""
    p = np.nan_to_num(np.asarray(probability, np.float32), nan=0.0)
    out = np.zeros(p.shape + (4,), np.uint8)
    out[..., :3] = FLOOD_RGB
    out[..., 3] = np.where(p >= cut, np.clip(30 + 200 * p, 0, 255), 0).astype(np.uint8)
    if physics_wet is not None:
        edge = outline(np.asarray(physics_wet, bool))
        out[edge] = (*PHYSICS_RGB, 255)
    return out


def probability_rgba(probability: np.ndarray) -> np.ndarray:
    """P(depth > threshold) -> stepped colours (PROB_LEVELS), transparent below 0.1."""
    p = np.nan_to_num(np.asarray(probability, np.float32), nan=0.0)
    idx = np.searchsorted(np.asarray(PROB_LEVELS, np.float32), p, side="right")
    lut = np.zeros((len(PROB_LEVELS) + 1, 4), np.uint8)
    lut[1:, :3] = PROB_COLORS
    lut[1:, 3] = 210
    return lut[idx]


def outline(mask: np.ndarray) -> np.ndarray:
    """Cells of ``mask`` with at least one 4-neighbour outside it (the extent's edge)."""
    m = np.pad(mask, 1, constant_values=False)
    inner = m[1:-1, 1:-1] & m[:-2, 1:-1] & m[2:, 1:-1] & m[1:-1, :-2] & m[1:-1, 2:]
    return mask & ~inner


def leaflet_bounds(dem: Dem) -> dict:
    """Where the overlays go on the map: lon/lat bounds, or grid cells for L.CRS.Simple.

    Returns ``{"crs": "lonlat", "bounds": [[south, west], [north, east]]}`` for a
    georeferenced DEM (corners transformed to WGS84), else ``{"crs": "simple",
    "bounds": [[0, 0], [ny, nx]]}`` in cells.
    """
    ny, nx = dem.shape
    if dem.georeferenced:
        try:
            from rasterio.warp import transform as warp

            t = dem.transform
            xs = [t.c, t.c + t.a * nx, t.c, t.c + t.a * nx]
            ys = [t.f, t.f, t.f + t.e * ny, t.f + t.e * ny]
            lon, lat = warp(dem.crs, "EPSG:4326", xs, ys)
            return {"crs": "lonlat", "bounds": [[min(lat), min(lon)], [max(lat), max(lon)]]}
        except Exception as exc:
            import logging

            logging.getLogger("floodcast.serve").warning("no lon/lat bounds: %s", exc)
    return {"crs": "simple", "bounds": [[0, 0], [ny, nx]]}


def legend() -> dict:
    """Colours and labels of the overlays, for the page's legend."""
    rad = [
        {"label": f"≥ {lv:g} mm/h", "color": _rgb(c)}
        for lv, c in zip(RADAR_LEVELS, RADAR_COLORS, strict=False)
    ]
    prob = [
        {"label": f"P ≥ {lv:g}", "color": _rgb(c)}
        for lv, c in zip(PROB_LEVELS, PROB_COLORS, strict=True)
    ]
    return {
        "radar": rad,
        "probability": prob,
        "flood": {"label": "model: wet probability", "color": _rgb(FLOOD_RGB)},
        "physics": {"label": "physics: wet extent (outline)", "color": _rgb(PHYSICS_RGB)},
    }


def _rgb(c: tuple) -> str:
    return f"rgb({c[0]},{c[1]},{c[2]})"
