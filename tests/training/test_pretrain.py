"""Contrastive pretraining: retrieval above chance with a planted relation, at chance
without one; the metric itself; encoder transfer into a segmentation model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from floodcast.errors import InputError
from floodcast.models import build_model
from floodcast.training.contrastive import (
    DualEncoder,
    DualEncoderConfig,
    clip_loss,
    same_map_groups,
)
from floodcast.training.pretrain import (
    ArrayPairs,
    PretrainConfig,
    load_encoder_into,
    pretrain,
    save_pretrained,
)
from floodcast.training.retrieval import retrieval_accuracy

SMALL = {"model": "small_unet", "encoder_depth": 2, "decoder_channels": 8}


def test_retrieval_metric_chance_and_perfect():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(256, 16))
    perfect = retrieval_accuracy(z, z, n_candidates=16)
    assert perfect.top1 == 1.0 and perfect.chance_top1 == 1 / 16 and perfect.chance_top5 == 5 / 16
    rand = retrieval_accuracy(z, rng.normal(size=(256, 16)), n_candidates=16, repeats=20)
    assert abs(rand.top1 - 1 / 16) < 0.03 and abs(rand.top5 - 5 / 16) < 0.06
    assert retrieval_accuracy(z, z, n_candidates=16, shuffle_pairs=True).top1 < 0.15
    tied = retrieval_accuracy(np.ones((32, 4)), np.ones((32, 4)), n_candidates=8)
    assert tied.top1 == 0.0  # identical candidates are not free hits


def test_clip_loss_counts_identical_maps_as_positives():
    depth = torch.zeros(4, 5, 5)
    depth[0, 1, 1] = 1.0  # one wet map, three identical dry ones
    groups = same_map_groups(depth)
    assert groups.tolist().count(groups[1].item()) == 3
    logits = torch.eye(4) * 10
    logits[1:, 1:] = 10  # the model cannot tell the dry maps apart, and should not be pushed to

    def grad_norm(g):
        lg = logits.clone().requires_grad_(True)
        clip_loss(lg, lg.t(), g).backward()
        return float(lg.grad.norm())

    assert grad_norm(groups) < 1e-3
    assert grad_norm(None) > 0.1


def _run(planted, tmp_path, shuffle: bool) -> dict:
    x, d, e = planted(192, size=12, seed=0)
    xt, dt, et = planted(64, size=12, seed=1)  # held out: other storms
    cfg = PretrainConfig(
        out=str(tmp_path / ("shuf" if shuffle else "real")),
        epochs=5,
        batch_size=32,
        lr=3e-3,
        n_candidates=16,
        shuffle_pairs=shuffle,
        **SMALL,
    )
    return pretrain(
        cfg, datasets=(ArrayPairs(x, d, e), ArrayPairs(xt, dt, et), {}), log=lambda s: None
    )


def test_retrieval_above_chance_with_planted_relation(planted, tmp_path):
    r = _run(planted, tmp_path, shuffle=False)["retrieval"]
    assert r["top1"] > 3 * r["chance_top1"] and r["p_top1"] < 1e-3, r
    assert r["top5"] > r["chance_top5"] + 0.2, r
    assert (tmp_path / "real" / "pretrain.pt").exists()


def test_retrieval_at_chance_when_trained_on_shuffled_pairs(planted, tmp_path):
    r = _run(planted, tmp_path, shuffle=True)["retrieval"]
    assert r["top1"] < 2.5 * r["chance_top1"] and r["p_top1"] > 1e-3, r


def test_load_encoder_into_roundtrip_and_mismatch(tmp_path):
    dual = DualEncoder(DualEncoderConfig(in_channels=4, embed_dim=8, **SMALL))
    with torch.no_grad():
        for p in dual.rain.encoder.parameters():
            p.add_(1.0)
    ckpt = save_pretrained(dual, tmp_path / "p.pt")
    seg = build_model("small_unet", in_channels=4, encoder_depth=2, decoder_channels=8)
    n = load_encoder_into(seg, ckpt, log=lambda s: None)
    assert n == len(seg.encoder.state_dict())
    for k, v in seg.encoder.state_dict().items():
        assert torch.equal(v, dual.rain.encoder.state_dict()[k]), k
    wrong = build_model("small_unet", in_channels=6, encoder_depth=2, decoder_channels=8)
    before = {k: v.clone() for k, v in wrong.encoder.state_dict().items()}
    with pytest.raises(
        InputError, match="in_channels=4.*shape mismatch|shape mismatch.*in_channels=4"
    ):
        load_encoder_into(wrong, ckpt)
    assert all(torch.equal(before[k], v) for k, v in wrong.encoder.state_dict().items())
    with pytest.raises(InputError, match="not a floodcast pretrain checkpoint"):
        torch.save({"x": 1}, tmp_path / "other.pt")
        load_encoder_into(seg, tmp_path / "other.pt")


def test_pretrain_cli_then_train_from_encoder(tiny_store, tmp_path):
    from floodcast.cli import app

    path, _ = tiny_store
    out = tmp_path / "pre"
    r = CliRunner().invoke(
        app,
        [
            "pretrain",
            "--data",
            str(path),
            "--out",
            str(out),
            "--model",
            "small_unet",
            "--encoder-depth",
            "2",
            "--epochs",
            "1",
            "--batch-size",
            "16",
            "--candidates",
            "8",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "chance" in r.output and (out / "retrieval.json").exists()
    run = tmp_path / "run"
    r = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(path),
            "--out",
            str(run),
            "--model",
            "small_unet",
            "--encoder-depth",
            "2",
            "--epochs",
            "1",
            "--formulation",
            "original",
            "--init-encoder",
            str(out / "pretrain.pt"),
            "--quiet",
            "--limit-batches",
            "2",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "encoder tensors" in r.output
