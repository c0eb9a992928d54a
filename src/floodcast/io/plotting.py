"""Maps: water depth over a hillshade of the terrain, written as PNG."""

from __future__ import annotations

import os
from pathlib import Path

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
) -> Path:
    """Write a PNG of ``depth`` (m) over a hillshade; cells below ``threshold`` are clear.

    Axes are in km from the south-west corner (row 0 = north at the top); the colour
    bar is in metres. Uses the object-oriented Agg API: no pyplot global state.
    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap, LogNorm, Normalize
    from matplotlib.figure import Figure

    depth = np.asarray(depth, np.float64)
    ny, nx = depth.shape
    extent = (0, nx * cell_size / 1000, 0, ny * cell_size / 1000)
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
    ax.set_xlabel("x (km)")
    ax.set_ylabel("y (km)")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
