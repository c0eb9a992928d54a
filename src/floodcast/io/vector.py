"""Flood polygons: valid (OGC simple-feature) polygons of wet cells, as GeoJSON or GeoPackage.

Cells are joined by their edges (4-connectivity), so two wet cells that touch only at a
corner are two polygons: joining them (8-connectivity) makes rings that cross themselves
at the shared corner, which GIS software reports as invalid. Any ring that still touches
itself (a region wrapping round a dry cell) is repaired with ``shapely.make_valid``.

GeoJSON is written in WGS84 longitude/latitude (RFC 7946) when the DEM has a CRS;
GeoPackage (through pyogrio/GDAL) keeps the DEM's own CRS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.io.atomic import atomic_path
from floodcast.io.dem import Dem


def grid_transform(dem: Dem) -> Any:
    """The DEM's Affine, or a local one (metres from the south-west corner)."""
    from rasterio.transform import Affine

    if dem.transform is not None:
        return Affine(*list(dem.transform)[:6])
    return Affine(dem.cell_size, 0, 0, 0, -dem.cell_size, dem.shape[0] * dem.cell_size)


def _polygonal(geom: Any) -> Any:
    """The polygonal part of a (repaired) geometry, as a Polygon or MultiPolygon."""
    import shapely
    from shapely.geometry import MultiPolygon, Polygon

    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, (Polygon, MultiPolygon))]
    polys = [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return MultiPolygon(polys) if len(polys) != 1 else polys[0]


def valid(geom: Any) -> Any:
    """``geom`` if valid, else its ``make_valid`` repair reduced to polygons."""
    import shapely

    return geom if shapely.is_valid(geom) else _polygonal(shapely.make_valid(geom))


def wet_polygons(wet: np.ndarray, dem: Dem) -> list[tuple[Any, float]]:
    """Valid shapely polygons of the wet regions in the DEM's CRS, with their area in cells."""
    from rasterio import features
    from shapely.geometry import shape

    tr = grid_transform(dem)
    wet = np.asarray(wet, bool)
    cell_area = abs(tr.a * tr.e)
    out = []
    for geom, val in features.shapes(wet.astype(np.uint8), mask=wet, transform=tr, connectivity=4):
        if val != 1:
            continue
        poly = valid(shape(geom))
        out.append((poly, float(poly.area / cell_area)))
    return out


def flood_features(wet: np.ndarray, dem: Dem, props: Mapping[str, Any] | None = None) -> dict:
    """The wet regions as a GeoJSON FeatureCollection of valid polygons (area in m²)."""
    from rasterio.warp import transform_geom
    from shapely.geometry import mapping, shape

    feats = []
    for poly, n_cells in wet_polygons(wet, dem):
        geom = mapping(poly)
        if dem.crs:
            # a curved reprojection can, rarely, make a touching ring cross: repair again
            geom = mapping(valid(shape(transform_geom(dem.crs, "EPSG:4326", geom))))
        feats.append(
            {
                "type": "Feature",
                "geometry": geom,
                "properties": {"area_m2": n_cells * dem.cell_size**2, **(props or {})},
            }
        )
    fc: dict[str, Any] = {"type": "FeatureCollection", "features": feats}
    if not dem.crs:
        fc["crs_note"] = "local grid coordinates in metres (the DEM has no CRS)"
    return fc


def write_geopackage(
    path: str | os.PathLike,
    wet: np.ndarray,
    dem: Dem,
    props: Mapping[str, Any] | None = None,
    layer: str = "flood",
) -> Path:
    """Write the wet regions as a GeoPackage layer (DEM CRS) through pyogrio.

    Each feature has ``area_m2`` and ``cells``; ``props`` become extra string fields
    (the same for every feature: the run's metadata).
    """
    import pyogrio.raw
    import shapely

    polys = wet_polygons(wet, dem)
    geoms = np.array(
        [
            shapely.to_wkb(
                shapely.geometry.MultiPolygon([p] if p.geom_type == "Polygon" else list(p.geoms))
            )
            for p, _ in polys
        ],
        dtype=object,
    )
    cells = np.array([n for _, n in polys], np.float64)
    fields = ["area_m2", "cells"]
    data = [cells * dem.cell_size**2, cells]
    for key, value in (props or {}).items():
        fields.append(str(key))
        data.append(np.array([str(value)] * len(polys), dtype=object))
    with atomic_path(path) as tmp:
        pyogrio.raw.write(
            str(tmp),
            geoms,
            data,
            fields,
            driver="GPKG",
            layer=layer,
            geometry_type="MultiPolygon",
            crs=dem.crs,
        )
    return Path(path)
