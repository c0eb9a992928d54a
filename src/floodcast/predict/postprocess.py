"""Post-processing of wet masks: remove isolated wet pixels (the author's clean-up)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

_RING = np.array([[1, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=np.int32)


def remove_isolated(mask: np.ndarray) -> np.ndarray:
    """Set wet cells with no wet 8-neighbour to dry; works on [..., H, W] boolean arrays."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim > 2:
        return np.stack([remove_isolated(m) for m in mask])
    neighbours = ndimage.convolve(mask.astype(np.int32), _RING, mode="constant", cval=0)
    return mask & (neighbours > 0)
