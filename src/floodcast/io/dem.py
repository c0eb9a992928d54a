"""Digital elevation models: the Dem container (readers are added below it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Dem:
    """A terrain grid in metres.

    Attributes:
        elevation: float32 [y, x], row 0 = north; NaN marks nodata (closed walls).
        cell_size: square cell size in metres (> 0).
        transform: rasterio ``Affine`` of the grid in its CRS, or None if not georeferenced.
        crs: CRS as a string (e.g. "EPSG:32614"), or None.
        source: where it came from (file name), for messages and metadata.
    """

    elevation: np.ndarray
    cell_size: float
    transform: Any | None = None
    crs: str | None = None
    source: str = "<array>"
    attrs: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.elevation.shape  # type: ignore[return-value]

    @property
    def georeferenced(self) -> bool:
        return self.transform is not None and self.crs is not None
