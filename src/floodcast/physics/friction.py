"""Manning n on cell faces, as the kernels take it (n² per face), and per-cell loss rates.

LISFLOOD-FP 8.1 (``acceleration``) takes the **arithmetic mean of the two cells' n** on an
interior face (fp_acc.cpp:58 for x-faces, :154 for y-faces) and squares it in the friction
term; a FREE boundary face uses the **edge cell's own n** (boundary.cpp:105). ``face_n2``
precomputes exactly that once per grid, so the kernels read one n² per face and do no
averaging; a uniform n becomes one broadcast row (no per-face memory traffic).

The same arrays serve any caller of the kernels (the single-run ``Simulation`` and batched
solvers): ``face_n2(n, active, dtype)`` -> ``(n2x [ny, nx+1], n2y [ny+1, nx])``.
"""

from __future__ import annotations

import numpy as np

MMH_TO_MS = 1.0 / 3.6e6


def cell_n(
    manning: float | np.ndarray, shape: tuple[int, int], active: np.ndarray
) -> np.ndarray | float:
    """Validate a Manning n (scalar or [ny, nx] array) against the grid.

    Returns a float for a uniform n (an array whose valid cells all share one value counts as
    uniform), else a float64 [ny, nx] array with wall (inactive) cells set to the mean of the
    valid ones (walls carry no flow; any positive value keeps the face mean finite).

    Raises:
        ValueError: wrong shape, NaN or n <= 0 in a valid cell (names the first such cell).
    """
    n = np.asarray(manning, dtype=np.float64)
    if n.ndim == 0:
        v = float(n)
        if not (np.isfinite(v) and v > 0):
            raise ValueError(f"manning must be > 0 (s m^-1/3), got {v!r}")
        return v
    if n.shape != tuple(shape):
        raise ValueError(f"manning grid {n.shape} does not match the DEM {tuple(shape)}")
    bad = active & ~(np.isfinite(n) & (n > 0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"manning must be finite and > 0 in every valid cell: cell (row {r}, "
            f"col {c}) has n = {n[r, c]!r} ({int(bad.sum())} such cells)"
        )
    vals = n[active]
    if vals.size and np.all(vals == vals[0]):
        return float(vals[0])
    return np.where(active, n, float(vals.mean()))


def face_n2(
    n: float | np.ndarray, shape: tuple[int, int], dtype=np.float32
) -> tuple[np.ndarray, np.ndarray]:
    """n² per face: interior faces (0.5*(n0 + n1))², perimeter faces the edge cell's n².

    Args:
        n: a scalar (uniform) or a validated [ny, nx] cell array (``cell_n``).
        shape: (ny, nx) of the grid.
        dtype: state dtype of the kernels.

    Returns:
        (n2x, n2y): [ny, nx+1] and [ny+1, nx]; for a scalar n one row each, [1, nx+1] and
        [1, nx], which the kernels broadcast over every row.
    """
    ny, nx = shape
    if np.ndim(n) == 0:
        v = float(n) ** 2
        return np.full((1, nx + 1), v, dtype=dtype), np.full((1, nx), v, dtype=dtype)
    # float32 face mean as LISFLOOD-FP (0.5f * (n0 + n1)), squared in the state dtype
    c = np.asarray(n).astype(dtype)
    half = np.dtype(dtype).type(0.5)
    nfx = np.empty((ny, nx + 1), dtype=dtype)
    nfx[:, 1:nx] = half * (c[:, :-1] + c[:, 1:])
    nfx[:, 0], nfx[:, nx] = c[:, 0], c[:, -1]
    nfy = np.empty((ny + 1, nx), dtype=dtype)
    nfy[1:ny] = half * (c[:-1] + c[1:])
    nfy[0], nfy[ny] = c[0], c[-1]
    return nfx * nfx, nfy * nfy


def loss_rate(
    rate_mmh: float | np.ndarray,
    shape: tuple[int, int],
    active: np.ndarray,
    name: str,
    dtype=np.float32,
) -> np.ndarray:
    """A loss rate (mm/h, scalar or [ny, nx]) as the kernels take it: m/s, [1, nx] or [ny, nx].

    Raises:
        ValueError: wrong shape, or a negative / non-finite rate in a valid cell.
    """
    r = np.asarray(rate_mmh, dtype=np.float64)
    nx = shape[1]
    if r.ndim == 0:
        v = float(r)
        if not (np.isfinite(v) and v >= 0):
            raise ValueError(f"{name} must be >= 0 mm/h, got {v!r}")
        return np.full((1, nx), v * MMH_TO_MS, dtype=dtype)
    if r.shape != tuple(shape):
        raise ValueError(f"{name} grid {r.shape} does not match the DEM {tuple(shape)}")
    bad = active & ~(np.isfinite(r) & (r >= 0))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} must be finite and >= 0 mm/h in every valid cell: cell (row "
            f"{i}, col {j}) has {r[i, j]!r} ({int(bad.sum())} such cells)"
        )
    return (np.where(active, r, 0.0) * MMH_TO_MS).astype(dtype)
