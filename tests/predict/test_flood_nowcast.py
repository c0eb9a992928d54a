"""Physics flood nowcast: ensemble summaries, output files, hot start, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from typer.testing import CliRunner

from floodcast.cli import app
from floodcast.defaults import FLOAT_NODATA
from floodcast.errors import InputError
from floodcast.physics.ensemble import run_separately
from floodcast.predict.flood_nowcast import lead_steps, run_ensemble, solver_setup

from .test_nowcast import blob_frames


def _valley(ny=30, nx=36):
    return (100 + np.add.outer(np.arange(ny) * 0.3, np.abs(np.arange(nx) - nx / 2) * 0.4)).astype(
        np.float32
    )


def test_probabilities_are_member_fractions_and_members_match_the_solver():
    z = _valley()
    cfg, bnd = solver_setup()
    fc = np.zeros((4, 3) + z.shape, np.float32)
    fc[1:] = 80.0  # 3 of 4 members heavy rain, one dry
    fc[3, 2] = 300.0  # one member a downpour in the last interval
    calls = []
    res = run_ensemble(
        z, 30.0, None, fc, 300.0, (0.01, 0.1), cfg, bnd, True, lambda *a: calls.append(a)
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]  # one progress call per lead, members together
    ref = run_separately(z, 30.0, cfg, bnd, None, fc, 300.0, 900.0)
    np.testing.assert_allclose(res.member_depths[:, -1], ref, atol=1e-6)
    d = res.member_depths
    for j, th in enumerate((0.01, 0.1)):
        np.testing.assert_array_equal(res.probability[:, j], (d > th).mean(0))
        assert set(np.unique(res.probability[:, j])) <= {0, 0.25, 0.5, 0.75, 1.0}
    assert res.probability[-1, 0].max() == 0.75  # the dry member never floods
    np.testing.assert_allclose(res.mean_depth, d.mean(1 - 1), rtol=1e-6)
    np.testing.assert_allclose(res.p90_depth, np.percentile(d, 90, axis=0), rtol=1e-6)
    assert (res.probability_within >= res.probability).all()
    np.testing.assert_array_equal(res.max_probability, res.probability.max(0))
    assert res.rain_mean_mmh.tolist() == [60.0, 60.0, pytest.approx(115.0)]


def test_lead_must_be_a_multiple_of_the_interval():
    assert lead_steps(60, 300) == 12
    with pytest.raises(InputError, match="multiple"):
        lead_steps(7, 300)
    with pytest.raises(InputError, match="--lead"):
        lead_steps(240, 300)


def _inputs(tmp_path, n_frames=5, shift=0.0):
    from rasterio.transform import from_origin

    dem_path = tmp_path / f"dem{shift:g}.tif"
    z = _valley(40, 50) + shift
    with rasterio.open(
        dem_path,
        "w",
        driver="GTiff",
        height=40,
        width=50,
        count=1,
        dtype="float32",
        crs="EPSG:32614",
        transform=from_origin(500000, 4000000, 50, 50),
    ) as ds:
        ds.write(z, 1)
    rain = tmp_path / "rain.npz"
    np.savez(
        rain,
        rain_mmh=blob_frames(n_frames, ny=40, nx=50, vel=(0.5, 1.0)) * 6,
        times_s=np.arange(n_frames) * 300.0,
    )
    return dem_path, rain


def _run(*args):
    return CliRunner().invoke(app, ["nowcast", *map(str, args)])


def test_nowcast_cli_physics_outputs_and_hot_start(tmp_path, monkeypatch):
    import io

    import xarray as xr
    from rich.console import Console

    import floodcast.progress

    dem, rain = _inputs(tmp_path)
    terminal = io.StringIO()  # stderr as a terminal, so that the progress bar is drawn
    monkeypatch.setattr(floodcast.progress, "console", Console(file=terminal, force_terminal=True))
    out = tmp_path / "nc"
    r = _run(
        "--dem",
        dem,
        "--rain",
        rain,
        "--out",
        out,
        "--ensemble",
        3,
        "--lead",
        15,
        "--spin-up",
        0,
        "--seed",
        1,
    )
    assert r.exit_code == 0, r.output
    assert "physics ensemble (3 members)" in terminal.getvalue()
    assert "3 / 3 leads" in terminal.getvalue()
    s = json.loads((out / "nowcast.json").read_text())
    assert s["engine"] == "physics" and s["members"] == 3 and s["thresholds_m"] == [0.1, 0.3]
    assert s["method"] == "sseps"  # defaults.ENSEMBLE_METHOD
    assert [row["lead_min"] for row in s["leads"]] == [5.0, 10.0, 15.0]
    assert {"area_p_ge_0.5_m2@0.1m", "max_probability@0.3m", "rain_mean_mmh"} <= set(s["leads"][0])
    for f in (
        "lead_005min.tif",
        "lead_015min.tif",
        "max_over_lead.tif",
        "nowcast.nc",
        "nowcast.png",
        "state.npz",
    ):
        assert (out / f).exists(), f
    with rasterio.open(out / "lead_010min.tif") as ds:
        assert ds.count == 4 and ds.nodata == FLOAT_NODATA and ds.crs.to_epsg() == 32614
        assert ds.descriptions[0] == "P(depth > 0.1 m) at +10 min"
        assert ds.descriptions[3] == "ensemble p90 depth (m)"
    with xr.open_dataset(out / "nowcast.nc", decode_coords=False) as ds:
        assert ds["probability"].dims == ("time", "threshold", "y", "x")
        assert ds["time"].values.tolist() == [5.0, 10.0, 15.0]
        gm = [ds[v].attrs.get("grid_mapping") for v in ds.data_vars if v != "spatial_ref"]
        assert gm and all(g == "spatial_ref" for g in gm)
        assert "crs_wkt" in ds["spatial_ref"].attrs
        assert float(ds["probability"].max()) > 0  # this rain floods the valley
    # hot start from the written state
    drawn = len(terminal.getvalue())
    out2 = tmp_path / "nc2"
    r = _run(
        "--dem",
        dem,
        "--rain",
        rain,
        "--out",
        out2,
        "--ensemble",
        0,
        "--lead",
        5,
        "--state",
        out / "state.npz",
        "--quiet",
    )
    assert r.exit_code == 0, r.output
    assert "hot start" in r.output
    assert len(terminal.getvalue()) == drawn  # --quiet: no second bar
    # a state from another DEM is refused, nothing written
    dem_b, _ = _inputs(tmp_path, shift=1.0)
    out3 = tmp_path / "nc3"
    r = _run(
        "--dem",
        dem_b,
        "--rain",
        rain,
        "--out",
        out3,
        "--ensemble",
        0,
        "--lead",
        5,
        "--state",
        out / "state.npz",
    )
    assert r.exit_code == 1 and "--state" in r.output and "fingerprint" in r.output
    assert not out3.exists()


@pytest.mark.parametrize(
    "args, match",
    [
        (["--ensemble", "-1", "--spin-up", "0"], "--ensemble"),
        (["--lead", "7", "--spin-up", "0"], "multiple of the radar interval"),
        (["--lead", "10"], "--state FILE"),
        (["--state", "nope.npz", "--spin-up", "1"], "not both"),
        (["--state", "nope.npz"], "--state nope.npz"),
        (["--spin-up", "0", "--frames-2"], "need at least 3"),
        (["--spin-up", "0", "--alert", "missing.geojson:0.3:0.5:60"], "--alert missing.geojson"),
        (["--spin-up", "0", "--alert", "a.geojson:0.3:1.5:60"], "PROB"),
        (["--spin-up", "0", "--ensemble-method", "lagrangian"], "--ensemble-method"),
    ],
)
def test_nowcast_cli_bad_input(tmp_path, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)
    n = 2 if "--frames-2" in args else 5
    args = [a for a in args if a != "--frames-2"]
    dem, rain = _inputs(tmp_path, n_frames=n)
    out = tmp_path / "nc"
    r = _run("--dem", dem, "--rain", rain, "--out", out, "--ensemble", 2, *args)
    assert r.exit_code == 1, r.output
    assert match in r.output
    assert not out.exists()
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]


def test_nowcast_ensemble_method_steps(tmp_path, monkeypatch):
    """--ensemble-method steps: the members are pysteps STEPS's, and nowcast.json says so."""
    monkeypatch.chdir(tmp_path)
    dem, rain = _inputs(tmp_path)
    out = tmp_path / "nc"
    r = _run("--dem", dem, "--rain", rain, "--out", out, "--ensemble", 2, "--lead", 5,
             "--spin-up", 0, "--ensemble-method", "steps")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads((out / "nowcast.json").read_text())["method"] == "steps"


def test_nowcast_json_records_the_sseps_fallback(tmp_path, monkeypatch):
    """Where SSEPS cannot fit the field, nowcast.json names the method that ran (steps)
    and why, not the one asked for."""
    import floodcast.predict.nowcast_sseps as ns

    def fails(*a, **k):
        raise InputError("a local window is too smooth")

    monkeypatch.setattr(ns, "sseps_db", fails)
    monkeypatch.chdir(tmp_path)
    dem, rain = _inputs(tmp_path)
    out = tmp_path / "nc"
    r = _run("--dem", dem, "--rain", rain, "--out", out, "--ensemble", 2, "--lead", 5,
             "--spin-up", 0)  # fmt: skip
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "nowcast.json").read_text())
    assert meta["method"] == "steps"
    assert "too smooth" in meta["method_note"]


def test_alert_polygon_not_overlapping_the_dem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    dem, rain = _inputs(tmp_path)
    far = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "far away"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [[[10, 10], [10.1, 10], [10.1, 10.1], [10, 10]]],
                },
            }
        ],
    }
    (tmp_path / "far.geojson").write_text(json.dumps(far))
    r = _run(
        "--dem",
        dem,
        "--rain",
        rain,
        "--out",
        tmp_path / "nc",
        "--ensemble",
        2,
        "--spin-up",
        0,
        "--alert",
        "far.geojson:0.1:0.5:15",
    )
    assert r.exit_code == 1 and "does not overlap" in r.output
    with pytest.raises(InputError):
        from floodcast.predict.alerts import parse_alert

        parse_alert("x.geojson:0.3:0.5")


def test_engine_both_reports_agreement(model_file, tmp_path):
    dem, rain = _inputs(tmp_path)
    out = tmp_path / "nc"
    r = _run(
        "--engine",
        "both",
        "--model",
        model_file,
        "--dem",
        dem,
        "--rain",
        rain,
        "--out",
        out,
        "--ensemble",
        2,
        "--lead",
        10,
        "--spin-up",
        0,
    )
    assert r.exit_code == 0, r.output
    s = json.loads((out / "nowcast.json").read_text())
    assert s["engine"] == "both" and [a["lead_min"] for a in s["agreement_model_vs_physics"]] == [
        5.0,
        10.0,
    ]
    assert {"csi", "pod", "far"} <= set(s["agreement_model_vs_physics"][0])
    assert (out / "model" / "nowcast.json").exists() and (out / "nowcast.nc").exists()
    r = _run("--engine", "model", "--dem", dem, "--rain", rain, "--out", out)
    assert r.exit_code == 1 and "--model" in r.output


def test_nowcast_manning_raster_runs_and_is_in_the_state_fingerprint(tmp_path):
    """--manning FILE drives the ensemble (other depths than the uniform n) and is part of
    the state's fingerprint: a state saved with the raster is refused without it, and
    changing one cell of the raster changes the fingerprint."""
    from floodcast.physics.boundaries import Boundaries
    from floodcast.physics.solver import SolverConfig
    from floodcast.simulation.hotstart import fingerprint

    dem, rain = _inputs(tmp_path)
    with rasterio.open(dem) as ds:
        profile = ds.profile
    n = np.where(np.arange(50) < 25, 0.015, 0.1) * np.ones((40, 1))
    with rasterio.open(tmp_path / "n.tif", "w", **profile) as ds:
        ds.write(n.astype(np.float32), 1)
    common = ["--dem", dem, "--rain", rain, "--ensemble", 0, "--lead", 10, "--spin-up", 0]
    r = _run(*common, "--out", tmp_path / "n", "--manning", tmp_path / "n.tif")
    assert r.exit_code == 0, r.output
    r = _run(*common, "--out", tmp_path / "u")
    assert r.exit_code == 0, r.output
    with (
        rasterio.open(tmp_path / "n" / "max_over_lead.tif") as a,
        rasterio.open(tmp_path / "u" / "max_over_lead.tif") as b,
    ):
        assert not np.array_equal(a.read(), b.read())  # the raster changed the ensemble
    hot = ["--dem", dem, "--rain", rain, "--ensemble", 0, "--lead", 5]
    r = _run(*hot, "--out", tmp_path / "h", "--state", tmp_path / "n" / "state.npz")
    assert r.exit_code == 1 and "fingerprint" in r.output  # saved with the raster, run without
    r = _run(
        *hot,
        *("--out", tmp_path / "h2", "--state", tmp_path / "n" / "state.npz"),
        *("--manning", tmp_path / "n.tif"),
    )
    assert r.exit_code == 0 and "hot start" in r.output, r.output
    z = np.zeros((40, 50), np.float32)
    one = n.copy()
    one[3, 4] = 0.05
    free = Boundaries.parse("free")
    fps = {fingerprint(z, 50.0, SolverConfig(manning=m), free) for m in (n, one, 0.035)}
    assert len(fps) == 3


def test_model_engine_land_surface(model_file, tmp_path):
    """The model engine runs no solver: --infiltration is refused, and --manning on a model
    without the manning channel is said to change nothing (as predict)."""
    dem, rain = _inputs(tmp_path)
    args = ("--engine", "model", "--model", model_file, "--dem", dem, "--rain", rain)
    r = _run(*args, "--out", tmp_path / "a", "--infiltration", 2)
    assert r.exit_code == 1 and "--engine model has none" in r.output, r.output
    assert not (tmp_path / "a").exists()
    r = _run(*args, "--out", tmp_path / "b", "--steps", 1, "--manning", 0.05)
    assert r.exit_code == 0, r.output
    assert "has no manning input channel" in r.output
