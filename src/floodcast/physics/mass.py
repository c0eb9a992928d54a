"""Volume bookkeeping of the flood solver (all sums in float64)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

TINY_M3 = 1e-12


@dataclass(frozen=True)
class MassBalance:
    """Cumulative volumes (m³) from the start of the simulation to ``time_s``.

    ``boundary_out_m3`` is the net outflow through the domain edges (fixed-level edges can
    make it negative). ``relative_error`` =
    |initial + rain + inflow - out - infiltration - drainage - stored| /
    max(rain + inflow + initial, tiny)
    (plus the net water supplied by fixed-level edges, if any, in the denominator).
    ``clipped_m3`` (diagnostic, not part of the closure) is the water created by clipping
    negative depths to zero; it is the only non-conservative operation of the scheme, so it
    explains the closure error. ``outlet_out_m3`` is the part of ``boundary_out_m3`` that
    left through interior outlets (open nodata cells and sea cells, see ``outlets``).
    """

    time_s: float
    rain_in_m3: float
    inflow_m3: float
    boundary_out_m3: float
    infiltration_m3: float
    initial_m3: float
    stored_m3: float
    relative_error: float
    clipped_m3: float = 0.0
    drainage_m3: float = 0.0
    outlet_out_m3: float = 0.0

    @classmethod
    def from_totals(
        cls,
        time_s: float,
        rain_in_m3: float,
        inflow_m3: float,
        boundary_out_m3: float,
        infiltration_m3: float,
        initial_m3: float,
        stored_m3: float,
        clipped_m3: float = 0.0,
        drainage_m3: float = 0.0,
        outlet_out_m3: float = 0.0,
    ) -> MassBalance:
        residual = (
            initial_m3
            + rain_in_m3
            + inflow_m3
            - boundary_out_m3
            - infiltration_m3
            - drainage_m3
            - stored_m3
        )
        # water supplied through fixed-level edges (net negative outflow) counts as input too
        denom = max(rain_in_m3 + inflow_m3 + initial_m3 + max(-boundary_out_m3, 0.0), TINY_M3)
        return cls(
            float(time_s),
            float(rain_in_m3),
            float(inflow_m3),
            float(boundary_out_m3),
            float(infiltration_m3),
            float(initial_m3),
            float(stored_m3),
            abs(residual) / denom,
            float(clipped_m3),
            float(drainage_m3),
            float(outlet_out_m3),
        )

    @property
    def residual_m3(self) -> float:
        """Signed closure: initial + rain + inflow - out - infiltration - drainage - stored
        (m³)."""
        return (
            self.initial_m3
            + self.rain_in_m3
            + self.inflow_m3
            - self.boundary_out_m3
            - self.infiltration_m3
            - self.drainage_m3
            - self.stored_m3
        )

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"t={self.time_s:.1f}s rain={self.rain_in_m3:.6g} inflow={self.inflow_m3:.6g} "
            f"out={self.boundary_out_m3:.6g} infil={self.infiltration_m3:.6g} "
            f"drain={self.drainage_m3:.6g} "
            f"stored={self.stored_m3:.6g} rel_err={self.relative_error:.2e}"
        )
