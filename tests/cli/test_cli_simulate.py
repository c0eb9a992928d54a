"""`floodcast simulate` / `floodcast demo` through the Typer app: outputs, exit codes, help."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from floodcast.cli import app

runner = CliRunner()


@pytest.fixture
def dem_asc(tmp_path):
    z = np.add.outer(np.arange(20.0)[::-1] * 0.05, np.zeros(30)) + 100  # 1 % slope to S
    lines = [
        "ncols 30",
        "nrows 20",
        "xllcorner 0",
        "yllcorner 0",
        "cellsize 5",
        "NODATA_value -9999",
    ] + [" ".join(f"{v:g}" for v in row) for row in z]
    p = tmp_path / "dem.asc"
    p.write_text("\n".join(lines) + "\n")
    return p


def sim(*args):
    return runner.invoke(app, ["simulate", *map(str, args)])


def test_help_mentions_units():
    res = runner.invoke(app, ["simulate", "--help"])
    assert res.exit_code == 0
    for text in ("mm/h", "(s)", "(m)", "--pad-zero", "--inflow", "--boundary"):
        assert text in res.output
    assert runner.invoke(app, ["demo", "--help"]).exit_code == 0


def test_simulate_writes_all_outputs(tmp_path, dem_asc):
    out = tmp_path / "run"
    res = sim(
        "--dem",
        dem_asc,
        "--rain",
        "50mm/h:600s",
        "--duration",
        900,
        "--out",
        out,
        "--boundary",
        "S=free",
        "--save-every",
        300,
        "--threshold",
        0.001,
    )
    assert res.exit_code == 0, res.output
    for name in ("depth.nc", "max_depth.tif", "mass_balance.csv", "max_depth.png", "run.json"):
        assert (out / name).is_file()
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["boundary"] == "N=closed,S=free,E=closed,W=closed"
    assert run["stats"]["saves"] == 3 and run["stats"]["wet_cells_max"] > 0
    assert "outputs in" in res.output


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--dem", "missing.tif"], "DEM file not found: missing.tif"),
        (["--manning", "0"], "--manning must be > 0"),
        (["--threshold", "12"], "--threshold must be between 0 and 10"),
        (["--boundary", "N=wet"], "bad boundary token 'N=wet'"),
        (["--rain", "50mm/h:600s", "--duration", "-5"], "--duration"),
    ],
)
def test_user_errors_exit_1_without_traceback(tmp_path, dem_asc, extra, message):
    args = dict(
        zip(
            ["--dem", "--rain", "--duration", "--out"],
            [dem_asc, "50mm/h:600s", "600", tmp_path / "o"],
            strict=False,
        )
    )
    for k, v in zip(extra[::2], extra[1::2], strict=False):
        args[k] = v
    res = sim(*[x for kv in args.items() for x in kv])
    assert res.exit_code == 1
    assert message in " ".join(res.output.split())
    assert "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


def test_rain_coverage_and_pad_zero(tmp_path, dem_asc):
    np.savez(
        tmp_path / "r.npz",
        rain_mmh=np.full((2, 20, 30), 20.0, np.float32),
        times_s=np.array([0.0, 300.0]),
    )
    base = [
        "--dem",
        dem_asc,
        "--rain",
        tmp_path / "r.npz",
        "--duration",
        900,
        "--out",
        tmp_path / "o",
        "--save-every",
        300,
    ]
    res = sim(*base)
    assert res.exit_code == 1 and "--pad-zero" in res.output and not (tmp_path / "o").exists()
    res = sim(*base, "--pad-zero")
    assert res.exit_code == 0, res.output


def test_negative_and_nan_rain(tmp_path, dem_asc):
    r = np.full((2, 20, 30), 5.0, np.float32)
    r[0, 0, :4] = np.nan
    np.savez(tmp_path / "nan.npz", rain_mmh=r, times_s=np.array([0.0, 300.0]))
    res = sim(
        "--dem", dem_asc, "--rain", tmp_path / "nan.npz", "--duration", 600, "--out", tmp_path / "o"
    )
    assert res.exit_code == 0 and "4 NaN rain values" in " ".join(res.output.split())
    r[0, 0, :4] = -1
    np.savez(tmp_path / "neg.npz", rain_mmh=r, times_s=np.array([0.0, 300.0]))
    res = sim(
        "--dem",
        dem_asc,
        "--rain",
        tmp_path / "neg.npz",
        "--duration",
        600,
        "--out",
        tmp_path / "o2",
    )
    assert res.exit_code == 1 and "4 negative rain values" in " ".join(res.output.split())


def test_demo_short(tmp_path, monkeypatch):
    import floodcast.demo.run as D
    import floodcast.io.dem as dem_mod

    full = dem_mod.sample_dem()
    crop = dem_mod.Dem(full.elevation[100:160, 100:180], full.cell_size, source="crop")
    monkeypatch.setattr(dem_mod, "sample_dem", lambda: crop)  # keep the test small
    monkeypatch.setattr(D, "DEMO_DURATION_S", 900.0)
    monkeypatch.setattr(D, "STEPS", D.STEPS[:1])  # the later stages have their own tests
    res = runner.invoke(app, ["demo", "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "d" / "simulate" / "depth.nc").is_file()
    assert "outputs" in res.output


@pytest.mark.shared_data
def test_real_landlab_dem(tmp_path, shared_data):
    res = sim(
        "--dem",
        shared_data / "dem/landlab/hugo_site.asc",
        "--rain",
        "30mm/h:600s",
        "--duration",
        600,
        "--out",
        tmp_path / "o",
        "--save-every",
        600,
    )
    assert res.exit_code == 0, res.output
    assert "2028 nodata cells" in " ".join(res.output.split())


def test_simulation_failure_exit_1_nothing_written(tmp_path, dem_asc, monkeypatch):
    from floodcast.physics.solver import SolverConfig
    from floodcast.simulation import job as J

    monkeypatch.setattr(J, "_solver_config", lambda r: SolverConfig(max_mass_error=1e-15))
    res = sim("--dem", dem_asc, "--rain", "50mm/h:600s", "--duration", 600, "--out", tmp_path / "o")
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "simulation failed" in res.output and "nothing was written" in res.output
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_full_demo(tmp_path):
    """The whole `make demo` pipeline: simulate, dataset, train, evaluate (a few minutes)."""
    res = runner.invoke(app, ["demo", "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    for f in (
        "simulate/depth.nc",
        "dataset.zarr/zarr.json",
        "train/model.pt",
        "evaluate/report.md",
    ):
        assert (tmp_path / "d" / f).exists(), f


def test_simulate_with_manning_and_loss_rasters(tmp_path, dem_asc):
    head = "ncols 30\nnrows 20\nxllcorner 0\nyllcorner 0\ncellsize 5\nNODATA_value -9999\n"
    n = np.where(np.arange(30) < 15, 0.015, 0.1) * np.ones((20, 1))
    (tmp_path / "n.asc").write_text(head + "\n".join(" ".join(f"{v:g}" for v in r) for r in n))
    (tmp_path / "inf.asc").write_text(head + "\n".join(" ".join(["3"] * 30) for _ in range(20)))
    out = tmp_path / "run"
    res = sim(
        "--dem",
        dem_asc,
        "--rain",
        "80mm/h:600s",
        "--duration",
        600,
        "--out",
        out,
        "--boundary",
        "S=free",
        "--save-every",
        300,
        "--manning",
        tmp_path / "n.asc",
        "--infiltration",
        tmp_path / "inf.asc",
        "--drainage",
        12,
    )
    assert res.exit_code == 0, res.output
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["solver"]["manning"]["min"] == pytest.approx(0.015)
    assert run["settings"]["solver"]["manning"]["distinct"] == 2
    mass = run["stats"]["mass"]
    assert mass["infiltration_m3"] > 0 and mass["drainage_m3"] > 0
    assert mass["relative_error"] < 1e-5
    header = (out / "mass_balance.csv").read_text().splitlines()[0]
    assert "drainage_m3" in header and "infiltration_m3" in header
    bad = sim(
        "--dem",
        dem_asc,
        "--rain",
        "80mm/h:600s",
        "--duration",
        600,
        "--out",
        tmp_path / "bad",
        "--manning",
        tmp_path / "missing.tif",
    )
    assert bad.exit_code == 1 and "missing.tif" in bad.output
    assert not (tmp_path / "bad").exists()


def test_quiet_draws_no_bar_even_on_a_terminal(tmp_path, dem_asc, monkeypatch):
    import io

    from rich.console import Console

    from floodcast import progress

    def run(*extra) -> str:
        buf = io.StringIO()  # stands in for a terminal's stderr
        monkeypatch.setattr(progress, "console", Console(file=buf, force_terminal=True))
        args = ("--dem", dem_asc, "--rain", "50mm/h:600s", "--duration", 300)
        res = sim(*args, "--out", tmp_path / f"run{len(extra)}", *extra)
        assert res.exit_code == 0, res.output
        return buf.getvalue()

    drawn = run()
    assert "simulating" in drawn and "300 / 300 s" in drawn
    assert run("--quiet") == ""
