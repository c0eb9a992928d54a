"""The wet-probability cut: pinned against a hand-counted table, fitted on val, used after."""

import numpy as np
import pytest
import torch

from floodcast.errors import InputError
from floodcast.evaluation.calibrate import calibrate
from floodcast.metrics import fit_cut
from floodcast.models.checkpoint import load_model, save_model
from floodcast.models.registry import build_model
from floodcast.predict.mapper import FloodMapper


def test_fit_cut_by_hand():
    # 4 bins over [0, 1]: edges 0, .25, .5, .75. Wet cells: 1 at p~.1, 3 at p~.4, 1 at p~.9;
    # dry cells: 90 at p~.1, 2 at p~.4, 0 at p~.6, 1 at p~.9.
    wet, dry = np.array([1, 3, 0, 1]), np.array([90, 2, 0, 1])
    # cut .25 -> hits 4, FA 3, misses 1: CSI 4/8; cut .5 -> 1/(1+1+4) = 1/6; cut 0 -> 5/98
    fit = fit_cut(wet, dry)
    assert fit["cut"] == 0.25 and fit["csi"] == pytest.approx(0.5)
    assert fit["csi_at_default"] == pytest.approx(1 / 6)
    assert fit["bias"] == pytest.approx(7 / 5)
    with pytest.raises(InputError, match="no wet cell"):
        fit_cut(np.zeros(4), dry)


def _model_for(store, tmp_path):
    from floodcast.data.torchdata import FloodDataset

    ds = FloodDataset(store, "train", formulation="state")
    torch.manual_seed(0)
    m = build_model(
        {
            "name": "small_unet",
            "in_channels": ds.in_channels,
            "decoder_channels": 4,
            "encoder_depth": 2,
        }
    )
    extra = {
        "data": {
            "channels": ds.channels,
            "stats": ds.stats,
            "spec": ds.spec,
            "formulation": "state",
        }
    }
    path = tmp_path / "model.pt"
    save_model(m, path, extra)
    return path


def test_calibrate_writes_the_cut_that_the_mapper_then_uses(tiny_store, tmp_path):
    path = _model_for(tiny_store[0], tmp_path)
    assert FloodMapper.load(path).cut == 0.5  # no fit yet
    fit = calibrate(path, str(tiny_store[0]), "val")
    assert 0.0 <= fit["cut"] < 1.0 and fit["split"] == "val" and fit["events"] >= 1
    assert fit["csi"] >= fit["csi_at_default"]  # the best cut is never worse than 0.5
    _, extra = load_model(path)
    assert extra["cut"] == fit["cut"] and extra["cut_fit"]["split"] == "val"
    assert FloodMapper.load(path).cut == fit["cut"]
    with pytest.raises(InputError, match="leak"):
        calibrate(path, str(tiny_store[0]), "test")
    n = fit["steps"]  # frames per event
    hot = calibrate(path, str(tiny_store[0]), "val", write=False, start=2)
    assert (hot["start"], hot["steps"], fit["start"]) == (2, n - 2, 0)
    assert FloodMapper.load(path).cut == fit["cut"]  # write=False left the file alone
