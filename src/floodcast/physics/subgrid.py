"""Sub-grid local-inertial solver: a coarse grid that keeps the fine DEM's storage and sills.

Each coarse cell (a block of F x F fine cells) holds a water volume V and one level eta,
found from the block's own hypsometry: V(eta) = a_f * sum_k max(eta - z_k, 0) over its fine
cells (a_f the fine cell area), so water at a given volume stands in the block's channel or
pond at the level the fine DEM gives it, not spread over the block. Every coarse face is F
fine sub-faces, each with its own sill (the higher of the two fine cells it joins). At the
face's level (the higher block's) its wet sub-faces give a flow area A = sum_k h_k and a
conveyance K = sum_k h_k^(5/3) / m_k (m_k the film factor below), and the face carries one
discharge by the local-inertial equation (Bates et al. 2010) on A, with the friction of K:
q (1 + g dt n^2 A / K^2 |q|) = q_old - g dt A S. At steady flow that is the sum of the
sub-faces' own Manning fluxes, K sqrt(S) / n: a 2 m channel crossing a block face conveys
through its own sill, as in the fine run, instead of through the block's mean or lowest
elevation. This is the sub-grid topography of Casulli (2009) and Volp et al. (2013) (a
face's conveyance from its sub-grid depths) in the explicit local-inertial scheme. Version 3
gave every sub-face its own discharge; one per face gave the same depths on the benchmark's
events (volumes within 1 %) at 2.6-3.2x less time per run (2026-12-07 results page): the
per-sub-face work is now only the sum of A and K, vectorised along the faces.

Friction is fully implicit (solved in closed form) rather than the main solver's
semi-implicit form: a step of any length cannot push a face past the Manning flux of its
level gradient. So the step needs no slope term (the main solver's g|S| dt^2 <= cfl dx,
which on steep ground makes dt grow only as sqrt(dx), not as dx):
dt = min(max_step, cfl dx_c / max(|u| + sqrt(g h_max)) over every wet face (|u| that of the
deepest sub-face at the Manning split of q, |q| h_max^(2/3) / K),
2 cfl sqrt(A_w dx_c / (g dx_f sum A)) over every block with wet area A_w, the sum over its
faces). The gravity wave of a narrow channel in a wide block travels at sqrt(g h) along
the channel; the last bound keeps a block whose wet area is small (a pit) from overshooting
its neighbour's level. Measured on the downscaling benchmark's held-out events (2026-12-03):
2-3.9x fewer steps at x4 than with the main solver's bound and friction, the same volume-fill
CSI (0.727 against 0.726). The drying limiter is the strict one (outflow capped by the volume
in the cell): volumes never go negative, mass is conserved to round-off.

Depression storage (``physics.subgrid_pits``) keeps the fine pits one level per block
would drain; a film roughness (Manning n up to ``defaults.SUBGRID_FILM_ROUGHNESS`` times
larger on sub-faces shallower than ``SUBGRID_FILM_DEPTH_M``) slows the water one level
pools from a hillslope's film, which the fine run drains as millimetres, not centimetres.

Edges: ``closed`` or ``free`` (LISFLOOD-FP's FREE outflow through every edge face, slope from
the edge cell to its inward neighbour); ``level`` edges, losses and point inflows are not
supported. Depth out is the block's volume per block area, as a plain coarse run's.
The run itself (forcing, saves, mass ledger) is ``floodcast.physics.subgrid_run``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from floodcast.errors import InputError
from floodcast.physics.subgrid_pits import leaky_pits


@dataclass(frozen=True)
class SubgridTerrain:
    """The fine DEM folded into a coarse grid: per block the sorted fine elevations and the
    volume at each, per coarse face the sills of its F sub-faces (inf: no flow), sorted and
    stored as F layers of faces (the kernel's conveyance runs along the faces)."""

    factor: int
    cell_fine: float
    levels: np.ndarray  # [yc, xc, F*F] sorted fine elevations (inf past the valid ones)
    vol_at: np.ndarray  # [yc, xc, F*F] volume (m3) with the level at levels[..., m]
    nvalid: np.ndarray  # [yc, xc] valid fine cells (0: a wall block)
    dead: np.ndarray  # [yc, xc] depression storage (m3): water held in closed fine pits
    sill_x: np.ndarray  # [F, yc, xc + 1] x-faces incl. the W and E edges, lowest first
    sill_y: np.ndarray  # [F, yc + 1, xc] y-faces incl. the N and S edges, lowest first

    @property
    def shape(self) -> tuple[int, int]:
        return self.nvalid.shape

    @property
    def wall(self) -> np.ndarray:
        """Blocks with fewer than half their fine cells valid, as ``block_mean_grid``."""
        return self.nvalid * 2 < self.factor**2


def subgrid_terrain(
    z: np.ndarray,
    factor: int,
    cell_fine: float,
    depressions: bool = True,
    pits: np.ndarray | None = None,
) -> SubgridTerrain:
    """Fold the fine DEM ``z`` [y, x] (NaN = no data) into blocks of ``factor``.

    ``depressions``: the closed pits a block would drain (``physics.subgrid_pits``) are its
    depression storage ``dead``, filled first and never drained, and the hypsometry and sills
    are those of the DEM with them filled (False: none, the solver of version 2).
    ``pits``: ``leaky_pits(z, factor)`` if the caller has it (e.g. ``FineGrid.pits``)."""
    f = int(factor)
    ny, nx = z.shape
    if ny % f or nx % f:
        raise InputError(f"sub-grid terrain: grid {ny}x{nx} is not divisible by {f}")
    yc, xc = ny // f, nx // f
    zz = np.asarray(z, np.float64)
    if not depressions:
        pits = np.zeros_like(zz)
    elif pits is None:
        pits = leaky_pits(zz, f)
    zz = zz + pits  # NaN stays NaN
    blocks = zz.reshape(yc, f, xc, f).transpose(0, 2, 1, 3).reshape(yc, xc, f * f)
    nvalid = np.isfinite(blocks).sum(-1)
    wall = nvalid * 2 < f * f
    levels = np.sort(np.where(np.isfinite(blocks), blocks, np.inf), axis=-1)
    levels[wall] = np.inf
    nvalid = np.where(wall, 0, nvalid)
    a = float(cell_fine) ** 2
    fin = np.isfinite(levels)
    lv = np.where(fin, levels, 0.0)
    m = np.arange(f * f)
    vol_at = a * (m * lv - (np.cumsum(lv, -1) - lv))  # a * sum_{k<m} (s_m - s_k)
    dead = a * pits.reshape(yc, f, xc, f).sum((1, 3))
    dead[wall] = 0.0
    vol_at = np.where(fin, vol_at + dead[..., None], np.inf)
    zw = np.where(np.repeat(np.repeat(wall, f, 0), f, 1), np.nan, zz)  # wall blocks: no data
    sill_x = np.full((yc, xc + 1, f), np.inf)
    sill_y = np.full((yc + 1, xc, f), np.inf)
    pair_x = np.fmax(zw[:, f - 1 : -1 : f], zw[:, f::f])  # fine cells either side of a face
    pair_x[~(np.isfinite(zw[:, f - 1 : -1 : f]) & np.isfinite(zw[:, f::f]))] = np.inf
    sill_x[:, 1:-1] = pair_x.reshape(yc, f, xc - 1).transpose(0, 2, 1)
    sill_x[:, 0] = np.where(np.isfinite(zw[:, 0]), zw[:, 0], np.inf).reshape(yc, f)
    sill_x[:, -1] = np.where(np.isfinite(zw[:, -1]), zw[:, -1], np.inf).reshape(yc, f)
    pair_y = np.fmax(zw[f - 1 : -1 : f], zw[f::f])
    pair_y[~(np.isfinite(zw[f - 1 : -1 : f]) & np.isfinite(zw[f::f]))] = np.inf
    sill_y[1:-1] = pair_y.reshape(yc - 1, xc, f)
    sill_y[0] = np.where(np.isfinite(zw[0]), zw[0], np.inf).reshape(xc, f)
    sill_y[-1] = np.where(np.isfinite(zw[-1]), zw[-1], np.inf).reshape(xc, f)
    sill_x, sill_y = (
        np.ascontiguousarray(np.moveaxis(np.sort(s, -1), -1, 0)) for s in (sill_x, sill_y)
    )
    return SubgridTerrain(f, float(cell_fine), levels, vol_at, nvalid, dead, sill_x, sill_y)


def segments(frame_starts: np.ndarray, frame_end: float, save_times: np.ndarray):
    """(ends, frame index, saved) of the pieces between every rain-frame change and save
    time: a step never straddles either (frame index -1: after the last frame, no rain)."""
    starts = np.asarray(frame_starts, np.float64)
    saves = np.asarray(save_times, np.float64)
    cuts = np.union1d(starts[starts > 0], saves)
    if np.isfinite(frame_end):
        cuts = np.union1d(cuts, [frame_end])
    cuts = cuts[(cuts > 0) & (cuts <= saves.max())]
    mid = np.concatenate([[0.0], cuts[:-1]]) + 1e-9  # a time inside each piece
    frame = np.searchsorted(starts, mid, side="right") - 1
    frame[(mid < starts[0]) | (mid >= frame_end)] = -1
    saved = np.isin(cuts, saves)
    return cuts, frame.astype(np.int64), saved
