"""Rain forcing series: the RainSeries container (readers are added below it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RainSeries:
    """Piecewise-constant rain on a grid (or uniform), in mm/h.

    Attributes:
        rates_mmh: float32 [t, y, x] on the DEM grid, or [t] for spatially uniform rain.
        times_s: float64 [t], strictly increasing start time of each frame (s from the run
            start). Frame k holds for times_s[k] <= t < times_s[k+1]; the last frame holds
            until ``end_s``.
        end_s: time (s) up to which the forcing is defined (``math.inf`` allowed, e.g.
            when the last frame is zero rain).
        source: description for messages and metadata.
    """

    rates_mmh: np.ndarray
    times_s: np.ndarray
    end_s: float
    source: str = "<array>"
    attrs: dict = field(default_factory=dict)

    def frame_index(self, t: float) -> int:
        """Index of the frame that holds at time ``t`` (s)."""
        return int(np.searchsorted(self.times_s, t, side="right") - 1)
