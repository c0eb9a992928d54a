"""Synthetic paired data with a planted rain -> depth relationship."""

from __future__ import annotations

import numpy as np
import pytest


def planted_pairs(n: int, size: int = 16, seed: int = 0, channels: int = 4):
    """Rain blobs at random places; depth = where the accumulated rain exceeds a level.

    Each sample's depth map follows from its own rain input (the planted relation), and
    samples differ, so a model can learn to match a rain input to its depth map.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    x = np.zeros((n, channels, size, size), np.float32)
    for i in range(n):
        cy, cx = rng.uniform(2, size - 2, 2)
        r = rng.uniform(2.0, 4.0)
        for c in range(channels - 1):  # the storm drifts a little between frames
            x[i, c] = 3 * np.exp(-((yy - cy - c) ** 2 + (xx - cx) ** 2) / (2 * r**2))
        x[i, -1] = yy / size  # a "DEM" channel
    accum = x[:, :-1].sum(1)
    depth = np.clip(accum - 2.0, 0, None) * 0.5
    x[:, :-1] += rng.normal(0, 0.1, x[:, :-1].shape).astype(np.float32)
    event = np.arange(n) // 16
    return x, depth.astype(np.float32), event


@pytest.fixture
def planted():
    return planted_pairs
