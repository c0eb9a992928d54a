"""Maps: water depth over a hillshade of the terrain, written as PNG."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.defaults import WET_THRESHOLD_M
from floodcast.io.atomic import atomic_path


def hillshade(
    elevation: np.ndarray, cell_size: float, azimuth: float = 315.0, altitude: float = 45.0
) -> np.ndarray:
    """Shaded relief in [0, 1] (light from the NW by default); NaN cells are 1 (white)."""
    from matplotlib.colors import LightSource

    z = np.asarray(elevation, np.float64)
    nan = np.isnan(z)
    if nan.all():
        return np.ones_like(z)
    filled = np.where(nan, np.nanmean(z), z)
    shade = LightSource(azdeg=azimuth, altdeg=altitude).hillshade(
        filled, dx=cell_size, dy=cell_size, vert_exag=1.0
    )
    shade[nan] = 1.0
    return shade


def plot_depth_map(
    path: str | os.PathLike,
    depth: np.ndarray,
    elevation: np.ndarray,
    cell_size: float,
    threshold: float = WET_THRESHOLD_M,
    title: str = "Maximum water depth",
    dpi: int = 120,
    transform: Any | None = None,
    crs: Any | None = None,
) -> Path:
    """Write a PNG of ``depth`` (m) over a hillshade; cells below ``threshold`` are clear.

    Axes are in the DEM's CRS when ``transform`` and ``crs`` are given (see
    :func:`map_frame`), else km from the south-west corner (row 0 = north at the top),
    with a scale bar; the colour bar is in metres. Uses the object-oriented Agg API: no pyplot global state.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap, LogNorm, Normalize
    from matplotlib.figure import Figure

    depth = np.asarray(depth, np.float64)
    ny, nx = depth.shape
    frame = map_frame(depth.shape, cell_size, transform, crs)
    extent = frame["extent"]
    aspect = ny / nx
    fig = Figure(figsize=(7.5, max(3.0, min(12.0, 6.0 * aspect + 1.2))), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # light relief so the water stands out; vmin < 0 compresses the grey range upwards
    ax.imshow(
        hillshade(elevation, cell_size),
        cmap="gray",
        vmin=-0.6,
        vmax=1.0,
        extent=extent,
        interpolation="nearest",
    )
    wet = np.ma.masked_where(~(depth > threshold), depth)
    top = float(np.nanmax(depth)) if wet.count() else threshold * 2
    top = max(top, threshold * 1.01)
    # depths span decades (films to filled pits): a log scale keeps both readable
    norm = LogNorm(threshold, top) if top / threshold > 20 else Normalize(threshold, top)
    cmap = ListedColormap(colormaps["YlGnBu"](np.linspace(0.3, 1.0, 256)))
    im = ax.imshow(wet, cmap=cmap, norm=norm, extent=extent, interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, shrink=0.85)
    cb.set_label("water depth (m)")
    if isinstance(norm, LogNorm):
        ticks = [v * 10.0**e for e in range(-3, 4) for v in (1, 2, 5)]
        cb.set_ticks([t for t in ticks if threshold <= t <= top], labels=None)
        cb.ax.yaxis.set_major_formatter("{x:g}")
        cb.ax.minorticks_off()
    n_wet = int(wet.count())
    ax.set_title(
        f"{title}\n{n_wet} cells > {threshold:g} m "
        f"({n_wet * cell_size**2 / 1e6:.3g} km², max {np.nanmax(depth):.2f} m)",
        fontsize=10,
    )
    frame_axes(ax, frame)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)


def map_frame(
    shape: tuple[int, int], cell_size: float, transform: Any | None = None, crs: Any | None = None
) -> dict[str, Any]:
    """Extent, axis labels, aspect and metres per axis unit of a map of the grid.

    Georeferenced grids are drawn in their CRS (longitude/latitude in degrees for a
    geographic CRS, else the projection's x/y in its own linear unit); others in km
    from the south-west corner.
    """
    ny, nx = shape
    if transform is None or crs is None:
        return {
            "extent": (0, nx * cell_size / 1000, 0, ny * cell_size / 1000),
            "xlabel": "x (km)",
            "ylabel": "y (km)",
            "aspect": 1.0,
            "m_per_unit": 1000.0,
        }
    from rasterio.crs import CRS

    from floodcast.io.cf import crs_linear_unit

    t = transform
    x0, x1 = sorted((t.c, t.c + t.a * nx))
    y0, y1 = sorted((t.f, t.f + t.e * ny))
    c = CRS.from_user_input(crs)
    name = f"EPSG:{c.to_epsg()}" if c.to_epsg() else (c.name or "CRS")
    if c.is_geographic:
        lat = math.radians(0.5 * (y0 + y1))
        return {
            "extent": (x0, x1, y0, y1),
            "xlabel": f"longitude (deg, {name})",
            "ylabel": f"latitude (deg, {name})",
            "aspect": 1.0 / max(math.cos(lat), 1e-6),
            "m_per_unit": math.pi / 180 * 6_371_000.0 * math.cos(lat),
        }
    unit, factor = crs_linear_unit(c)
    return {
        "extent": (x0, x1, y0, y1),
        "xlabel": f"x ({unit}, {name})",
        "ylabel": f"y ({unit}, {name})",
        "aspect": 1.0,
        "m_per_unit": factor,
    }


def add_scale_bar(ax: Any, frame: dict[str, Any]) -> None:
    """A scale bar of a round length (1, 2 or 5 x 10^k m) about a fifth of the map wide."""
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    x0, x1 = frame["extent"][:2]
    width_m = abs(x1 - x0) * frame["m_per_unit"]
    if not width_m > 0:
        return
    k = math.floor(math.log10(width_m / 5))
    length = max((v * 10.0**k for v in (1, 2, 5) if v * 10.0**k <= width_m / 4), default=10.0**k)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.add_artist(
        AnchoredSizeBar(
            ax.transData,
            length / frame["m_per_unit"],
            label,
            "lower left",
            pad=0.4,
            color="black",
            frameon=True,
            size_vertical=0,
            label_top=False,
        )
    )


def frame_axes(ax: Any, frame: dict[str, Any]) -> None:
    """Axis labels in the map's CRS (plain numbers, no offset) and a scale bar."""
    ax.set_xlabel(frame["xlabel"])
    ax.set_ylabel(frame["ylabel"])
    ax.set_aspect(frame["aspect"])
    ax.ticklabel_format(style="plain", useOffset=False)
    add_scale_bar(ax, frame)
