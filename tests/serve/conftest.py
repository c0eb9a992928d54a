"""Shared fixtures of the serve tests: a tiny model, a small georeferenced DEM, an app."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from floodcast.io.dem import Dem
from floodcast.models.checkpoint import save_model
from floodcast.models.registry import build_model

FRAMES = 3
SHAPE = (40, 48)


def model_extra(frames: int = FRAMES, patch: int = 32) -> dict:
    chans = [f"rain_t-{frames - 1 - i}" for i in range(frames)] + ["dem"]
    return {
        "data": {
            "channels": chans,
            "stats": {
                "rain_mean": 2.0,
                "rain_std": 5.0,
                "dem_anomaly_std": 5.0,
                "rain_accum_scale_mm": 3.0,
            },
            "spec": {"frames": frames, "extra_channels": [], "threshold": 0.1, "patch": patch},
            "cell_sizes_m": [50.0],
            "intervals_s": [300.0],
        },
        "postprocess": False,
    }


def tiny_model(path, frames: int = FRAMES, patch: int = 32):
    torch.manual_seed(0)
    m = build_model(
        {"name": "small_unet", "in_channels": frames + 1, "encoder_depth": 2, "decoder_channels": 8}
    )
    save_model(m, path, model_extra(frames, patch))
    return path


def valley_dem(shape=SHAPE, cell=50.0) -> Dem:
    from rasterio.transform import from_origin

    ny, nx = shape
    z = np.add.outer(np.arange(ny) * 0.5, np.abs(np.arange(nx) - nx / 2)).astype(np.float32)
    return Dem(z, cell, from_origin(500000, 4000000, cell, cell), "EPSG:32614", "valley")


def npz_bytes(rain: np.ndarray, interval: float = 300.0, **extra) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, rain_mmh=rain, times_s=np.arange(len(rain)) * interval, **extra)
    return buf.getvalue()


def storm(n: int = FRAMES, shape=SHAPE, seed: int = 0, peak: float = 40.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ny, nx = shape
    yy, xx = np.mgrid[:ny, :nx]
    out = []
    for k in range(n):
        cy, cx = ny / 2 + rng.normal(0, 2), nx / 4 + 3 * k
        out.append(peak * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 8.0**2)))
    return np.asarray(out, np.float32)


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    return tiny_model(tmp_path_factory.mktemp("serve-model") / "model.pt")


@pytest.fixture(scope="session")
def dem():
    return valley_dem()
