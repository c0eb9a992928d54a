"""Local-inertial 2-D flood solver (LISFLOOD-FP ``acceleration`` scheme) on a raster DEM.

Scheme: Bates, Horritt & Fewtrell (2010) with the theta weighting of de Almeida et al. (2012):
semi-implicit Manning friction, face flow depth max(eta) - max(z), no flow at or below the
depth threshold, drying limiter, adaptive step. See ``kernels`` for the passes of one step and
the README for the verification.

Step limit: LISFLOOD-FP uses dt = cfl*dx/sqrt(g*h_max), which ignores the flow speed and lets
the advective Courant number exceed 1 on steep terrain (water gained by clipping). With
``speed_aware_step=True`` (default) every face f also meets (|u| + sqrt(g h)) dt + g|S| dt^2 <=
cfl*dx with its own |u|, h and slope S: dt = cfl*dx / max(sqrt(g*h_max), max_f v_f) with v_f
the face's effective speed (``kernels._veff``).
"""

# size: one Simulation class owns the state, the step loop, the mass ledger and hot-start state;
# splitting it would scatter the invariants every step must keep (a follow-up could move
# SolverConfig validation out).

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from floodcast.defaults import CFL, MANNING_N, MAX_STEP_S
from floodcast.io.rain import RainSeries

from . import green_ampt, step_loop
from . import kernels as K
from . import outlets as OL
from .boundaries import KIND_CODES, Boundaries, PointInflow
from .friction import cell_n, face_n2, loss_rate
from .green_ampt import GreenAmpt
from .mass import MassBalance

MMH_TO_MS = 1.0 / 3.6e6


class SimulationError(RuntimeError):
    """Instability (NaN/inf, collapsing step), missing forcing, or mass error too large."""


@dataclass
class SolverConfig:
    """Numerical and physical settings. ``SolverConfig.lisflood()`` reproduces LISFLOOD-FP 8.1.

    Optional extras beyond the core contract:
        rain_at_step_start: if True, steps are *not* shortened at rain-frame changes and the
            rate at the start of a step holds for the whole step (as LISFLOOD-FP).
        precision: "float32" (default; fast, like LISFLOOD-FP's default build) or "float64"
            (state and arithmetic in double: round-off mass error ~1e-14 instead of ~1e-6).
        strict_limiter: drying limiter that never lets a depth go negative (outflow capped by
            the water in the cell, inflows not counted): exactly conservative. False uses
            LISFLOOD-FP's limiter (counts unlimited inflows; negative depths are clipped).
        shift_elevation: subtract the lowest elevation before the run (default), so that
            float32 water surfaces z + h resolve thin films (the ulp of 1300 m is 1.2e-4 m).
            False (the default of ``lisflood()``) keeps absolute elevations as LISFLOOD-FP
            does: its face depths max(eta) - max(z) are then quantised to that ulp, which
            decides which ~1 mm films flow and infiltrate (see
            docs/guide/physics-real-places.md).
        soil: Green–Ampt parameters (``green_ampt.GreenAmpt``) instead of a constant
            ``infiltration_mmh``: the capacity falls as the soil store fills.
        nodata: "wall" (default: NaN cells are closed walls) or "open" (free outflow from a
            valid cell into a NaN neighbour, LISFLOOD-FP's FREE edge rule; see ``outlets``).
        sea_level: None (default) or a water-surface elevation (m): valid cells at or below
            it are sea, held at that level (a ``level`` edge inside the grid: water that
            reaches them leaves the domain and is counted in ``boundary_out_m3``).

    Per-cell inputs: ``manning`` (s m^-1/3), ``infiltration_mmh`` and ``drainage_mmh``
    (mm/h) are each a scalar or a [y, x] array on the DEM grid. Face n is LISFLOOD-FP's
    mean of the two cells' n (see ``friction``). Both losses act as LISFLOOD-FP's
    infiltration: only where the start-of-step depth exceeds ``depth_threshold``, before
    rain and fluxes, at most the water present (infiltration first, then drainage).
    """

    manning: float | np.ndarray = MANNING_N
    cfl: float = CFL
    max_step: float = MAX_STEP_S
    theta: float = 1.0
    depth_threshold: float = 1e-3
    infiltration_mmh: float | np.ndarray = 0.0
    speed_aware_step: bool = True
    g: float = 9.80655
    max_mass_error: float = 1e-3
    rain_at_step_start: bool = False
    precision: str = "float32"
    strict_limiter: bool = True
    drainage_mmh: float | np.ndarray = 0.0
    shift_elevation: bool = True
    soil: GreenAmpt | None = None
    nodata: str = "wall"
    sea_level: float | None = None

    def __post_init__(self) -> None:
        if self.nodata not in ("wall", "open"):
            raise ValueError(f"nodata must be 'wall' or 'open', got {self.nodata!r}")
        if self.sea_level is not None and not math.isfinite(float(self.sea_level)):
            raise ValueError(f"sea_level must be a finite elevation (m), got {self.sea_level!r}")
        if self.precision not in ("float32", "float64"):
            raise ValueError(f"precision must be 'float32' or 'float64', got {self.precision!r}")
        n = np.asarray(self.manning, dtype=np.float64)
        finite = n[np.isfinite(n)]
        if finite.size == 0 or np.any(finite <= 0):
            raise ValueError(f"manning must be > 0 (s m^-1/3), got {self.manning!r}")
        if n.ndim not in (0, 2):
            raise ValueError("manning must be a scalar or a [y, x] array")
        if self.soil is not None and np.any(np.asarray(self.infiltration_mmh) != 0):
            raise ValueError("give either infiltration_mmh or a Green-Ampt soil, not both")
        if not 0 < self.cfl <= 1:
            raise ValueError(f"cfl must be in (0, 1], got {self.cfl}")
        if not self.max_step > 0:
            raise ValueError(f"max_step must be > 0 s, got {self.max_step}")
        if not 0 <= self.theta <= 1:
            raise ValueError(f"theta must be in [0, 1], got {self.theta}")
        if not self.depth_threshold >= 0:
            raise ValueError("depth_threshold must be >= 0 m")
        for name in ("infiltration_mmh", "drainage_mmh"):
            r = np.asarray(getattr(self, name), dtype=np.float64)  # grids: checked per cell
            if r.ndim not in (0, 2) or (r.ndim == 0 and not r >= 0):
                raise ValueError(f"{name} must be >= 0 mm/h (a scalar or a [y, x] array)")
        if not self.g > 0:
            raise ValueError("g must be > 0")

    @classmethod
    def lisflood(cls, **kw) -> SolverConfig:
        """LISFLOOD-FP 8.1 compatible: depth-only CFL step, rain rate taken at step start,
        LISFLOOD-FP's drying limiter, absolute elevations (no shift).

        LISFLOOD-FP holds z and z + h in float32 at their absolute values; its face depth
        max(eta) - max(z) is then a whole number of ulps of z (1.2e-4 m at 1300 m), and that
        rounding decides which ~1 mm films flow and so which cells infiltrate (a loss only
        acts above the 1 mm threshold). Shifted elevations resolve the films exactly (as a
        float64 run does) and infiltrate 16 % less than LISFLOOD-FP on greenriver_manning.
        """
        kw.setdefault("speed_aware_step", False)
        kw.setdefault("shift_elevation", False)
        kw.setdefault("strict_limiter", False)
        kw.setdefault("rain_at_step_start", True)
        return cls(**kw)


class Simulation:
    """A flood simulation on one DEM; advance it in time with ``advance`` (or ``run``)."""

    #: step in the Python loop even where the compiled one (``step_loop``) applies: for the
    #: tests that compare the two and for benchmarks
    _python_loop: bool = False

    def __init__(
        self,
        elevation: np.ndarray,
        cell_size: float,
        rain: RainSeries,
        config: SolverConfig | None = None,
        boundaries: Boundaries | None = None,
        inflows: Sequence[PointInflow] = (),
        initial_depth: np.ndarray | None = None,
    ):
        cfg = config if config is not None else SolverConfig()
        self.config = cfg
        elev = np.asarray(elevation, dtype=np.float64)
        if elev.ndim != 2 or min(elev.shape) < 1:
            raise ValueError(f"elevation must be a 2-D [y, x] array, got shape {elev.shape}")
        if not (cell_size > 0 and math.isfinite(cell_size)):
            raise ValueError(f"cell_size must be > 0 m, got {cell_size}")
        ny, nx = elev.shape
        self.shape = (ny, nx)
        self.cell_size = float(cell_size)
        self.area = self.cell_size**2
        finite = np.isfinite(elev)
        if not finite.any():
            raise ValueError("elevation has no valid (non-NaN) cell")
        # outlet cells (open nodata, sea) are inactive like walls; their faces get outflow
        self.sea = np.zeros_like(finite)
        if cfg.sea_level is not None:
            self.sea = finite & (np.where(finite, elev, np.inf) <= float(cfg.sea_level))
        self.active = finite & ~self.sea
        if not self.active.any():
            raise ValueError(f"every valid cell is at or below the sea level {cfg.sea_level} m")
        open_cells = ~finite if cfg.nodata == "open" else np.zeros_like(finite)
        self.has_walls = bool((~self.active).any())
        self.z_offset = float(np.nanmin(elev)) if cfg.shift_elevation else 0.0
        dt_ = np.float32 if cfg.precision == "float32" else np.float64
        self.dtype = dt_
        self.z = np.where(self.active, elev - self.z_offset, K.WALL_Z).astype(dt_)
        self.boundaries = boundaries if boundaries is not None else Boundaries()
        self._kinds = np.array(
            [KIND_CODES[self.boundaries.edge(s).kind] for s in ("north", "south", "east", "west")],
            dtype=np.int64,
        )
        self._levels = np.zeros(4, dtype=dt_)
        for k, s in enumerate(("north", "south", "east", "west")):
            e = self.boundaries.edge(s)
            if e.kind == "level":
                self._levels[k] = e.level - self.z_offset
        # rain
        rates = np.asarray(rain.rates_mmh)
        if rates.ndim == 3 and rates.shape[1:] != (ny, nx):
            raise ValueError(f"rain grid {rates.shape[1:]} does not match the DEM {(ny, nx)}")
        if rates.ndim not in (1, 3):
            raise ValueError("rain.rates_mmh must be [t] or [t, y, x]")
        times = np.asarray(rain.times_s, dtype=np.float64)
        if times.shape[0] != rates.shape[0] or (times.size > 1 and np.any(np.diff(times) <= 0)):
            raise ValueError("rain.times_s must be strictly increasing, one per frame")
        self.rain = rain
        self._rain_times = times
        self._frame_cache: tuple[int, np.ndarray, bool, float] | None = None
        self._loop: step_loop.StepLoop | None = None  # the compiled loop's state, if used
        # manning n² per face (LISFLOOD-FP's face rule) and loss rates (m/s) per cell
        n_cell = cell_n(cfg.manning, (ny, nx), self.active)
        self._n2x, self._n2y = face_n2(n_cell, (ny, nx), dt_)
        self._outlets: tuple[np.ndarray, np.ndarray] | None = None
        if open_cells.any() or self.sea.any():
            sea_z = 0.0 if cfg.sea_level is None else float(cfg.sea_level) - self.z_offset
            self._outlets = OL.outlet_faces(self.active, open_cells, self.sea, n_cell, sea_z, dt_)
        self._infil = loss_rate(cfg.infiltration_mmh, (ny, nx), self.active, "infiltration", dt_)
        self._drain = loss_rate(cfg.drainage_mmh, (ny, nx), self.active, "drainage", dt_)
        self._soil = None  # Green–Ampt: (Ks m/s, S m, cumulative F m), float64 grids
        if cfg.soil is not None:
            self._soil = cfg.soil.grids((ny, nx))
            self._infil = np.zeros((ny, nx), dtype=dt_)  # rewritten every step
        # inflows
        self.inflows = tuple(inflows)
        for f in self.inflows:
            if not (0 <= f.row < ny and 0 <= f.col < nx) or not self.active[f.row, f.col]:
                raise ValueError(f"point inflow at ({f.row}, {f.col}) is outside the valid grid")
        self._in_rows = np.array([f.row for f in self.inflows], dtype=np.int64)
        self._in_cols = np.array([f.col for f in self.inflows], dtype=np.int64)
        # state
        if initial_depth is None:
            h = np.zeros((ny, nx), dtype=dt_)
        else:
            h = np.asarray(initial_depth, dtype=np.float64)
            if h.shape != (ny, nx):
                raise ValueError(f"initial_depth shape {h.shape} != DEM {(ny, nx)}")
            h = np.where(self.active, h, 0.0)
            if not np.all(np.isfinite(h)) or np.any(h < 0):
                raise ValueError("initial_depth must be finite and >= 0")
            h = h.astype(dt_)
        self.h = h
        self.qx = np.zeros((ny, nx + 1), dtype=dt_)
        self.qy = np.zeros((ny + 1, nx), dtype=dt_)
        self._qxn = np.zeros_like(self.qx)
        self._qyn = np.zeros_like(self.qy)
        self._fac = np.ones((ny + 2, nx + 2), dtype=dt_)
        self._maxd = h.copy()
        self._row_speed = np.zeros(ny, dtype=dt_)
        self._row_veff = np.zeros(ny, dtype=dt_)
        self._row_hmax = np.zeros(ny, dtype=dt_)
        self._row_bnd = np.zeros(ny, dtype=dt_)
        self._row_clip = np.zeros(ny, dtype=np.float64)
        self._row_inf = np.zeros(ny, dtype=np.float64)
        self._row_drain = np.zeros(ny, dtype=np.float64)
        self._p = np.zeros(K.NPARAM, dtype=dt_)
        self._p[[K.P_G, K.P_DX, K.P_INVDX, K.P_THR, K.P_THETA, K.P_WNB]] = [
            cfg.g,
            self.cell_size,
            1.0 / self.cell_size,
            cfg.depth_threshold,
            cfg.theta,
            0.5 * (1.0 - cfg.theta),
        ]
        self._p[[K.P_ZERO, K.P_ONE, K.P_QUARTER, K.P_HALF]] = [0.0, 1.0, 0.25, 0.5]
        self._p[K.P_INFAC] = 0.0 if cfg.strict_limiter else 1.0
        self._p[K.P_R4] = 4.0 * cfg.cfl * self.cell_size
        self._active_u8 = self.active.astype(np.uint8)
        # time and bookkeeping
        self.t = 0.0
        self.steps = 0
        self.dt_min = math.inf
        self.dt_max = 0.0
        self._hmax = float(h.max())
        self._speed = 0.0
        self._veff = 0.0  # max over faces of the effective speed (kernels._veff), m/s
        self._vol = {
            "rain": 0.0,
            "inflow": 0.0,
            "out": 0.0,
            "infil": 0.0,
            "clipped": 0.0,
            "drain": 0.0,
            "outlet": 0.0,
            "initial": float(np.sum(h, dtype=np.float64)) * self.area,
        }

    # ------------------------------------------------------------------ properties
    @property
    def depth(self) -> np.ndarray:
        """Water depth (m), float32 [y, x] copy; 0 in wall (NaN) cells."""
        return self.h.astype(np.float32)

    @property
    def max_depth(self) -> np.ndarray:
        """Maximum depth (m) over every step so far, float32 [y, x] copy."""
        return self._maxd.astype(np.float32)

    @property
    def mass(self) -> MassBalance:
        v = self._vol
        stored = float(np.sum(self.h, dtype=np.float64)) * self.area
        return MassBalance.from_totals(
            self.t,
            v["rain"],
            v["inflow"],
            v["out"],
            v["infil"],
            v["initial"],
            stored,
            v["clipped"],
            v["drain"],
            v["outlet"],
        )

    @property
    def n_cells(self) -> int:
        return self.shape[0] * self.shape[1]

    # ------------------------------------------------------------------ stepping
    def next_step_limit(self) -> float:
        """Step length (s) the CFL rule allows now (before shortening to hit targets)."""
        cfg = self.config
        if not self._hmax > cfg.depth_threshold:
            return float(cfg.max_step)
        c = math.sqrt(cfg.g * self._hmax)
        reach = cfg.cfl * self.cell_size
        if not cfg.speed_aware_step:
            return float(min(cfg.max_step, reach / c))
        # speed-aware: on every face (|u| + sqrt(g h)) dt + g|S| dt^2 <= cfl dx, i.e. a wave
        # that also accelerates under gravity from rest crosses at most cfl*dx in one step;
        # dt <= reach / v_f solves it per face (kernels._veff)
        c = max(c, self._veff)
        return float(min(cfg.max_step, reach / c))

    def _rain_frame(self, k: int) -> tuple[np.ndarray, bool, float]:
        """(rate m/s [y, x] or one row [1, x], is_grid, volume rate m³/s over valid cells)."""
        if self._frame_cache is not None and self._frame_cache[0] == k:
            return self._frame_cache[1:]  # type: ignore[return-value]
        rates = np.asarray(self.rain.rates_mmh)
        nx = self.shape[1]
        if k < 0:
            out = (np.zeros((1, nx), self.dtype), False, 0.0)
        elif rates.ndim == 1:
            r = float(rates[k])
            r = 0.0 if not math.isfinite(r) else max(r, 0.0)
            rs = np.full((1, nx), r * MMH_TO_MS, dtype=self.dtype)
            vol = float(rs[0, 0]) * self.area * int(self.active.sum())
            out = (rs, False, vol)
        else:
            fr = np.nan_to_num(np.asarray(rates[k], dtype=np.float64), nan=0.0, posinf=0.0)
            fr = np.where(self.active, np.maximum(fr, 0.0), 0.0) * MMH_TO_MS
            g = fr.astype(self.dtype)
            out = (g, True, float(np.sum(g, dtype=np.float64)) * self.area)
        self._frame_cache = (k, *out)
        return out

    def _step(self, dt: float, k: int) -> None:
        cfg = self.config
        p = self._p
        p[K.P_DT] = dt
        p[K.P_GDT] = cfg.g * dt
        p[K.P_DTDX] = dt / self.cell_size
        rain, _, rain_vol = self._rain_frame(k)
        if self._soil is not None:
            ks, s_, cum = self._soil
            green_ampt.rates(
                self.h,
                cum,
                ks,
                s_,
                self._active_u8,
                float(cfg.depth_threshold),
                float(dt),
                self._infil,
            )
        vols = np.array([f.volume(self.t, self.t + dt) for f in self.inflows], dtype=np.float64)
        self._vol["inflow"] += float(vols.sum())
        depths = (vols / self.area).astype(self.dtype)
        args = (
            self.h,
            self.z,
            self.qx,
            self.qy,
            self._qxn,
            self._qyn,
            self._n2x,
            self._n2y,
            p,
            self._kinds,
            self._levels,
            self._fac,
            rain,
            self._infil,
            self._drain,
            self._active_u8,
            self._maxd,
            self._in_rows,
            self._in_cols,
            depths,
            self._row_speed,
            self._row_veff,
            self._row_hmax,
            self._row_bnd,
            self._row_clip,
            self._row_inf,
            self._row_drain,
        )
        v = self._vol
        if self._outlets is None:
            hmax, speed, veff, bnd, clip, inf, drn = K.step(*args)
        else:  # bnd includes the outlets' outflow; qout is their share
            hmax, speed, veff, bnd, clip, inf, drn, qout = OL.step_outlets(*args, *self._outlets)
            v["outlet"] += qout * self.cell_size * dt
        v["rain"] += rain_vol * float(p[K.P_DT])
        v["out"] += bnd * self.cell_size * dt
        v["clipped"] += clip * self.area
        v["infil"] += inf * self.area
        v["drain"] += drn * self.area
        self._hmax, self._speed, self._veff = float(hmax), float(speed), float(veff)
        if not (math.isfinite(self._hmax) and math.isfinite(self._speed)) or self._hmax > 1e5:
            raise self._instability()
        self.steps += 1
        self.dt_min = min(self.dt_min, dt)
        self.dt_max = max(self.dt_max, dt)

    def advance(
        self, until_s: float, on_step: Callable[[float, float], None] | None = None
    ) -> None:
        """Step until ``t == until_s`` exactly (the last step is shortened to land on it).

        Unless ``config.rain_at_step_start``, steps are also shortened to land on rain-frame
        changes, so each step sees one constant rain rate. ``on_step(t, dt)`` is called after
        every step. Raises SimulationError on instability or if the rain does not cover until_s.
        Without ``on_step`` (and without point inflows, Green-Ampt soil or coast outlets) the
        steps run in one compiled call (``step_loop``), with the same result.
        """
        until_s = float(until_s)
        if until_s < self.t - 1e-9:
            raise ValueError(f"cannot advance backwards: t={self.t} s, until_s={until_s} s")
        if until_s > float(self.rain.end_s) + 1e-9:
            raise SimulationError(
                f"rain ({self.rain.source}) ends at {self.rain.end_s} s, before until_s={until_s} s"
            )
        with keep_torch_threads():
            self._advance(until_s, on_step)
        if not np.all(np.isfinite(self.h)):
            raise SimulationError(f"non-finite depth at t={self.t:.3f} s")

    def _instability(self) -> SimulationError:
        return SimulationError(
            f"numerical instability at t={self.t:.3f} s (max depth {self._hmax!r} m, "
            f"wave speed {self._speed!r} m/s); reduce cfl or max_step"
        )

    def _advance(self, until_s: float, on_step: Callable[[float, float], None] | None) -> None:
        times = self._rain_times
        tol = 1e-9 * max(1.0, abs(until_s))
        if on_step is None and not self._python_loop and step_loop.eligible(self):
            # every step in one compiled call, bit-identical to the loop below (step_loop)
            if self._loop is None:
                self._loop = step_loop.StepLoop(self, MMH_TO_MS)
            if self._loop.advance(self, until_s, tol) == 1:
                raise self._instability()
        while until_s - self.t > tol:
            t = self.t
            k = int(np.searchsorted(times, t + tol, side="right") - 1)
            dt = self.next_step_limit()
            target = until_s
            if not self.config.rain_at_step_start and k + 1 < times.size:
                target = min(target, float(times[k + 1]))
            if target - t <= dt * (1.0 + 1e-9):
                dt = target - t
                self._step(dt, k)
                self.t = target
            else:
                self._step(dt, k)
                self.t = t + dt
            if on_step is not None:
                on_step(self.t, dt)
        self.t = max(self.t, until_s) if abs(self.t - until_s) <= tol else self.t

    def set_edge_level(self, side: str, level: float) -> None:
        """Change the water-surface elevation (m) of a ``level`` edge from now on (e.g. a
        stage hydrograph applied between ``advance`` calls or from ``on_step``)."""
        sides = ("north", "south", "east", "west")
        name = {"n": "north", "s": "south", "e": "east", "w": "west"}.get(
            side.lower(), side.lower()
        )
        if name not in sides or self._kinds[sides.index(name)] != KIND_CODES["level"]:
            raise ValueError(f"edge {side!r} is not a fixed-level edge")
        if not math.isfinite(level):
            raise ValueError("level must be finite")
        self._levels[sides.index(name)] = level - self.z_offset

    # ------------------------------------------------------------------ hot start
    def fingerprint(self) -> str:
        """sha256 of what a saved state is only valid for: the grid, bed, face n², loss rates,
        soil parameters, edges and precision (not the rain, which a hot start may change)."""
        import hashlib

        hsh = hashlib.sha256()
        hsh.update(
            repr(
                (
                    self.shape,
                    self.cell_size,
                    self.z_offset,
                    self.dtype.__name__,
                    self._kinds.tolist(),
                )
            ).encode()
        )
        arrays = [self.z, self._n2x, self._n2y, self._drain, self._active_u8]
        arrays += list(self._outlets) if self._outlets is not None else []
        arrays += list(self._soil[:2]) if self._soil is not None else [self._infil]
        for a in arrays:
            hsh.update(repr(a.shape).encode())
            hsh.update(np.ascontiguousarray(a).tobytes())
        return hsh.hexdigest()

    def state_dict(self) -> dict[str, np.ndarray | float | str]:
        """Everything needed to continue the run exactly (arrays are copies), with the
        ``fingerprint`` of the set-up it belongs to."""
        d: dict[str, np.ndarray | float | str] = {
            "fingerprint": self.fingerprint(),
            "h": self.h.copy(),
            "qx": self.qx.copy(),
            "qy": self.qy.copy(),
            "max_depth": self._maxd.copy(),
            "t": float(self.t),
            "steps": float(self.steps),
            "dt_min": float(self.dt_min),
            "dt_max": float(self.dt_max),
            "hmax": float(self._hmax),
            "speed": float(self._speed),
            "veff": float(self._veff),
        }
        for key, val in self._vol.items():
            d[f"vol_{key}"] = float(val)
        if self._soil is not None:
            d["soil_infiltrated_m"] = self._soil[2].copy()
        return d

    def _veff_of_old_state(self, d: dict) -> float:
        """Effective speed of a state saved before the per-face step bound (it kept max
        speed and max acceleration): the old bound, so its first step is the old one."""
        cfg = self.config
        c = max(math.sqrt(cfg.g * max(self._hmax, 0.0)), self._speed)
        a = float(d.get("acc", 0.0))
        return 0.5 * (c + math.sqrt(c * c + 4.0 * a * cfg.cfl * self.cell_size))

    def load_state_dict(self, d: dict) -> None:
        """Restore a ``state_dict`` taken from a simulation on the same grid.

        Raises ValueError if the state carries a fingerprint of another set-up (other DEM,
        Manning n, loss rates, soil or edges); states without one are accepted.
        """
        fp = d.get("fingerprint")
        if fp is not None and str(fp) != self.fingerprint():
            raise ValueError(
                "state was saved for another set-up (DEM, Manning n, losses, soil "
                "or edges differ: fingerprint mismatch)"
            )
        for key, shape in (
            ("h", self.h.shape),
            ("qx", self.qx.shape),
            ("qy", self.qy.shape),
            ("max_depth", self._maxd.shape),
        ):
            a = np.asarray(d[key])
            if a.shape != shape:
                raise ValueError(f"state {key!r} has shape {a.shape}, expected {shape}")
        self.h[...] = np.where(self.active, np.asarray(d["h"]), 0)
        self.qx[...] = d["qx"]
        self.qy[...] = d["qy"]
        self._maxd[...] = d["max_depth"]
        self.t = float(d["t"])
        self.steps = int(d["steps"])
        self.dt_min, self.dt_max = float(d["dt_min"]), float(d["dt_max"])
        self._hmax = float(d.get("hmax", float(self.h.max())))
        self._speed = float(d.get("speed", 0.0))
        self._veff = float(d["veff"]) if "veff" in d else self._veff_of_old_state(d)
        if self._soil is not None:
            if "soil_infiltrated_m" not in d:
                raise ValueError("state has no Green-Ampt soil store (saved without --soil)")
            self._soil[2][...] = d["soil_infiltrated_m"]
        for key in self._vol:  # (states saved before drainage/outlets have no vol_drain...)
            self._vol[key] = float(
                d.get(f"vol_{key}", 0.0) if key in ("drain", "outlet") else d[f"vol_{key}"]
            )


@dataclass
class SimulationResult:
    times_s: np.ndarray
    depth: np.ndarray
    max_depth: np.ndarray
    mass: list[MassBalance]
    steps: int
    dt_min: float
    dt_max: float
    wall_time_s: float
    cell_updates_per_s: float


def save_times(t0: float, duration_s: float, save_every_s: float) -> list[float]:
    """The save times of a run: t0 + k * save_every_s up to t0 + duration_s, and always the
    end (an end within 1e-9 of the last multiple replaces it)."""
    t_end = t0 + duration_s
    n_save = math.floor(duration_s / save_every_s + 1e-9)
    out = [t0 + k * save_every_s for k in range(1, n_save + 1)]
    if not out or t_end - out[-1] > 1e-9 * max(1.0, t_end):
        out.append(t_end)
    out[-1] = t_end
    return out


def run(
    sim: Simulation,
    duration_s: float,
    save_every_s: float,
    progress: Callable[[Simulation], None] | None = None,
    mass_every_s: float | None = None,
) -> SimulationResult:
    """Advance ``sim`` by ``duration_s`` from its current time, saving depth every
    ``save_every_s`` (and always at the end). Times are relative to the simulation clock:
    saves at t0 + k*save_every_s. Mass is recorded at every save (and every
    ``mass_every_s`` if given). Raises SimulationError if the final relative mass error
    exceeds ``config.max_mass_error``.
    """
    if not duration_s > 0 or not save_every_s > 0:
        raise ValueError("duration_s and save_every_s must be > 0")
    t0 = sim.t
    t_end = t0 + duration_s
    save_t = save_times(t0, duration_s, save_every_s)
    events = set(save_t)
    if mass_every_s:
        m = math.floor(duration_s / mass_every_s + 1e-9)
        events.update(t for t in (t0 + k * mass_every_s for k in range(1, m + 1)) if t < t_end)
    save_set = set(save_t)
    depth = np.empty((len(save_t), *sim.shape), dtype=np.float32)
    masses: list[MassBalance] = []
    steps0 = sim.steps
    wall0 = time.perf_counter()
    isave = 0
    for te in sorted(events):
        sim.advance(te)
        if te in save_set:
            depth[isave] = sim.h
            isave += 1
        masses.append(sim.mass)
        if progress is not None:
            progress(sim)
    wall = time.perf_counter() - wall0
    nsteps = sim.steps - steps0
    final = masses[-1]
    if final.relative_error > sim.config.max_mass_error:
        raise SimulationError(
            f"relative mass error {final.relative_error:.3e} exceeds "
            f"max_mass_error {sim.config.max_mass_error:.1e} ({final})"
        )
    return SimulationResult(
        np.array(save_t),
        depth,
        sim.max_depth,
        masses,
        nsteps,
        sim.dt_min,
        sim.dt_max,
        wall,
        sim.n_cells * nsteps / max(wall, 1e-12),
    )


@contextmanager
def keep_torch_threads() -> Iterator[None]:
    """Keep torch's thread count across numba kernels. numba's OpenMP layer sets the
    process-wide OpenMP thread count (to its own, NUMBA_NUM_THREADS) when its kernels run,
    and torch shares that runtime: a model process that had asked for one thread (serve,
    training with a storm channel) silently ran on two after a simulation, which on a busy
    2-core machine made training steps ~9x slower (measured)."""
    torch = sys.modules.get("torch")  # only a process that imported torch has one to keep
    n = torch.get_num_threads() if torch is not None else None
    try:
        yield
    finally:
        if n is not None and torch.get_num_threads() != n:
            torch.set_num_threads(n)


def set_threads(n: int) -> None:
    """Number of threads for the numba kernels (<= NUMBA_NUM_THREADS)."""
    import numba

    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))


__all__ = [
    "Simulation",
    "SimulationError",
    "SimulationResult",
    "SolverConfig",
    "run",
    "save_times",
    "set_threads",
]
