"""Embedding plots: structure numbers, the random-vector control, label alignment."""

from __future__ import annotations

import json

import numpy as np
import pytest

from floodcast.diagnostics.embed import (
    layout_2d,
    neighbour_agreement,
    random_like,
    run_embed,
)
from floodcast.diagnostics.labels import LabelAlignmentError, make_labels
from floodcast.diagnostics.plots import scatter_png


def clustered(n_per: int = 40, groups: int = 4, dims: int = 16, seed: int = 0):
    """Vectors in well-separated clusters, one per event, with their sample keys."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (groups, dims))
    ev = np.repeat(np.arange(groups), n_per)
    vec = centres[ev] + rng.normal(0, 1, (len(ev), dims))
    keys = np.stack([ev, np.arange(len(ev)), np.zeros_like(ev), np.zeros_like(ev)], 1)
    return vec.astype(np.float32), keys


def test_structure_number_detects_clusters_and_not_random():
    vec, keys = clustered()
    lab = make_labels(keys, "event")
    real = neighbour_agreement(layout_2d(vec, "pca"), lab, keys, n_perm=100)
    assert real["score"] > 0.9 and real["p"] < 0.02 and real["z"] > 10
    rnd = neighbour_agreement(layout_2d(random_like(vec), "pca"), lab, keys, n_perm=100)
    assert abs(rnd["z"]) < 3 and rnd["p"] > 0.01 and rnd["score"] < 0.45


def test_shuffled_label_order_is_detected(tmp_path):
    vec, keys = clustered()
    pts = layout_2d(vec, "pca")
    perm = np.random.default_rng(1).permutation(len(keys))
    wrong = make_labels(keys[perm], "event")  # labels built in another order
    with pytest.raises(LabelAlignmentError, match="not in the points' order"):
        scatter_png(pts, keys, wrong, tmp_path / "x.png", "t")
    with pytest.raises(LabelAlignmentError):
        neighbour_agreement(pts, wrong, keys)
    scatter_png(pts, keys, make_labels(keys, "event"), tmp_path / "ok.png", "t")
    assert (tmp_path / "ok.png").stat().st_size > 1000


def test_run_embed_check_random_reports_no_structure(tmp_path):
    vec, keys = clustered()
    depth = np.zeros((len(keys), 4, 4), np.float32)
    depth[::2, 0, 0] = 1.0
    res = run_embed(
        vec,
        keys,
        str(tmp_path),
        ["event", "wet_fraction"],
        depth_maps=depth,
        method="pca",
        check_random=True,
    )
    st = res["structure"]
    assert st["embeddings/event"]["p"] < 0.02
    assert st["random/event"]["p"] > 0.01 and abs(st["random/event"]["z"]) < 3
    saved = json.loads((tmp_path / "structure.json").read_text())
    assert set(saved["structure"]) == set(st)
    for f in (
        "embeddings_pca_event.png",
        "random_pca_event.png",
        "embeddings_parallel_event.png",
        "embeddings_pca_wet_fraction.html",
    ):
        assert (tmp_path / f).exists(), f


def test_embed_cli_on_store(tiny_store, tmp_path):
    from typer.testing import CliRunner

    from floodcast.cli import app
    from floodcast.training.contrastive import DualEncoder, DualEncoderConfig
    from floodcast.training.pretrain import save_pretrained

    path, _ = tiny_store
    ckpt = save_pretrained(
        DualEncoder(
            DualEncoderConfig(model="small_unet", encoder_depth=2, in_channels=4, embed_dim=8)
        ),
        tmp_path / "p.pt",
        {"result": {"config": {"formulation": "original"}}},
    )
    r = CliRunner().invoke(
        app,
        [
            "embed",
            "--checkpoint",
            str(ckpt),
            "--data",
            str(path),
            "--out",
            str(tmp_path / "e"),
            "--method",
            "pca",
            "--check-random",
            "--color",
            "source,wet_fraction",
            "--no-html",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "kNN agreement" in r.output and "random" in r.output
    assert (tmp_path / "e" / "random_pca_source.png").exists()


@pytest.mark.slow
def test_umap_random_vectors_unstructured(tmp_path):
    vec, keys = clustered(n_per=50)
    res = run_embed(vec, keys, str(tmp_path), ["event"], method="umap", check_random=True)
    assert res["structure"]["embeddings/event"]["p"] < 0.02
    assert res["structure"]["random/event"]["p"] > 0.01
