"""The raw rain record every rain reader returns before validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class RawRain:
    """Rain as a reader returns it, before validation and regridding (``io.rain.read_rain``
    validates it into a ``RainSeries``; radar and server uploads produce it too)."""

    rates: np.ndarray  # [t, y, x] or [t]
    times_s: np.ndarray
    source: str
    transform: Any | None = None
    crs: str | None = None
    notes: list[str] = field(default_factory=list)
    start_time: Any | None = None  # datetime64 of the first frame, when the file has one
