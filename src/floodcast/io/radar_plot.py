"""A PNG strip of radar frames (shared colour scale, grey = no coverage)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_strip(seq, path: str | Path, n_frames: int = 6, *, max_pixels: int = 400) -> Path:
    """Write ``n_frames`` evenly spaced frames of ``seq`` side by side as a PNG.

    Args:
        seq: a :class:`~floodcast.io.radar.RadarSequence`.
        path: output PNG path (parent folders are created).
        n_frames: frames to show (all if the sequence is shorter).
        max_pixels: frames are strided down to about this many pixels a side, so a
            7000-row FMI GeoTIFF plots in a second.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nt, ny, nx = seq.shape
    idx = np.unique(np.linspace(0, nt - 1, min(n_frames, nt)).round().astype(int))
    step = max(1, int(np.ceil(max(ny, nx) / max_pixels)))
    frames = seq.rain_mmh[idx, ::step, ::step]
    # LogNorm would mask zeros as "bad" (the no-coverage grey): lift them under vmin.
    frames = np.where(frames <= 0, 0.01, frames)
    vmax = float(np.nanmax(frames)) if np.isfinite(frames).any() else 1.0
    norm = LogNorm(vmin=0.1, vmax=max(vmax, 1.0))
    # grey = NaN (no coverage), white = under 0.1 mm/h (dry)
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.75", under="white")
    left, bottom, right, top = (v / 1000.0 for v in seq.extent)
    fig, axes = plt.subplots(
        1, len(idx), figsize=(2.6 * len(idx) + 0.8, 3.2), squeeze=False, constrained_layout=True
    )
    im = None
    for ax, k, frame in zip(axes[0], idx, frames, strict=False):
        im = ax.imshow(
            np.ma.masked_invalid(frame),
            cmap=cmap,
            norm=norm,
            extent=(left, right, bottom, top),
            origin="upper",
            interpolation="nearest",
        )
        ax.set_title(str(seq.times[k]).replace("T", " ")[:16], fontsize=8)
        ax.tick_params(labelsize=6)
    axes[0][0].set_ylabel("y (km)", fontsize=7)
    fig.colorbar(im, ax=axes[0].tolist(), label="rain (mm/h)", shrink=0.9, extend="min")
    fig.suptitle(
        f"{seq.source}: {nt} frames, {seq.interval_s / 60:g} min, {seq.cell_size:g} m cells",
        fontsize=9,
    )
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
