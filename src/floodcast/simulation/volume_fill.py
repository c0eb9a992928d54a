"""Volume fill: each coarse cell's water volume poured into its own F x F fine cells, lowest
first, up to the level that holds it (mass-conserving per block; walls take no water).

The static part (every block's sorted elevations, their running sums) is computed once per
DEM (``fill_tables``), so a map costs one pass over the blocks (``fill_from_tables``).
``VolumeFill`` holds the tables of one DEM, with the sub-grid solver's depression storage
when asked. A baseline of ``floodcast.evaluation.downscale``, a downscaler input channel
(``simulation.downscale_fields.FineGrid``) and ``--downscale volume-fill``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def upsample_nearest(a: np.ndarray, factor: int) -> np.ndarray:
    """Each coarse cell's value on its ``factor`` x ``factor`` fine cells ([..., y, x])."""
    return np.repeat(np.repeat(np.asarray(a), factor, axis=-2), factor, axis=-1)


def fill_tables(z: np.ndarray, factor: int) -> dict[str, np.ndarray]:
    """The static part of ``volume_fill_depth``: every block's elevations sorted (walls last,
    never filled), their running sums and the next elevation up."""
    f = int(factor)
    ny, nx = np.shape(z)
    blocks = np.asarray(z, np.float64).reshape(ny // f, f, nx // f, f).transpose(0, 2, 1, 3)
    zs = np.sort(np.where(np.isfinite(blocks), blocks, np.inf).reshape(-1, f * f), axis=1)
    k = np.arange(1, f * f + 1)
    return {
        "csum": np.cumsum(np.where(np.isfinite(zs), zs, 0.0), 1),
        "nxt": np.concatenate([zs[:, 1:], np.full((len(zs), 1), np.inf)], 1),
        "k": k,
        "usable": k[None, :] <= np.maximum(np.isfinite(zs).sum(1), 1)[:, None],
        "z": np.asarray(z, np.float64),
        "factor": np.asarray(f),
    }


def fill_from_tables(
    t: dict[str, np.ndarray], hc: np.ndarray, out: np.ndarray | None = None
) -> np.ndarray:
    """``volume_fill_depth`` of coarse depth ``hc`` from ``fill_tables`` of the fine DEM,
    added to ``out`` (float32 [y, x]) if given."""
    f, z = int(t["factor"]), t["z"]
    ny, nx = z.shape
    h = np.asarray(hc, np.float64).reshape(ny // f, nx // f)
    out = np.zeros(z.shape, np.float32) if out is None else out
    _pour(h, f, t["csum"], t["nxt"], t["k"], t["usable"], z, out)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _pour(h, f, csum, nxt, k, usable, z, out):
    """Add to ``out`` [y, x] (float32) each block's water ``h`` [y/F, x/F] (m per block area;
    NaN: none) poured lowest first: the level is that of the fewest lowest cells whose
    common level holds the volume (m x fine cells), the depth level - z where z is valid.
    One pass over the blocks (compiled: 8x less time than the same in NumPy passes)."""
    yc, xc = h.shape
    for bi in range(yc):
        for bj in range(xc):
            b = bi * xc + bj
            v = h[bi, bj]
            vol = (0.0 if np.isnan(v) else v) * f * f
            if not vol > 0.0:
                continue
            first = 0  # none fits (a wall block): the first, as an argmax of no True
            for m in range(csum.shape[1]):
                if usable[b, m] and (vol + csum[b, m]) / k[m] <= nxt[b, m]:
                    first = m
                    break
            level = (vol + csum[b, first]) / k[first]
            for i in range(bi * f, bi * f + f):
                for j in range(bj * f, bj * f + f):
                    if np.isfinite(z[i, j]):
                        out[i, j] += np.float32(max(level - z[i, j], 0.0))


class VolumeFill:
    """``volume_fill_depth`` on one fine DEM, its tables made once. ``pits`` (runs of the
    sub-grid solver: its depression storage, ``physics.subgrid_pits.leaky_pits``): the run's
    depth holds that storage; each block's water up to it fills the block's own pits lowest
    first, the rest is poured on the DEM with them filled, as the sub-grid solver stores it.
    None: no storage (the plain coarse rules)."""

    def __init__(self, z: np.ndarray, factor: int, pits: np.ndarray | None = None):
        f = int(factor)
        z = np.asarray(z, np.float64)
        self.dead: np.ndarray | None = None  # storage (m, per block area) of each block
        if pits is not None and pits.any():
            ny, nx = z.shape
            self.dead = pits.reshape(ny // f, f, nx // f, f).sum((1, 3)) / f**2
            self._pits = fill_tables(np.where(pits > 0, z, np.nan), f)
            z = z + pits
        self._main = fill_tables(z, f)

    def __call__(self, hc: np.ndarray) -> np.ndarray:
        if self.dead is None:
            return fill_from_tables(self._main, hc)
        h = np.nan_to_num(np.asarray(hc, np.float64))
        dead = np.minimum(h, self.dead)
        return fill_from_tables(self._main, h - dead, fill_from_tables(self._pits, dead))


def volume_fill_depth(z: np.ndarray, hc: np.ndarray, factor: int) -> np.ndarray:
    """Each coarse cell's water volume poured into its own F x F fine cells, lowest first,
    up to the level that holds it (mass-conserving per block; walls take no water)."""
    return fill_from_tables(fill_tables(z, factor), hc)
