"""Green–Ampt infiltration (Green & Ampt 1911; Mein & Larson 1973) per cell, with a soil store.

Infiltration capacity f = Ks (1 + psi * dtheta / F), with F the cumulative infiltrated depth
of the cell (m), Ks the saturated hydraulic conductivity, psi the suction head at the wetting
front and dtheta the moisture deficit (porosity minus initial moisture). Under ponding over
a step of length dt the exact increment solves the integrated (implicit) form

    F1 - F0 - S ln((F1 + S) / (F0 + S)) = Ks dt,      S = psi * dtheta,

which ``capacity`` solves by Newton's method (convex, increasing in F1; clamped at the lower
bound F0 + Ks dt). A cell infiltrates as LISFLOOD-FP's constant rate does: only where the
start-of-step depth exceeds the threshold, at most the water present. The increment becomes
the cell's loss rate for that step, so the kernels and the mass ledger need nothing new; the
soil store F is part of the simulation state (hot starts).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit, prange

MM = 1e-3
MMH_TO_MS = 1.0 / 3.6e6


@dataclass
class GreenAmpt:
    """Soil parameters, each a scalar or a [y, x] array: ``ks_mmh`` saturated conductivity
    (mm/h, >= 0), ``psi_mm`` wetting-front suction head (mm, >= 0), ``deficit`` moisture
    deficit dtheta (-, in [0, 1]), ``initial_mm`` infiltrated depth already in the soil."""

    ks_mmh: float | np.ndarray
    psi_mm: float | np.ndarray
    deficit: float | np.ndarray
    initial_mm: float | np.ndarray = 0.0

    def __post_init__(self) -> None:
        for name, lo, hi in (
            ("ks_mmh", 0.0, np.inf),
            ("psi_mm", 0.0, np.inf),
            ("deficit", 0.0, 1.0),
            ("initial_mm", 0.0, np.inf),
        ):
            v = np.asarray(getattr(self, name), dtype=np.float64)
            bad = (
                ~(np.isfinite(v) & (v >= lo) & (v <= hi))
                if hi < np.inf
                else ~(np.isfinite(v) & (v >= lo))
            )
            if np.any(bad):
                where = ""
                if v.ndim == 2:
                    r, c = (int(i) for i in np.argwhere(bad)[0])
                    where = f" at cell (row {r}, col {c})"
                    v = v[r, c]
                rng = f"[{lo:g}, {hi:g}]" if hi < np.inf else f">= {lo:g}"
                raise ValueError(
                    f"Green-Ampt {name} must be finite and {rng}, got {float(v):g}{where}"
                )

    def grids(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Ks in m/s, S = psi*dtheta in m, initial F in m), float64 [ny, nx] each."""

        def full(v):
            a = np.asarray(v, dtype=np.float64)
            if a.ndim == 2 and a.shape != tuple(shape):
                raise ValueError(f"Green-Ampt grid {a.shape} does not match the DEM {shape}")
            return np.broadcast_to(a, shape).copy()

        ks = full(self.ks_mmh) * MMH_TO_MS
        s = full(self.psi_mm) * MM * full(self.deficit)
        return ks, s, full(self.initial_mm) * MM


@njit(cache=True, nogil=True, fastmath=False)
def capacity(f0: float, ks: float, s: float, dt: float) -> float:
    """Exact ponded Green–Ampt increment over dt from cumulative depth f0 (all in m, s)."""
    kdt = ks * dt
    if kdt <= 0.0:
        return 0.0
    if s <= 0.0:
        return kdt  # no suction: f = Ks
    lo = f0 + kdt  # f >= Ks: the increment is at least Ks dt
    x = lo + np.sqrt(2.0 * s * kdt)
    for _ in range(50):
        g = x - f0 - s * np.log((x + s) / (f0 + s)) - kdt
        step = g * (x + s) / x
        x = max(x - step, lo)
        if abs(step) <= 1e-13 * max(x, 1e-9):
            break
    return x - f0


@njit(parallel=True, cache=True, nogil=True)
def rates(h, cum, ks, s, active, thr, dt, out):
    """Loss rate (m/s) of each cell for one step, and the soil store update.

    Where h > thr (start-of-step depth) the cell takes min(h, capacity) and adds it to
    ``cum``; elsewhere nothing. ``out`` is in the state dtype (as the kernels' loss arrays).
    """
    ny, nx = h.shape
    for i in prange(ny):
        for j in range(nx):
            hv = np.float64(h[i, j])
            a = 0.0
            if active[i, j] and hv > thr:
                a = min(hv, capacity(cum[i, j], ks[i, j], s[i, j], dt))
                cum[i, j] += a
            out[i, j] = a / dt


def cumulative_ponded(t: float, ks_mmh: float, psi_mm: float, deficit: float) -> float:
    """Cumulative infiltration F(t) (mm) under continuous ponding from F(0) = 0: the root of
    F - S ln(1 + F/S) = Ks t (S = psi * deficit), by bisection (for tests and docs)."""
    ks, s = ks_mmh / 3600.0, psi_mm * deficit
    if s <= 0:
        return ks * t
    lo, hi = ks * t, ks * t + np.sqrt(2.0 * s * ks * t) + 2.0 * s + 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid - s * np.log1p(mid / s) - ks * t > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)
