"""Training smoke test through the CLI on the tiny generated store; then evaluate it."""

import itertools
import json

import pytest
from typer.testing import CliRunner

from floodcast.cli import app
from floodcast.models.checkpoint import load_model


def _state_run(path, out, epochs: int, *extra: str) -> list[str]:
    """The small state-formulation training run the fixture makes (and --resume continues)."""
    return [
        *("train", "--data", str(path), "--out", str(out), "--model", "small_unet"),
        *("--epochs", str(epochs), "--batch-size", "8", "--lr", "3e-3", "--quiet"),
        *("--formulation", "state", "--depth-head", "--lr-schedule", "cosine", *extra),
    ]


@pytest.fixture(scope="module")
def trained(tiny_store, tmp_path_factory):
    path, _ = tiny_store
    out = tmp_path_factory.mktemp("train") / "run"
    args = _state_run(path, out, 2)
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    (out.parent / "stdout.txt").write_text(r.output)  # what the command printed
    return path, out


def test_printed_result_is_rounded_and_the_file_keeps_every_digit(trained):
    from floodcast.display import rounded

    _path, out = trained
    printed = (out.parent / "stdout.txt").read_text()
    shown = json.loads(printed[printed.index("{\n") :])
    saved = json.loads((out / "train_result.json").read_text())
    assert shown == json.loads(json.dumps(rounded(saved)))
    # a perf_counter difference: every digit in the file, 3 significant ones on the screen
    assert shown["wall_time_s"] != saved["wall_time_s"]


def test_train_writes_checkpoints_with_config(trained):
    _path, out = trained
    result = json.loads((out / "train_result.json").read_text())
    assert result["epochs_run"] >= 1
    assert (out / "checkpoints" / "last.ckpt").exists()
    assert (out / "logs" / "version_0" / "metrics.csv").exists()
    _model, extra = load_model(out / "model.pt")
    assert extra["data"]["channels"][-2:] == ["rain_accum", "time_since_start"]
    assert extra["data"]["fingerprint"]
    assert extra["data"]["stats"]["rain_std"] > 0
    assert extra["train"]["lr"] == 3e-3
    # the cut fitted on the best epoch's validation samples travels with the model
    assert extra["cut_fit"]["split"] == "val" and extra["cut"] == extra["cut_fit"]["cut"]
    assert result["cut"] == extra["cut"]


def test_config_file_reproduces_the_run(trained, tmp_path):
    """train_config.json passed back with --config gives the same model (CPU, same seed);
    an option typed on the command line wins over the file."""
    import torch

    _path, out = trained
    again = tmp_path / "again"
    r = CliRunner().invoke(
        app, ["train", "--config", str(out / "train_config.json"), "--out", str(again), "--quiet"]
    )
    assert r.exit_code == 0, r.output
    first = json.loads((out / "train_config.json").read_text())
    second = json.loads((again / "train_config.json").read_text())
    assert {**first, "out": ""} == {**second, "out": ""}
    m1, _ = load_model(out / "model.pt")
    m2, _ = load_model(again / "model.pt")
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_config_file_errors(tmp_path):
    bad = tmp_path / "run.toml"
    bad.write_text("lr = 0.01\nlearning_rate = 3\n")
    r = CliRunner().invoke(app, ["train", "--config", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code != 0 and "unknown option(s) ['learning_rate']" in r.output
    bad.write_text("lr = 0.01\n")
    r = CliRunner().invoke(app, ["train", "--config", str(bad)])
    assert r.exit_code != 0 and "missing --data, --out" in r.output


def test_cosine_schedule_decays_over_the_epochs(trained):
    import csv

    from floodcast.training.task import COSINE_FLOOR, cosine_lr

    assert cosine_lr(1.0, 0.0) == 1.0 and cosine_lr(1.0, 2.0) == pytest.approx(COSINE_FLOOR)
    assert cosine_lr(1.0, 0.5) == pytest.approx(COSINE_FLOOR + (1 - COSINE_FLOOR) / 2)
    _, out = trained
    rows = csv.DictReader((out / "logs" / "version_0" / "metrics.csv").open())
    lrs = [float(r["lr"]) for r in rows if r.get("lr")]
    assert lrs[0] == pytest.approx(3e-3, rel=0.05) and lrs[-1] < lrs[0]
    assert all(b <= a for a, b in itertools.pairwise(lrs))


def test_resume_continues(trained):
    path, out = trained
    args = _state_run(path, out, 3, "--resume")
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "train_result.json").read_text())["epochs_run"] == 3


def test_init_from_warm_starts_an_autoregressive_model(trained, tmp_path):
    path, out = trained
    args = [
        "train",
        "--data",
        str(path),
        "--out",
        str(tmp_path / "ar"),
        "--model",
        "small_unet",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--quiet",
        "--formulation",
        "autoregressive+state+reference_depth",
        "--depth-head",
        "--init-from",
        str(out / "model.pt"),
        "--augment",
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    _, extra = load_model(tmp_path / "ar" / "model.pt")
    assert extra["warm_start"]["from"] == str(out / "model.pt")
    assert extra["warm_start"]["channels_added"] == ["prev_depth", "reference_depth"]
    # a model reading reference_depth records the storm behind it; the parent does not
    from floodcast.data.reference_storm import reference_settings

    assert extra["data"]["reference_storm"] == reference_settings()
    assert "matched_storm" not in extra["data"]
    # evaluate, like everything that maps, refuses a model trained on another storm
    from floodcast.errors import InputError
    from floodcast.evaluation.evaluate import EvalConfig, evaluate

    model, tampered = load_model(tmp_path / "ar" / "model.pt")
    tampered["data"]["reference_storm"] = {**reference_settings(), "rate_mmh": 2.5}
    with pytest.raises(InputError, match="trained with the reference storm"):
        evaluate(EvalConfig(model="ar", data=str(path), out=str(tmp_path / "rep")), model, tampered)
    assert "reference_storm" not in load_model(out / "model.pt")[1]["data"]
    assert extra["warm_start"]["fresh"] == []  # the state model had a depth head too
    assert extra["train"]["augment"] is True
    bad = CliRunner().invoke(
        app, [*args[:4], str(tmp_path / "ar2"), "--model", "autoencoder", *args[7:]]
    )
    assert bad.exit_code != 0 and "same --model" in bad.output


def test_evaluate_report(trained, tmp_path):
    path, out = trained
    rep = tmp_path / "report"
    r = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--model",
            str(out / "model.pt"),
            "--data",
            str(path),
            "--out",
            str(rep),
            "--speed-size",
            "64",
        ],
    )
    assert r.exit_code == 0, r.output
    text = (rep / "report.md").read_text()
    for word in (
        "all_dry_accuracy",
        "csi",
        "mcc",
        "climatology",
        "terrain_heuristic",
        "model+postprocess",
        "Formulas",
        "simulator cold",
    ):
        assert word in text
    scores = json.loads((rep / "scores.json").read_text())
    dry = [r for r in scores["overall"] if r["method"] == "all_dry"]
    assert all(r["pod"] == 0 or r["pod"] != r["pod"] for r in dry)  # all-dry detects nothing
    assert (rep / "confusion.png").exists() and (rep / "maps.png").exists()


def test_unknown_model_lists_valid(tiny_store, tmp_path):
    r = CliRunner().invoke(
        app,
        [
            "train",
            "--data",
            str(tiny_store[0]),
            "--out",
            str(tmp_path),
            "--model",
            "nope",
            "--quiet",
        ],
    )
    assert r.exit_code == 1
    assert "deeplabv3plus" in r.output


def test_prior_trains_a_correction_to_a_depth_channel(tiny_store, tmp_path):
    import math

    path, _ = tiny_store
    base = [
        "train",
        "--data",
        str(path),
        "--model",
        "small_unet",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--quiet",
        "--formulation",
        "autoregressive+state",
    ]
    r = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "p"), "--prior", "prev_depth"])
    assert r.exit_code == 0, r.output
    model, extra = load_model(tmp_path / "p" / "model.pt")
    channels = extra["data"]["channels"]
    assert model.config.prior_channel == channels.index("prev_depth")
    thr = extra["data"]["spec"]["threshold"]
    assert model.config.prior_offset == pytest.approx(math.log1p(thr / 0.05))
    assert extra["train"]["prior"] == "prev_depth" and model.prior_scale is not None
    bad = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "b"), "--prior", "rain_accum"])
    assert bad.exit_code != 0 and "not a depth channel" in bad.output
    bad = CliRunner().invoke(
        app, [*base[:-1], "state", "--out", str(tmp_path / "c"), "--prior", "matched_depth"]
    )
    assert bad.exit_code != 0 and "not among the channels" in bad.output
