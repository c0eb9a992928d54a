"""build-dataset / dataset info through the CLI, on real radar and a real DEM."""

import json

import pytest
from typer.testing import CliRunner

from floodcast.cli import app


@pytest.mark.shared_data
def test_build_dataset_real_fmi_radar(tmp_path, shared_data):
    fmi = shared_data / "radar/pysteps-data/radar/fmi/pgm/20160928"
    dem = shared_data / "dem/landlab/hugo_site.asc"
    if not fmi.is_dir() or not dem.is_file():
        pytest.skip(f"shared radar/DEM missing: {fmi}, {dem}")
    out = tmp_path / "fmi.zarr"
    args = [
        "build-dataset",
        "--dem",
        str(dem),
        "--radar",
        f"fmi:{fmi}",
        "--out",
        str(out),
        "--events",
        "3",
        "--event-frames",
        "6",
        "--patch",
        "48",
        "--history",
        "3",
        "--threshold",
        "0.01",
        "--scheduler",
        "sync",
        "--min-rain",
        "0.2",
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "events: 3" in r.output
    info = CliRunner().invoke(app, ["dataset", "info", str(out), "--json"])
    assert info.exit_code == 0, info.output
    d = json.loads(info.output)
    assert d["events"] == 3
    assert sum(d["samples_kept"].values()) > 0
    assert d["channels"][:3] == ["rain_t-2", "rain_t-1", "rain_t-0"]
    assert d["size_on_disk_bytes"] < d["one_record_per_window_bytes"]["raw"]
    assert d["test_dems"] == []
    # holding out the only DEM, or one the build lacks: refused before anything is written
    for dem_id, msg in (("hugo_site", "none is left to train on"), ("nope", "['nope']")):
        r = CliRunner().invoke(app, [*args, "--test-dem", dem_id])
        assert r.exit_code == 1 and msg in r.output, r.output
    again = CliRunner().invoke(app, ["dataset", "info", str(out), "--json"])
    assert json.loads(again.output)["events"] == 3  # the finished store is untouched


def test_bad_threshold_is_a_clear_error(tmp_path):
    r = CliRunner().invoke(
        app,
        [
            "build-dataset",
            "--dem",
            "sample",
            "--radar",
            "x",
            "--out",
            str(tmp_path / "a.zarr"),
            "--threshold",
            "15",
        ],
    )
    assert r.exit_code == 1
    assert "threshold" in r.output
    assert not (tmp_path / "a.zarr").exists()


def test_info_on_missing_store(tmp_path):
    r = CliRunner().invoke(app, ["dataset", "info", str(tmp_path / "nope.zarr")])
    assert r.exit_code == 1 and "not a floodcast dataset store" in r.output


def test_build_dataset_landcover_options_reach_the_solver_settings(tmp_path, monkeypatch):
    """--landcover/--manning-table go into the build's solver settings (the build itself is
    tests/data/test_build.py's, which also checks that --manning with --landcover is refused)."""
    import floodcast.data.build as build

    seen = []
    monkeypatch.setattr(
        build, "build_dataset", lambda out, dems, radars, cfg, **kw: seen.append(cfg)
    )
    monkeypatch.setattr("floodcast.cli.dataset.load_radars", lambda *a, **kw: {})
    monkeypatch.setattr("floodcast.cli.dataset._print_summary", lambda *a: None)
    base = ["dataset", "build", "--dem", "sample", "--radar", "x", "--out", str(tmp_path / "o")]
    lc = ["--landcover", "lc.tif", "--manning-table", "n.csv"]
    r = CliRunner().invoke(app, [*base, *lc])
    assert r.exit_code == 0, r.output
    s = seen[0].solver
    assert (s.landcover, s.manning_table, s.manning) == ("lc.tif", "n.csv", 0.035)
    r = CliRunner().invoke(app, [*base, "--manning", "n.tif"])
    assert r.exit_code == 0 and seen[1].solver.manning == "n.tif"
