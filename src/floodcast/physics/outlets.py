"""Interior outlets: open nodata cells (free outflow) and sea cells (a fixed level).

A coast inside the grid is a set of cell faces between a valid (land) cell and an *outlet*
cell, which the solver otherwise treats as a wall (``kernels.WALL_Z``: no flow):

* an **open nodata** cell (``--nodata open``) takes LISFLOOD-FP's FREE outflow rule, the one
  of a ``free`` domain edge (``kernels._free_q``): the local water-surface slope between the
  land cell and its neighbour on the far side drives an outward discharge (never inflow);
* a **sea** cell (``--sea-level M``: a valid cell at or below M) takes the ``level:M`` edge
  rule (``kernels._face`` with a ghost water surface at M over the land cell's bed): the
  same momentum equation as an interior face, so the outflow follows the slope from the
  land's water surface down to the sea.

Both kinds of outlet cells stay inactive (no depth, no rain), so what crosses an outlet face
leaves the domain. ``step_outlets`` is ``kernels.step`` with one more O(coast) pass after the
perimeter faces, and it sums the limited outlet discharges for the mass ledger
(``boundary_out_m3``, and ``outlet_out_m3`` on its own). ``kernels.step`` and the passes the
batched solvers call are unchanged.

Face table ``faces`` (int64 [n, 5]): axis (0 x-face, 1 y-face), face row, face column,
direction (+1: the land cell is the W/N cell, outflow towards E/S; -1: the land cell is the
E/S cell) and kind (1 free, 2 level); ``fvals`` (state dtype [n, 2]): the land cell's n²
and the level (shifted elevation; unused for free faces).
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

from . import kernels as K
from .jit_cache import key_on_sources

FREE, LEVEL = 1, 2


def outlet_faces(
    active: np.ndarray,
    open_cells: np.ndarray,
    sea_cells: np.ndarray,
    n_cell: float | np.ndarray,
    sea_level: float,
    dtype=np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Faces between an active cell and an outlet cell (open nodata or sea).

    Args:
        active: bool [ny, nx], the cells the solver updates (land).
        open_cells: bool [ny, nx], nodata cells with free outflow.
        sea_cells: bool [ny, nx], cells held at ``sea_level``.
        n_cell: Manning n, a scalar or [ny, nx] (``friction.cell_n``).
        sea_level: the sea's water-surface elevation in the solver's (shifted) frame.
        dtype: state dtype.

    Returns:
        (faces int64 [n, 5], fvals dtype [n, 2]); see the module notes.
    """
    kind = np.zeros(active.shape, np.int64)
    kind[open_cells & ~active] = FREE
    kind[sea_cells & ~active] = LEVEL
    n2 = np.broadcast_to(np.asarray(n_cell, np.float64) ** 2, active.shape)
    rows: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    # x-faces: cell (i, j-1) | cell (i, j), face column j; y-faces: (i-1, j) / (i, j), row i
    for axis, (a0, a1, k0, k1, off) in enumerate(
        (
            (active[:, :-1], active[:, 1:], kind[:, :-1], kind[:, 1:], (0, 1)),
            (active[:-1], active[1:], kind[:-1], kind[1:], (1, 0)),
        )
    ):
        for direction, land, kout in ((1, a0, k1), (-1, a1, k0)):
            i, j = np.nonzero(land & (kout > 0))
            fi, fj = i + off[0], j + off[1]
            li, lj = (i, j) if direction == 1 else (fi, fj)  # the land cell
            rows.append(
                np.stack(
                    [np.full(i.size, axis), fi, fj, np.full(i.size, direction), kout[i, j]], axis=1
                )
            )
            vals.append(np.stack([n2[li, lj], np.full(i.size, sea_level)], axis=1))
    faces = np.concatenate(rows).astype(np.int64).reshape(-1, 5)
    fvals = np.concatenate(vals).astype(dtype).reshape(-1, 2)
    return faces, fvals


@njit(fastmath=True, error_model="numpy", cache=True, nogil=True)
def flux_outlets(h, z, qx, qy, qxn, qyn, faces, fvals, p):
    """Discharges on the outlet faces (overwrites the interior pass's zeros there); returns
    the maximum face wave speed and effective speed, as ``kernels.flux_boundary``."""
    ny, nx = h.shape
    zero = p[K.P_ZERO]
    half = p[K.P_HALF]
    vhalf, r4g = K._vscale(p)
    c = K._consts(p)
    smax = zero
    vmax = zero
    for k in range(faces.shape[0]):
        axis, fi, fj, d, kind = faces[k, 0], faces[k, 1], faces[k, 2], faces[k, 3], faces[k, 4]
        n2v = fvals[k, 0]
        if axis == 0:
            li, lj = fi, (fj - 1 if d > 0 else fj)
            ii, ij = li, lj - d  # the land cell's neighbour on the far side
            inside = 0 <= ij < nx
            q0 = qx[fi, fj]
            qp = half * (qy[li, lj] + qy[li + 1, lj])
        else:
            li, lj = (fi - 1 if d > 0 else fi), fj
            ii, ij = li - d, lj
            inside = 0 <= ii < ny
            q0 = qy[fi, fj]
            qp = half * (qx[li, lj] + qx[li, lj + 1])
        hb = h[li, lj]
        zb = z[li, lj]
        if kind == FREE:
            in_wall = True
            eta_in = zero
            if inside:
                in_wall = z[ii, ij] >= K.WALL_Z
                eta_in = z[ii, ij] + h[ii, ij]
            qm, spd, slope = K._free_q(hb, zb + hb, eta_in, in_wall, q0, n2v, p)
            q = qm if d > 0 else -qm
        else:
            lev = fvals[k, 1]
            if d > 0:
                q, u, hw, slope = K._face(zb + hb, lev, zb, zb, q0, q0, qp, n2v, c)
            else:
                q, u, hw, slope = K._face(lev, zb + hb, zb, zb, q0, q0, qp, n2v, c)
            spd = u + np.sqrt(p[K.P_G] * hw)
        if axis == 0:
            qxn[fi, fj] = q
        else:
            qyn[fi, fj] = q
        smax = max(smax, spd)
        vmax = max(vmax, K._veff(spd, slope, r4g, vhalf))
    return smax, vmax


@njit(cache=True, nogil=True)
def outlet_outflow(qx, qy, faces):
    """Net outflow through the outlet faces as a unit-discharge sum (m²/s; x dx -> m³/s),
    from the limited discharges ``continuity`` wrote back into qx/qy."""
    out = 0.0
    for k in range(faces.shape[0]):
        q = qx[faces[k, 1], faces[k, 2]] if faces[k, 0] == 0 else qy[faces[k, 1], faces[k, 2]]
        out += faces[k, 3] * q
    return out


@njit(cache=True, nogil=True)
def step_outlets(
    h,
    z,
    qx,
    qy,
    qxn,
    qyn,
    n2x,
    n2y,
    p,
    kinds,
    levels,
    fac,
    rain,
    infil,
    drain,
    active,
    maxd,
    in_rows,
    in_cols,
    in_depths,
    row_speed,
    row_veff,
    row_hmax,
    row_bnd,
    row_clip,
    row_inf,
    row_drain,
    faces,
    fvals,
):
    """``kernels.step`` with interior outlet faces (``faces``/``fvals``, see the module).

    Returns ``kernels.step``'s tuple, the boundary outflow including the outlets, and the
    outlets' share on its own: (max depth, speed, effective speed, boundary + outlet outflow,
    clipped, infiltrated, drained, outlet outflow), discharges as unit-discharge sums.
    """
    K.flux_interior(h, z, qx, qy, qxn, qyn, n2x, n2y, p, row_speed, row_veff)
    bspeed, bveff = K.flux_boundary(h, z, qx, qy, qxn, qyn, n2x, n2y, p, kinds, levels)
    ospeed, oveff = flux_outlets(h, z, qx, qy, qxn, qyn, faces, fvals, p)
    K.limiter(h, qxn, qyn, fac, infil, drain, p)
    K.add_point_volumes(h, in_rows, in_cols, in_depths)
    K.continuity(
        h,
        qxn,
        qyn,
        fac,
        qx,
        qy,
        rain,
        infil,
        drain,
        active,
        maxd,
        p,
        row_hmax,
        row_bnd,
        row_clip,
        row_inf,
        row_drain,
    )
    speed = max(row_speed.max(), bspeed, ospeed)
    veff = max(row_veff.max(), bveff, oveff)
    bnd, clip, inf, drn = K.row_totals(row_bnd, row_clip, row_inf, row_drain)
    qout = outlet_outflow(qx, qy, faces)
    return row_hmax.max(), speed, veff, bnd + qout, clip, inf, drn, qout


# they inline kernels' face arithmetic: recompile when kernels.py changes, not only this file
key_on_sources(sys.modules[__name__], K)
