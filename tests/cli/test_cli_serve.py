"""`floodcast serve`: bad live-ensemble options are refused by name before anything loads."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from floodcast.cli import app


@pytest.mark.parametrize(
    "extra,match",
    [
        (["--ensemble", "-1"], "--ensemble must be >= 0"),
        (["--watch-source", "nope"], "--watch-source: unknown radar source 'nope'"),
        (["--threshold", "0"], "--threshold must be depths > 0 m"),
        (["--alert", "a.geojson:0.3:0.5:60"], "--alert/--notify need --watch"),
    ],
)
def test_bad_live_options(tmp_path, extra, match):
    args = ["serve", "--model", str(tmp_path / "m.pt"), "--dem", "sample", *extra]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1 and match in r.output, r.output


def test_help_lists_the_live_options():
    out = CliRunner().invoke(app, ["serve", "--help"]).output
    for opt in ("--watch-source", "--ensemble", "--lead", "--threshold", "--alert", "--notify"):
        assert opt in out


def test_alerts_without_the_live_physics_are_refused(tmp_path):
    """--no-physics runs no live ensemble: an --alert would never be evaluated (it was
    accepted and stayed silent)."""
    (tmp_path / "w").mkdir()
    args = ["serve", "--model", str(tmp_path / "m.pt"), "--dem", "sample"]
    args += ["--watch", str(tmp_path / "w"), "--no-physics", "--alert", "a.geojson:0.3:0.5:60"]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1 and "not --no-physics" in r.output, r.output


def test_no_physics_says_there_is_no_live_ensemble(tmp_path):
    """--ensemble defaults to 20: with --no-physics it cannot run, and the server says so
    (the model file is missing here, so the run stops right after the note)."""
    (tmp_path / "w").mkdir()
    args = ["serve", "--model", str(tmp_path / "m.pt"), "--dem", "sample"]
    r = CliRunner().invoke(app, [*args, "--watch", str(tmp_path / "w"), "--no-physics"])
    assert "no live flood ensemble" in r.output, r.output
