"""`floodcast simulate --nodata wall|open --sea-level M` through the Typer app."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from floodcast.cli import app

runner = CliRunner()


@pytest.fixture
def coast_npz(tmp_path):
    """Land falling east at 1 % to a nodata sea (columns 20..29)."""
    z = np.tile((29 - np.arange(30)) * 0.1, (8, 1)).astype(np.float32)
    z[:, 20:] = np.nan
    p = tmp_path / "coast.npz"
    np.savez(p, elevation=z, cell_size=10.0)
    return p


def sim(*args):
    return runner.invoke(app, ["simulate", *map(str, args)])


def _run(dem, out, *extra):
    return sim(
        "--dem",
        dem,
        "--rain",
        "50mm/h:20min",
        "--duration",
        1200,
        "--save-every",
        600,
        "--boundary",
        "closed",
        "--out",
        out,
        *extra,
    )


def test_nodata_open_drains_and_is_recorded(tmp_path, coast_npz):
    res = _run(coast_npz, tmp_path / "wall")
    assert res.exit_code == 0, res.output
    wall = json.loads((tmp_path / "wall/run.json").read_text())
    assert wall["settings"]["nodata"] == "wall" and wall["settings"]["sea_level"] is None
    assert any("--nodata wall" in n for n in wall["notes"])
    res = _run(coast_npz, tmp_path / "open", "--nodata", "open")
    assert res.exit_code == 0, res.output
    assert "--nodata open" in res.output
    run = json.loads((tmp_path / "open/run.json").read_text())
    assert run["settings"]["nodata"] == "open" and run["settings"]["solver"]["nodata"] == "open"
    assert not any("are closed walls" in n for n in run["notes"])
    mass = run["stats"]["mass"]
    assert mass["outlet_out_m3"] > 0 and mass["relative_error"] < 1e-5
    assert run["stats"]["max_depth_m"] < wall["stats"]["max_depth_m"] / 5  # no ponding
    header = (tmp_path / "open/mass_balance.csv").read_text().splitlines()[0]
    assert "outlet_out_m3" in header


def test_sea_level_is_recorded(tmp_path, coast_npz):
    z = np.tile((29 - np.arange(30)) * 0.1, (8, 1)).astype(np.float32) - 0.45  # sea at <= 0
    dem = tmp_path / "sea.npz"
    np.savez(dem, elevation=z, cell_size=10.0)
    res = _run(dem, tmp_path / "sea", "--sea-level", 0, "--fill-sinks")
    assert res.exit_code == 0, res.output
    run = json.loads((tmp_path / "sea/run.json").read_text())
    assert run["settings"]["sea_level"] == 0.0
    assert any("--sea-level 0 m: 40 cells" in n for n in run["notes"])
    assert run["stats"]["mass"]["outlet_out_m3"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--nodata", "sea"), "--nodata must be one of wall, open, got 'sea'"),
        (("--sea-level", "nan"), "--sea-level must be a finite elevation"),
        (("--sea-level", "inf"), "--sea-level must be a finite elevation"),
        (("--sea-level", "1e4"), "every valid cell is at or below --sea-level"),
    ],
)
def test_bad_coast_options(tmp_path, coast_npz, args, message):
    out = tmp_path / "bad"
    res = _run(coast_npz, out, *args)
    assert res.exit_code == 1
    assert message in " ".join(res.output.split())
    assert not out.exists()  # nothing written
