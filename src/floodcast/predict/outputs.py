"""Flood-map outputs: GeoTIFF (probability, wet mask, depth), PNG, GeoJSON and GeoPackage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from floodcast.io.atomic import atomic_dir
from floodcast.io.dem import Dem
from floodcast.io.vector import grid_transform as _transform  # noqa: F401  (cli/nowcast uses it)
from floodcast.predict.mapper import FloodMap


def flood_geojson(wet: np.ndarray, dem: Dem, props: dict | None = None) -> dict:
    """Valid polygons of the wet cells as a GeoJSON FeatureCollection.

    Coordinates are WGS84 longitude/latitude (RFC 7946) when the DEM has a CRS;
    otherwise they are metres in the DEM's local grid and the collection says so.
    See :mod:`floodcast.io.vector` (4-connected cells, repaired rings).
    """
    from floodcast.io.vector import flood_features

    return flood_features(wet, dem, props)


def overlay_png(path: Path, fmap: FloodMap, dem: Dem, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from floodcast.io.plotting import frame_axes, hillshade, map_frame

    frame = map_frame(dem.shape, dem.cell_size, dem.transform, dem.crs)
    ext = frame["extent"]
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(hillshade(dem.elevation, dem.cell_size), cmap="gray", vmin=0, vmax=1, extent=ext)
    prob = np.ma.masked_less(fmap.probability, 0.05)
    im = ax.imshow(prob, cmap="Blues", vmin=0, vmax=1, alpha=0.75, extent=ext)
    ax.contour(
        fmap.wet.astype(float),
        levels=[0.5],
        colors="navy",
        linewidths=0.6,
        extent=ext,
        origin="upper",
    )
    fig.colorbar(im, ax=ax, fraction=0.04, label="wet probability")
    ax.set_title(title, fontsize=9)
    frame_axes(ax, frame)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _has_pyogrio() -> bool:
    import importlib.util

    return importlib.util.find_spec("pyogrio") is not None


def write_outputs(out: Path, fmap: FloodMap, dem: Dem, meta: dict) -> list[Path]:
    """Write every output into ``out`` atomically; returns the file paths."""
    from floodcast.io.geotiff import write_geotiff
    from floodcast.io.vector import write_geopackage

    # wet_mask.tif is Byte (1 wet, 0 dry, 255 wall/outside); every band says what it holds

    thr = meta.get("threshold_m")
    wet_what = f"wet (depth > {thr} m)" if thr is not None else "wet"
    with atomic_dir(out) as tmp:
        write_geotiff(
            tmp / "wet_probability.tif",
            fmap.probability,
            dem,
            tags=meta,
            description=f"probability that the cell is {wet_what}",
            units="1",
        )
        write_geotiff(
            tmp / "wet_mask.tif",
            fmap.wet.astype(np.uint8),
            dem,
            tags=meta,
            description=f"{wet_what}: 1, dry: 0",
            units="1",
            dtype="uint8",
        )
        if fmap.depth is not None:
            write_geotiff(
                tmp / "depth.tif",
                fmap.depth,
                dem,
                tags=meta,
                description="predicted water depth (m)",
                units="m",
            )
        overlay_png(tmp / "flood.png", fmap, dem, meta.get("title", "predicted flooding"))
        (tmp / "flood.geojson").write_text(json.dumps(flood_geojson(fmap.wet, dem)))
        if _has_pyogrio():  # GeoPackage needs the 'gis' extra
            write_geopackage(tmp / "flood.gpkg", fmap.wet, dem)
        (tmp / "prediction.json").write_text(
            json.dumps(
                {
                    **meta,
                    "wet_cells": int(fmap.wet.sum()),
                    "wet_area_m2": float(fmap.wet.sum() * dem.cell_size**2),
                },
                indent=2,
                default=str,
            )
        )
        names = sorted(p.name for p in tmp.iterdir())
    return [out / n for n in names]
