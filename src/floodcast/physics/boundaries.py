"""Boundary conditions of the flood solver: per-edge kinds and point inflow hydrographs.

Edges (``Boundaries``) are ``closed`` (no flow, the default), ``free`` (LISFLOOD-FP's FREE
outflow: the local water-surface slope between the edge cell and its inward neighbour drives
an outward discharge; never inflow) or ``level`` (a fixed water-surface elevation in a ghost
cell beyond the edge, with the same momentum equation as an interior face: it can take water
out of or put water into the domain).

Point inflows (``PointInflow``) add a discharge hydrograph (m³/s, piecewise linear in time,
zero outside its time range) to one cell; the volume added in a step is the exact integral of
the hydrograph over the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

EdgeKind = Literal["closed", "free", "level"]
KIND_CODES = {"closed": 0, "free": 1, "level": 2}
_SIDE_ALIASES = {
    "n": "north",
    "north": "north",
    "s": "south",
    "south": "south",
    "e": "east",
    "east": "east",
    "w": "west",
    "west": "west",
}
SIDES = ("north", "south", "east", "west")


@dataclass(frozen=True)
class Edge:
    """One domain edge: ``kind`` and, for ``level``, the water-surface elevation (m)."""

    kind: EdgeKind = "closed"
    level: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KIND_CODES:
            raise ValueError(f"unknown edge kind {self.kind!r}; use closed, free or level")
        if self.kind == "level":
            if self.level is None or not math.isfinite(float(self.level)):
                raise ValueError("a 'level' edge needs a finite level (m)")
        elif self.level is not None:
            raise ValueError(f"a {self.kind!r} edge takes no level")


@dataclass(frozen=True)
class Boundaries:
    """Boundary kind of the four domain edges (row 0 = north, column 0 = west)."""

    north: Edge = field(default_factory=Edge)
    south: Edge = field(default_factory=Edge)
    east: Edge = field(default_factory=Edge)
    west: Edge = field(default_factory=Edge)

    @classmethod
    def all(cls, kind: EdgeKind = "closed", level: float | None = None) -> Boundaries:
        e = Edge(kind, level)
        return cls(e, e, e, e)

    @classmethod
    def parse(cls, spec: str) -> Boundaries:
        """Parse ``"free"``, ``"closed"``, ``"level:12.5"`` (all edges) or a comma list such
        as ``"N=free,S=closed,E=level:12.5"`` (edges not named are closed).

        Raises ValueError naming the offending token.
        """
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError(f"empty boundary specification {spec!r}")
        text = spec.strip()
        if "=" not in text and "," not in text:
            return cls.all(*_parse_kind(text, text))
        edges: dict[str, Edge] = {}
        for token in text.split(","):
            tok = token.strip()
            if "=" not in tok:
                raise ValueError(f"bad boundary token {tok!r}: expected SIDE=KIND, e.g. N=free")
            side_s, kind_s = (s.strip() for s in tok.split("=", 1))
            side = _SIDE_ALIASES.get(side_s.lower())
            if side is None:
                raise ValueError(
                    f"bad boundary token {tok!r}: unknown side {side_s!r} (N, S, E, W)"
                )
            if side in edges:
                raise ValueError(f"bad boundary token {tok!r}: side {side} given twice")
            edges[side] = Edge(*_parse_kind(kind_s, tok))
        return cls(**edges)

    def edge(self, side: str) -> Edge:
        return getattr(self, _SIDE_ALIASES[side.lower()])

    def __str__(self) -> str:
        def one(e: Edge) -> str:
            return f"level:{e.level:g}" if e.kind == "level" else e.kind

        return ",".join(f"{s[0].upper()}={one(self.edge(s))}" for s in SIDES)


def _parse_kind(kind_s: str, token: str) -> tuple[EdgeKind, float | None]:
    k = kind_s.strip().lower()
    if k in ("closed", "free"):
        return k, None  # type: ignore[return-value]
    if k.startswith("level:"):
        try:
            lev = float(k.split(":", 1)[1])
        except ValueError:
            raise ValueError(f"bad boundary token {token!r}: level must be a number") from None
        if not math.isfinite(lev):
            raise ValueError(f"bad boundary token {token!r}: level must be finite")
        return "level", lev
    raise ValueError(f"bad boundary token {token!r}: kind must be closed, free or level:<m>")


@dataclass(frozen=True)
class PointInflow:
    """Discharge hydrograph (m³/s) into cell (row, col); linear in time, 0 outside."""

    row: int
    col: int
    times_s: np.ndarray
    q_m3s: np.ndarray

    def __post_init__(self) -> None:
        t = np.asarray(self.times_s, dtype=np.float64).ravel()
        q = np.asarray(self.q_m3s, dtype=np.float64).ravel()
        if t.size == 0 or t.shape != q.shape:
            raise ValueError("PointInflow needs equal-length, non-empty times_s and q_m3s")
        if t.size > 1 and np.any(np.diff(t) <= 0):
            raise ValueError("PointInflow.times_s must be strictly increasing")
        if not (np.all(np.isfinite(t)) and np.all(np.isfinite(q))):
            raise ValueError("PointInflow times and discharges must be finite")
        object.__setattr__(self, "times_s", t)
        object.__setattr__(self, "q_m3s", q)

    def rate(self, t: float) -> float:
        """Discharge (m³/s) at time t: linear interpolation, 0 outside the series."""
        ts, qs = self.times_s, self.q_m3s
        if t < ts[0] or t > ts[-1]:
            return 0.0
        return float(np.interp(t, ts, qs))

    def volume(self, t0: float, t1: float) -> float:
        """Exact volume (m³) delivered between t0 and t1 (integral of the linear hydrograph)."""
        ts, qs = self.times_s, self.q_m3s
        a, b = max(t0, ts[0]), min(t1, ts[-1])
        if b <= a:
            return 0.0
        inner = (ts > a) & (ts < b)
        x = np.concatenate(([a], ts[inner], [b]))
        y = np.interp(x, ts, qs)
        return float(np.sum(0.5 * (y[1:] + y[:-1]) * np.diff(x)))
