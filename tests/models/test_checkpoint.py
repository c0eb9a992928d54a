"""Checkpoints: a round trip keeps config, weights, outputs and the trainer's extras."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from floodcast.models import build_model, load_model, read_checkpoint, save_model


def test_round_trip(tmp_path):
    model = build_model("small_unet", in_channels=3, decoder_channels=4, encoder_depth=2,
                        depth_head=True, upscale=2, seed=0)
    model.train()
    model(torch.randn(4, 3, 16, 16))  # move the BN running stats away from their init
    model.eval()
    extra = {"stats": {"mean": np.array([1.5, 2.0], dtype=np.float32), "n": np.int64(7)},
             "channels": ("rain_0", "dem"), "threshold": 0.1, "data": Path("/x/store.zarr")}
    path = save_model(model, tmp_path / "m" / "model.pt", extra)
    loaded, got = load_model(path)
    assert loaded.config == model.config and not loaded.training
    assert got == {"stats": {"mean": [1.5, 2.0], "n": 7}, "channels": ("rain_0", "dem"),
                   "threshold": 0.1, "data": "/x/store.zarr"}
    x = torch.randn(1, 3, 19, 23)
    with torch.no_grad():
        a, b = model(x), loaded(x)
    assert torch.equal(a["logits"], b["logits"]) and torch.equal(a["depth"], b["depth"])
    assert read_checkpoint(path)["versions"]["torch"] == torch.__version__
    assert not list(path.parent.glob(".*"))  # the atomic write left no temporary file


def test_bad_inputs(tmp_path):
    model = build_model("centre_pixel", decoder_channels=4, patch_size=3)
    with pytest.raises(TypeError, match=r"extra\['fn'\]"):
        save_model(model, tmp_path / "a.pt", {"fn": object()})
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not a floodcast model checkpoint"):
        load_model(tmp_path / "foreign.pt")
    with pytest.raises(ValueError, match="not found"):
        load_model(tmp_path / "missing.pt")
