"""Flood-map outputs: GeoTIFF (probability, wet mask, depth), PNG overlay, GeoJSON polygons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from floodcast.io.atomic import atomic_dir
from floodcast.io.dem import Dem
from floodcast.predict.mapper import FloodMap


def _transform(dem: Dem):
    from rasterio.transform import Affine

    if dem.transform is not None:
        return Affine(*list(dem.transform)[:6])
    ny = dem.shape[0]
    return Affine(dem.cell_size, 0, 0, 0, -dem.cell_size, ny * dem.cell_size)


def flood_geojson(wet: np.ndarray, dem: Dem, props: dict | None = None) -> dict:
    """Polygons of the wet cells as a GeoJSON FeatureCollection.

    Coordinates are WGS84 longitude/latitude (RFC 7946) when the DEM has a CRS;
    otherwise they are metres in the DEM's local grid and the collection says so.
    """
    from rasterio import features
    from rasterio.warp import transform_geom

    tr = _transform(dem)
    feats = []
    area_cell = dem.cell_size ** 2
    for geom, val in features.shapes(wet.astype(np.uint8), mask=wet, transform=tr, connectivity=8):
        if val != 1:
            continue
        n_cells = _ring_cells(geom, tr)
        if dem.crs:
            geom = transform_geom(dem.crs, "EPSG:4326", geom)
        feats.append({"type": "Feature", "geometry": geom,
                      "properties": {"area_m2": n_cells * area_cell, **(props or {})}})
    fc = {"type": "FeatureCollection", "features": feats}
    if not dem.crs:
        fc["crs_note"] = "local grid coordinates in metres (the DEM has no CRS)"
    return fc


def _ring_cells(geom: dict, tr) -> float:
    """Area of a polygon (exterior minus holes) in cells, by the shoelace formula."""
    def ring_area(ring):
        xy = np.asarray(ring, float)
        x, y = xy[:, 0], xy[:, 1]
        return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))

    rings = geom["coordinates"]
    a = ring_area(rings[0]) - sum(ring_area(r) for r in rings[1:])
    return a / abs(tr.a * tr.e)


def overlay_png(path: Path, fmap: FloodMap, dem: Dem, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from floodcast.io.plotting import hillshade

    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(hillshade(dem.elevation, dem.cell_size), cmap="gray", vmin=0, vmax=1)
    prob = np.ma.masked_less(fmap.probability, 0.05)
    im = ax.imshow(prob, cmap="Blues", vmin=0, vmax=1, alpha=0.75)
    ax.contour(fmap.wet.astype(float), levels=[0.5], colors="navy", linewidths=0.6)
    fig.colorbar(im, ax=ax, fraction=0.04, label="wet probability")
    ax.set_title(title, fontsize=9)
    ax.set_axis_off()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_outputs(out: Path, fmap: FloodMap, dem: Dem, meta: dict) -> list[Path]:
    """Write every output into ``out`` atomically; returns the file paths."""
    from floodcast.io.writers import write_geotiff

    with atomic_dir(out) as tmp:
        write_geotiff(tmp / "wet_probability.tif", fmap.probability, dem, tags=meta)
        write_geotiff(tmp / "wet_mask.tif", fmap.wet.astype(np.float32), dem, tags=meta)
        if fmap.depth is not None:
            write_geotiff(tmp / "depth.tif", fmap.depth, dem, tags=meta)
        overlay_png(tmp / "flood.png", fmap, dem, meta.get("title", "predicted flooding"))
        (tmp / "flood.geojson").write_text(json.dumps(flood_geojson(fmap.wet, dem)))
        (tmp / "prediction.json").write_text(json.dumps(
            {**meta, "wet_cells": int(fmap.wet.sum()),
             "wet_area_m2": float(fmap.wet.sum() * dem.cell_size ** 2)}, indent=2, default=str))
        names = sorted(p.name for p in tmp.iterdir())
    return [out / n for n in names]
