"""Terrain-derived input channels: D8 routing of a whole DEM (upslope area and rain,
depression depth) and the physics depth channels read from the reference storms.

Computed once per DEM and shared by dataset sampling and inference (``FloodMapper``).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from floodcast.data.channels import DERIVED_CHANNELS, depth_channel
from floodcast.errors import InputError

UPSLOPE_RAIN_LOG_SCALE = 4.0  # log10(1 + m3) / 4: 1e4 m3 upstream -> 1.0


class DemRouting:
    """D8 routing of one whole DEM (before tiling), computed once and reused.

    Where water collects depends on terrain and rain far outside a 128-cell patch. The
    contributing area (``upslope_area``) carries the terrain's upstream context into every
    tile, the same quantity the terrain-heuristic baseline uses; ``upslope_rain`` routes the
    rain itself: the volume fallen since the event began on every cell's upslope area, which
    is what fills a depression or a channel (pits are kept, so water stops where it pools).
    ``depression_depth`` marks where it pools: how far each cell lies below the spill level
    of its closed depression, the storage that must fill before water moves on.
    ``reference_depth`` is the solver's own answer for a uniform design storm, read at each
    cell's rain total (``floodcast.data.reference_storm``); ``matched_depth`` reads it on the
    storm of each cell's own mean rate.
    """

    def __init__(self, elevation: np.ndarray, cell_size: float):
        self.shape = np.shape(elevation)
        self.cell_size = float(cell_size)
        self.valid = np.isfinite(np.asarray(elevation, np.float64))
        self.elevation = elevation
        self._area: np.ndarray | None = None
        self._pits: np.ndarray | None = None

    @cached_property
    def d8(self) -> tuple[np.ndarray, np.ndarray]:
        """``(order, receiver)`` of the D8 routing, computed on first use: only the routed
        channels need it, not ``depression_depth``."""
        from floodcast.io.dem_tools import d8_routing

        return d8_routing(self.elevation, self.cell_size)

    def area_channel(self) -> np.ndarray:
        """log10 of the upslope area (m2), scaled: (log10 A - 4) / 2, so 1e4 m2 -> 0, 1e6 -> 1."""
        if self._area is None:
            from floodcast.io.dem_tools import upslope_cells

            area_m2 = upslope_cells(*self.d8, self.valid) * self.cell_size**2
            self._area = ((np.log10(area_m2) - 4.0) / 2.0).astype(np.float32)
        return self._area

    def depression_channel(self) -> np.ndarray:
        """log1p(depth below the spill level / 0.1 m) / 2 (0 outside closed depressions)."""
        if self._pits is None:
            from floodcast.io.dem_tools import depression_code, depression_depth

            self._pits = depression_code(depression_depth(self.elevation))
        return self._pits

    def rain_channel(self, accum_mm: np.ndarray) -> np.ndarray:
        """log10(1 + upslope rain volume in m3) / 4 for rain totals [..., H, W] in mm."""
        from floodcast.io.dem_tools import d8_accumulate

        a = np.asarray(accum_mm, np.float64)
        if a.shape[-2:] != self.shape:
            raise InputError(f"rain totals {a.shape} are not on the DEM grid {self.shape}")
        w = np.where(self.valid, a, 0.0).reshape(-1, a.shape[-1] * a.shape[-2])
        vol_m3 = d8_accumulate(*self.d8, w) * (self.cell_size**2 / 1000.0)
        return (np.log10(1.0 + vol_m3) / UPSLOPE_RAIN_LOG_SCALE).astype(np.float32).reshape(a.shape)

    def reference_grid(self, accum_mm: np.ndarray) -> np.ndarray:
        """The ``reference_depth`` channel for rain totals [..., H, W] in mm (one reference
        simulation per DEM, cached)."""
        from floodcast.data.reference_storm import reference_channel, reference_series

        return reference_channel(*reference_series(self.elevation, self.cell_size), accum_mm)

    def matched_grid(self, accum_mm: np.ndarray, time_h: float | np.ndarray) -> np.ndarray:
        """The ``matched_depth`` channel for rain totals [..., H, W] in mm after ``time_h``
        hours (one run per storm of the ladder and DEM, cached)."""
        from floodcast.data.reference_storm import matched_depth_at, matched_series

        return depth_channel(
            matched_depth_at(matched_series(self.elevation, self.cell_size), accum_mm, time_h)
        )

    def grids(
        self, names: list[str], accum_mm: np.ndarray, time_h: float | np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Whole-DEM grids of the derived channels in ``names``: ``upslope_area`` and
        ``depression_depth`` [H, W]; ``upslope_rain``, ``reference_depth`` and
        ``matched_depth`` shaped like the rain totals ``accum_mm`` ([T, H, W] or [H, W]);
        ``matched_depth`` also needs the hours since the event began, ``time_h`` ([T] or
        a scalar)."""
        if "matched_depth" in names and time_h is None:
            raise ValueError(
                "the matched_depth channel needs time_h, the hours since the event began"
            )
        make = {
            "upslope_area": self.area_channel,
            "depression_depth": self.depression_channel,
            "upslope_rain": lambda: self.rain_channel(accum_mm),
            "reference_depth": lambda: self.reference_grid(accum_mm),
            "matched_depth": lambda: self.matched_grid(accum_mm, time_h),
        }
        return {n: make[n]() for n in names if n in DERIVED_CHANNELS}


def upslope_area_channel(elevation: np.ndarray, cell_size: float) -> np.ndarray:
    """The ``upslope_area`` channel for a whole DEM (see ``DemRouting``)."""
    return DemRouting(elevation, cell_size).area_channel()
