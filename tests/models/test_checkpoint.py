"""Checkpoints: a round trip keeps config, weights, outputs and the trainer's extras."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from floodcast.models import build_model, load_model, read_checkpoint, save_model


def test_round_trip(tmp_path):
    model = build_model(
        "small_unet",
        in_channels=3,
        decoder_channels=4,
        encoder_depth=2,
        depth_head=True,
        upscale=2,
        seed=0,
    )
    model.train()
    model(torch.randn(4, 3, 16, 16))  # move the BN running stats away from their init
    model.eval()
    extra = {
        "stats": {"mean": np.array([1.5, 2.0], dtype=np.float32), "n": np.int64(7)},
        "channels": ("rain_0", "dem"),
        "threshold": 0.1,
        "data": Path("/x/store.zarr"),
    }
    path = save_model(model, tmp_path / "m" / "model.pt", extra)
    loaded, got = load_model(path)
    assert loaded.config == model.config and not loaded.training
    assert got == {
        "stats": {"mean": [1.5, 2.0], "n": 7},
        "channels": ("rain_0", "dem"),
        "threshold": 0.1,
        "data": "/x/store.zarr",
    }
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


def test_warm_start_matches_channels_by_name(tmp_path):
    from floodcast.errors import InputError
    from floodcast.models import warm_start

    old = build_model("small_unet", in_channels=3, decoder_channels=4, encoder_depth=2, seed=0)
    old.train()
    old(torch.randn(4, 3, 16, 16))  # non-trivial BN statistics
    old.eval()
    path = save_model(old, tmp_path / "old.pt", {"data": {"channels": ["rain", "dem", "accum"]}})
    # a new input channel in the middle, and a depth head the old model lacks
    new = build_model(
        "small_unet", in_channels=4, decoder_channels=4, encoder_depth=2, depth_head=True, seed=1
    )
    rep = warm_start(new, path, ["rain", "dem", "prev_depth", "accum"])
    assert rep["channels_added"] == ["prev_depth"] and rep["channels_dropped"] == []
    assert rep["fresh"] == ["depth_head.weight", "depth_head.bias"]
    new.eval()
    x = torch.randn(2, 3, 16, 16)
    x4 = torch.cat([x[:, :2], torch.rand(2, 1, 16, 16) * 5, x[:, 2:]], 1)
    with torch.no_grad():  # the new channel has zero filters: the old model's function exactly
        assert torch.allclose(old(x)["logits"], new(x4)["logits"], atol=1e-6)
    # same width but reordered channels: filters follow the names, not the positions
    swapped = build_model("small_unet", in_channels=3, decoder_channels=4, encoder_depth=2, seed=2)
    warm_start(swapped, path, ["accum", "dem", "rain"])
    swapped.eval()
    with torch.no_grad():
        assert torch.allclose(old(x)["logits"], swapped(x.flip(1))["logits"], atol=1e-6)
    with pytest.raises(InputError, match="same --model"):
        warm_start(build_model("autoencoder", in_channels=3), path, ["rain", "dem", "accum"])


def test_warm_start_warns_when_the_store_scales_inputs_otherwise(tmp_path):
    from floodcast.models import warm_start

    old = build_model("small_unet", in_channels=2, decoder_channels=4, encoder_depth=2, seed=0)
    stats = {"rain_mean": 2.0, "rain_std": 3.0}
    path = save_model(
        old, tmp_path / "old.pt", {"data": {"channels": ["rain", "dem"], "stats": stats}}
    )
    new = build_model("small_unet", in_channels=2, decoder_channels=4, encoder_depth=2, seed=1)
    # within 1 %: the same store rebuilt, say; no warning
    assert (
        warm_start(new, path, ["rain", "dem"], {"rain_mean": 2.01, "rain_std": 3.0})[
            "stats_changed"
        ]
        == {}
    )
    with pytest.warns(UserWarning, match="rain_std"):
        rep = warm_start(new, path, ["rain", "dem"], {"rain_mean": 2.0, "rain_std": 4.5})
    assert rep["stats_changed"] == {"rain_std": [3.0, 4.5]}
