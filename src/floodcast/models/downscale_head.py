"""A downscaler's outputs -> one fine depth map: the wet mask decides wet or dry, the depth
of wet cells comes from the model's depth head or from its volume-fill input channel
(``DEPTH_SOURCES``, chosen per model on its validation maps by
``training.downscale.fit_depth_source``). Shared by training (the fit) and prediction."""

from __future__ import annotations

import numpy as np

from floodcast.errors import InputError
from floodcast.simulation.downscale import CHANNELS, depth_decode

#: Where a downscaled map's depth comes from inside the model's wet mask: the model's depth
#: head, or the volume-fill depth (its prior channel). Chosen per model on its validation
#: maps by depth RMSE (``training.downscale.fit_depth_source``); models before: the head.
DEPTH_SOURCES = ("head", "volume_fill")


def model_depth_source(info: dict) -> str:
    """The depth source of a downscaler's record (``DEPTH_SOURCES``)."""
    src = str(info.get("depth_source", "head"))
    if src not in DEPTH_SOURCES:
        raise InputError(f"depth source {src!r} of the model: choose one of {DEPTH_SOURCES}")
    return src


def combine(wet: np.ndarray, depth: np.ndarray, threshold_m: float) -> np.ndarray:
    """One depth map from the wet mask and a depth (the head's or volume fill's): wet cells
    at least just above the threshold, dry cells at most at it, so the map thresholded at
    ``threshold_m`` is the classifier and deeper thresholds read the depth."""
    return np.where(
        wet, np.maximum(depth, threshold_m + 1e-3), np.minimum(depth, threshold_m)
    ).astype(np.float32)


def fine_depth(out: dict, x: np.ndarray, depth_source: str) -> np.ndarray:
    """Depth [n, y, x] (m) of a model pass ``out`` on inputs ``x`` [n, C, y, x] by source."""
    if depth_source == "volume_fill":
        return depth_decode(x[:, CHANNELS.index("volume_fill")])
    return out["depth"][:, 0].numpy()
