"""Drawing embeddings: UMAP scatter (PNG + standalone HTML) and parallel coordinates.

Every drawing takes the points' keys and a ``Labels``; the labels' alignment is checked
before a single point is coloured.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from floodcast.diagnostics.labels import Labels, structure_title

_MAX_LEGEND = 20


def _colours(labels: Labels):
    import matplotlib

    if labels.categorical:
        cats, codes = np.unique(labels.values, return_inverse=True)
        cmap = matplotlib.colormaps["tab20" if len(cats) > 10 else "tab10"]
        return [cmap(c % cmap.N) for c in codes], cats, cmap
    cmap = matplotlib.colormaps["viridis"]
    v = np.asarray(labels.values, np.float64)
    lo, hi = np.nanmin(v), np.nanmax(v)
    return [cmap((x - lo) / (hi - lo) if hi > lo else 0.5) for x in v], (lo, hi), cmap


def scatter_png(
    points: np.ndarray,
    keys: np.ndarray,
    labels: Labels,
    path: str | Path,
    title: str,
    structure: dict | None = None,
) -> Path:
    """2-D scatter coloured by ``labels`` with the structure number in the title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels.check_aligned(keys)
    cols, legend, cmap = _colours(labels)
    fig, ax = plt.subplots(figsize=(7, 6), dpi=110)
    ax.scatter(points[:, 0], points[:, 1], c=cols, s=12, linewidths=0)
    if labels.categorical and len(legend) <= _MAX_LEGEND:
        for i, cat in enumerate(legend):
            ax.scatter([], [], color=cmap(i % cmap.N), label=str(cat), s=20)
        ax.legend(fontsize=7, loc="best", title=labels.name, title_fontsize=8)
    elif not labels.categorical:
        sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(*legend))
        fig.colorbar(sm, ax=ax, label=labels.name)
    full = title + ("\n" + structure_title(structure) if structure else "")
    ax.set_title(full, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def parallel_png(
    vectors: np.ndarray,
    keys: np.ndarray,
    labels: Labels,
    path: str | Path,
    title: str,
    max_dims: int = 16,
    max_lines: int = 400,
    seed: int = 0,
) -> Path:
    """Parallel coordinates of the first ``max_dims`` (z-scored) embedding dimensions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels.check_aligned(keys)
    v = np.asarray(vectors, np.float64)[:, :max_dims]
    v = (v - v.mean(0)) / (v.std(0) + 1e-12)
    cols, legend, cmap = _colours(labels)
    rows = np.random.default_rng(seed).permutation(len(v))[:max_lines]
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * v.shape[1] + 2), 4.5), dpi=110)
    dims = np.arange(v.shape[1])
    for i in rows:
        ax.plot(dims, v[i], color=cols[i], alpha=0.35, lw=0.7)
    for d in dims:
        ax.axvline(d, color="0.6", lw=0.5)
    ax.set_xticks(dims, [f"d{d}" for d in dims], fontsize=7)
    ax.set_ylabel("z-score")
    if labels.categorical and len(legend) <= _MAX_LEGEND:
        for i, cat in enumerate(legend):
            ax.plot([], [], color=cmap(i % cmap.N), label=str(cat))
        ax.legend(fontsize=7, title=labels.name, title_fontsize=8, loc="upper right")
    ax.set_title(f"{title} ({len(rows)} of {len(v)} samples)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def scatter_html(
    points: np.ndarray,
    keys: np.ndarray,
    labels: Labels,
    path: str | Path,
    title: str,
    structure: dict | None = None,
    size: int = 640,
) -> Path:
    """A standalone HTML page (inline SVG, no scripts to fetch): hover shows each point's key."""
    import matplotlib.colors as mcolors

    labels.check_aligned(keys)
    cols, _, _ = _colours(labels)
    p = np.asarray(points, np.float64)
    lo, hi = p.min(0), p.max(0)
    xy = 20 + (size - 40) * (p - lo) / np.where(hi > lo, hi - lo, 1)
    dots = []
    for (x, y), c, k, val in zip(xy, cols, keys, labels.values, strict=False):
        tip = html.escape(f"event {k[0]} frame {k[1]} row {k[2]} col {k[3]} | {labels.name}={val}")
        dots.append(
            f'<circle cx="{x:.1f}" cy="{size - y:.1f}" r="3" fill="{mcolors.to_hex(c)}">'
            f"<title>{tip}</title></circle>"
        )
    sub = html.escape(structure_title(structure)) if structure else ""
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}circle:hover{r:6;stroke:#000}</style></head><body>"
        f"<h3>{html.escape(title)}</h3><p>{sub}</p>"
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'style="border:1px solid #ccc">{"".join(dots)}</svg></body></html>'
    )
    Path(path).write_text(page)
    return Path(path)
