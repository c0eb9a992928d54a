"""Training smoke test through the CLI on the tiny generated store; then evaluate it."""

import json

import pytest
from typer.testing import CliRunner

from floodcast.cli import app
from floodcast.models.checkpoint import load_model


@pytest.fixture(scope="module")
def trained(tiny_store, tmp_path_factory):
    path, _ = tiny_store
    out = tmp_path_factory.mktemp("train") / "run"
    args = ["train", "--data", str(path), "--out", str(out), "--model", "small_unet",
            "--epochs", "2", "--batch-size", "8", "--lr", "3e-3", "--quiet",
            "--formulation", "state", "--depth-head"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    return path, out


def test_train_writes_checkpoints_with_config(trained):
    path, out = trained
    result = json.loads((out / "train_result.json").read_text())
    assert result["epochs_run"] >= 1
    assert (out / "checkpoints" / "last.ckpt").exists()
    assert (out / "logs" / "version_0" / "metrics.csv").exists()
    model, extra = load_model(out / "model.pt")
    assert extra["data"]["channels"][-2:] == ["rain_accum", "time_since_start"]
    assert extra["data"]["fingerprint"]
    assert extra["data"]["stats"]["rain_std"] > 0
    assert extra["train"]["lr"] == 3e-3


def test_resume_continues(trained):
    path, out = trained
    args = ["train", "--data", str(path), "--out", str(out), "--model", "small_unet",
            "--epochs", "3", "--batch-size", "8", "--quiet", "--formulation", "state",
            "--depth-head", "--resume"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "train_result.json").read_text())["epochs_run"] == 3


def test_evaluate_report(trained, tmp_path):
    path, out = trained
    rep = tmp_path / "report"
    r = CliRunner().invoke(app, ["evaluate", "--model", str(out / "model.pt"), "--data", str(path),
                                 "--out", str(rep), "--speed-size", "64"])
    assert r.exit_code == 0, r.output
    text = (rep / "report.md").read_text()
    for word in ("all_dry_accuracy", "csi", "mcc", "climatology", "terrain_heuristic",
                 "model+postprocess", "Formulas", "simulator cold"):
        assert word in text
    scores = json.loads((rep / "scores.json").read_text())
    dry = [r for r in scores["overall"] if r["method"] == "all_dry"]
    assert all(r["pod"] == 0 or r["pod"] != r["pod"] for r in dry)  # all-dry detects nothing
    assert (rep / "confusion.png").exists() and (rep / "maps.png").exists()


def test_unknown_model_lists_valid(tiny_store, tmp_path):
    r = CliRunner().invoke(app, ["train", "--data", str(tiny_store[0]), "--out", str(tmp_path),
                                 "--model", "nope", "--quiet"])
    assert r.exit_code == 1
    assert "deeplabv3plus" in r.output
