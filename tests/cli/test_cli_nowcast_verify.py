"""`floodcast nowcast verify --flood`: the --window and --steps-option options."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from floodcast import defaults
from floodcast.cli import app
from floodcast.cli.nowcast import parse_steps_options
from floodcast.errors import InputError


def test_steps_options_parse_json_values_else_strings():
    got = parse_steps_options(["conditional=true", "mask_method=null", "noise_stddev_adj=auto"])
    assert got == {"conditional": True, "mask_method": None, "noise_stddev_adj": "auto"}
    assert parse_steps_options(['vel_pert_kwargs={"p_par": [1, 2, 3]}']) == {
        "vel_pert_kwargs": {"p_par": [1, 2, 3]}
    }
    with pytest.raises(InputError, match="KEY=VALUE"):
        parse_steps_options(["conditional"])


def test_flood_verify_refuses_an_unknown_window(tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app,
        ["nowcast", "verify", "--flood", "--radar", "x", "--dem", "sample", "--out", str(out)]
        + ["--window", "future"],
    )
    assert r.exit_code == 1 and "--window" in r.output
    assert not out.exists()


def test_flood_verify_refuses_an_unknown_ensemble_method(tmp_path):
    out = tmp_path / "out"
    r = CliRunner().invoke(
        app,
        ["nowcast", "verify", "--flood", "--radar", "x", "--dem", "sample", "--out", str(out)]
        + ["--ensemble-method", "lagrangian"],
    )
    assert r.exit_code == 1 and "--ensemble-method" in r.output and "sseps" in r.output
    assert not out.exists()


def test_flood_verify_passes_the_ensemble_method(tmp_path, monkeypatch):
    import floodcast.evaluation.flood_verify as fv

    seen = {}

    def fake_run(req, echo=print):
        seen["method"] = req.ensemble_method
        raise InputError("stop here")

    monkeypatch.setattr(fv, "run_flood_verify", fake_run)
    base = ["nowcast", "verify", "--flood", "--radar", "x", "--dem", "sample"]
    r = CliRunner().invoke(app, base + ["--out", str(tmp_path / "a"), "--ensemble-method", "sseps"])
    assert r.exit_code == 1 and seen["method"] == "sseps"
    CliRunner().invoke(app, base + ["--out", str(tmp_path / "b")])
    assert seen["method"] == defaults.ENSEMBLE_METHOD == "sseps"  # the default
