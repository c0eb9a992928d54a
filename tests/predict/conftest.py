"""A tiny trained-model checkpoint with the training facts `floodcast train` stores."""

import pytest
import torch

from floodcast.models.checkpoint import save_model
from floodcast.models.registry import build_model


def model_extra(frames=3, extras=(), cells=(50.0,), intervals=(300.0,), patch=32) -> dict:
    chans = [f"rain_t-{frames - 1 - i}" for i in range(frames)] + ["dem"] + list(extras)
    return {
        "data": {
            "channels": chans,
            "stats": {
                "rain_mean": 1.0,
                "rain_std": 2.0,
                "dem_anomaly_std": 5.0,
                "rain_accum_scale_mm": 3.0,
            },
            "spec": {
                "frames": frames,
                "extra_channels": list(extras),
                "threshold": 0.1,
                "patch": patch,
            },
            "cell_sizes_m": list(cells),
            "intervals_s": list(intervals),
        },
        "postprocess": False,
    }


@pytest.fixture(scope="session")
def make_extra():
    return model_extra


@pytest.fixture(scope="session")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    m = build_model({"name": "small_unet", "in_channels": 4})
    path = tmp_path_factory.mktemp("m") / "model.pt"
    save_model(m, path, model_extra())
    return path
