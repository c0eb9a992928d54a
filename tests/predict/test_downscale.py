"""`floodcast simulate --downscale`: the emulated outputs and every refused input."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from floodcast.cli import app
from floodcast.models.checkpoint import save_model
from floodcast.models.registry import build_model
from floodcast.simulation.downscale import CHANNELS
from floodcast.training.downscale import DownscaleTrainConfig, model_config

runner = CliRunner()


def _model(tmp_path, factor=4, cell=10.0, downscale=True, coarse_dem=None):
    cfg = DownscaleTrainConfig(data="-", out="-", factor=factor, width=4, encoder_depth=2)
    model = build_model(model_config(cfg), seed=0)
    info = {
        "factor": factor,
        "fine_cell_size_m": cell,
        "coarse_cell_size_m": cell * factor,
        "channels": list(CHANNELS),
        "threshold_m": 0.1,
        "train_dems": ["synthetic"],
    }
    if coarse_dem is not None:  # models from before the rule have no key: block mean
        info["coarse_dem"] = coarse_dem
    path = tmp_path / f"m{factor}_{cell:g}{coarse_dem or ''}.pt"
    return save_model(model.eval(), path, {"downscale": info} if downscale else {})


def _dem(tmp_path, n=32, cell=10.0):
    yy, xx = np.mgrid[0:n, 0:n]
    z = 10 + 0.01 * cell * yy + 0.03 * cell * np.abs(xx - n / 2)
    path = tmp_path / f"dem{n}_{cell:g}.npz"
    np.savez(path, elevation=z.astype(np.float32), cell_size=cell)
    return path


def _simulate(dem, out, *extra):
    return runner.invoke(
        app,
        [
            "simulate",
            "--dem",
            str(dem),
            "--rain",
            "60mm/h:900s",
            "--duration",
            "900",
            "--save-every",
            "300",
            "--out",
            str(out),
            *extra,
        ],
    )


def test_downscaled_run_is_flagged_emulated(tmp_path):
    import xarray as xr

    out = tmp_path / "run"
    r = _simulate(_dem(tmp_path), out, "--downscale", str(_model(tmp_path)), "--coarsen", "4")
    assert r.exit_code == 0, r.output
    run = json.loads((out / "run.json").read_text())
    assert run["emulated"] is True and run["downscale"]["factor"] == 4
    assert run["downscale"]["coarse_cell_size_m"] == 40.0
    assert sorted(p.name for p in out.iterdir()) == sorted(run["outputs"])
    with xr.open_dataset(out / "depth.nc") as ds:
        assert ds.attrs["emulated"] == 1 and ds["depth"].shape == (3, 32, 32)
        assert json.loads(ds.attrs["downscale"])["factor"] == 4
        assert float(ds["depth"].min()) >= 0
    assert run["downscale"]["precision"] == "float32"


def test_bfloat16_run_records_its_precision_and_maps_nearly_the_same(tmp_path):
    """``--downscale-precision bfloat16``: recorded in run.json; the maps differ from the
    float32 run's in few cells (only at the wet cut); a bad name or no model is refused."""
    import xarray as xr

    dem, model = _dem(tmp_path), str(_model(tmp_path))
    outs = {}
    for prec in ("float32", "bfloat16"):
        out = tmp_path / prec
        r = _simulate(
            dem, out, "--downscale", model, "--coarsen", "4", "--downscale-precision", prec
        )
        assert r.exit_code == 0, r.output
        assert json.loads((out / "run.json").read_text())["downscale"]["precision"] == prec
        with xr.open_dataset(out / "depth.nc") as ds:
            outs[prec] = ds["depth"].values > 0.1
    assert (outs["float32"] != outs["bfloat16"]).mean() < 0.01
    for extra, msg in (
        (["--downscale", model, "--coarsen", "4", "--downscale-precision", "fp8"], "fp8"),
        (["--downscale-precision", "bfloat16"], "needs --downscale MODEL.pt"),
    ):
        r = _simulate(dem, tmp_path / "bad", *extra)
        assert r.exit_code == 1 and msg in " ".join(r.output.split()), r.output
        assert not (tmp_path / "bad").exists()


@pytest.mark.parametrize(
    "args, dem_kw, message",
    [
        (["--coarsen", "8"], {}, "trained for --coarsen 4, not 8"),
        ([], {"cell": 5.0}, "trained on 10 m cells; this DEM has 5 m"),
        ([], {"n": 30}, "30x30 is not divisible by --coarsen 4"),
    ],
)
def test_bad_downscale_input_writes_nothing(tmp_path, args, dem_kw, message):
    out = tmp_path / "run"
    r = _simulate(_dem(tmp_path, **dem_kw), out, "--downscale", str(_model(tmp_path)), *args)
    assert r.exit_code == 1 and message in " ".join(r.output.split()), r.output
    assert not out.exists()


def test_not_a_downscaler_and_coarsen_alone(tmp_path):
    dem, out = _dem(tmp_path), tmp_path / "run"
    r = _simulate(dem, out, "--downscale", str(_model(tmp_path, downscale=False)))
    assert r.exit_code == 1 and "not a downscaling model" in r.output
    r = _simulate(dem, out, "--coarsen", "4")
    assert r.exit_code == 1 and "--coarsen needs --downscale" in r.output
    assert not out.exists()


def test_the_model_coarse_dem_rule_is_the_one_solved_on(tmp_path):
    """The same weights on the block-min rule: recorded in run.json, and the coarse run
    (so the map) differs from the block-mean one; an unknown rule is refused."""
    import xarray as xr

    dem, maps = _dem(tmp_path), {}
    for rule in ("mean", "min"):
        out = tmp_path / f"run_{rule}"
        r = _simulate(dem, out, "--downscale", str(_model(tmp_path, coarse_dem=rule)))
        assert r.exit_code == 0, r.output
        assert json.loads((out / "run.json").read_text())["downscale"]["coarse_dem"] == rule
        with xr.open_dataset(out / "depth.nc") as ds:
            maps[rule] = ds["depth"].values
    assert not np.array_equal(maps["mean"], maps["min"])
    out = tmp_path / "run_bad"
    r = _simulate(dem, out, "--downscale", str(_model(tmp_path, coarse_dem="p10")))
    assert r.exit_code == 1 and "coarse DEM rule 'p10': choose one of" in " ".join(r.output.split())
    assert not out.exists()


def test_evaluate_refuses_a_model_of_the_other_rule(tmp_path):
    from floodcast.errors import InputError
    from floodcast.predict.downscale import model_method
    from floodcast.simulation.downscale import FineGrid

    method = model_method(_model(tmp_path), 4)  # no rule recorded: block mean
    z = np.load(_dem(tmp_path))["elevation"]
    pair = {"cell_size": 10.0, "coarse_depth": np.zeros((1, 8, 8), np.float32), "rain_mm": [0.0]}
    pair["rain_recent_mmh"] = [0.0]
    assert method(pair, FineGrid(z, 10.0, 4, coarse_dem="mean")).shape == (1, 32, 32)
    with pytest.raises(InputError, match="block mean DEM; these pairs are on the block min"):
        method(pair, FineGrid(z, 10.0, 4, coarse_dem="min"))


def test_a_subgrid_model_runs_on_the_subgrid_solver(tmp_path):
    """A model of sub-grid pairs is driven by the sub-grid solver (float64, strict limiter:
    mass to round-off; rain 60 mm/h for 900 s on 320 m x 320 m = 1536 m3, by hand); what
    the sub-grid scheme does not model is refused before anything is written."""
    dem, out = _dem(tmp_path), tmp_path / "run"
    model = str(_model(tmp_path, coarse_dem="subgrid"))
    r = _simulate(dem, out, "--downscale", model)
    assert r.exit_code == 0, r.output
    run = json.loads((out / "run.json").read_text())
    assert run["downscale"]["coarse_dem"] == "subgrid"
    mass = run["stats"]["mass"]
    assert mass["rain_in_m3"] == pytest.approx(1536.0, rel=1e-9)
    assert mass["relative_error"] < 1e-12
    bad = tmp_path / "bad"
    r = _simulate(dem, bad, "--downscale", model, "--infiltration", "5")
    assert r.exit_code == 1 and "does not model infiltration" in " ".join(r.output.split())
    assert not bad.exists()


def test_volume_fill_needs_no_model(tmp_path):
    """`--downscale volume-fill`: the sub-grid run, each block's volume poured into its
    lowest fine cells; the fine map holds the coarse run's stored water exactly (by
    construction), and --coarsen is required."""
    import xarray as xr

    dem, out = _dem(tmp_path), tmp_path / "run"
    r = _simulate(dem, out, "--downscale", "volume-fill", "--coarsen", "4")
    assert r.exit_code == 0, r.output
    run = json.loads((out / "run.json").read_text())
    assert run["downscale"]["model_name"] == "volume_fill"
    assert run["downscale"]["coarse_dem"] == "subgrid"
    with xr.open_dataset(out / "depth.nc") as ds:
        stored = float(ds["depth"][-1].sum()) * 10.0**2
    assert stored == pytest.approx(run["stats"]["mass"]["stored_m3"], rel=1e-5)
    r = _simulate(dem, tmp_path / "bad", "--downscale", "volume-fill")
    assert r.exit_code == 1 and "needs --coarsen F" in " ".join(r.output.split())
    assert not (tmp_path / "bad").exists()


def test_map_fine_is_the_same_at_any_batch(tmp_path):
    """Maps batched by cells (``defaults.DOWNSCALE_BATCH_CELLS``) into one reused input
    buffer: the same fine maps as one pass per map, and channels into ``out`` are a new
    array's."""
    import torch

    from floodcast.models.checkpoint import load_model
    from floodcast.predict.downscale import map_fine
    from floodcast.simulation.downscale import FineGrid

    torch.set_num_threads(1)
    model = load_model(_model(tmp_path))[0].eval()
    z = np.load(_dem(tmp_path))["elevation"]
    grid = FineGrid(z, 10.0, 4)
    rng = np.random.default_rng(0)
    hc = np.abs(rng.normal(0.0, 0.3, (5, 8, 8)))
    rain, recent = np.full((5, 32, 32), 12.0), np.full((5, 32, 32), 30.0)
    maps = [map_fine(model, grid, hc, rain, recent, 0.1, batch=b) for b in (None, 1, 3)]
    assert maps[0].shape == (5, 32, 32) and maps[0].max() > 0
    for m in maps[1:]:
        np.testing.assert_allclose(m, maps[0], atol=1e-5)
    buf = np.full((len(CHANNELS), 32, 32), np.nan, np.float32)
    grid.channels(hc[2], 12.0, 30.0, out=buf)
    np.testing.assert_array_equal(buf, grid.channels(hc[2], 12.0, 30.0))


def test_map_fine_wet_margin_path_is_the_softmax_path(tmp_path):
    """With the depth from volume fill, map_fine thresholds ``Model.wet_margin`` (one head
    row, no depth head) at log(cut / (1 - cut)): the same maps as the softmax of the whole
    forward pass, at any cut."""
    import torch

    from floodcast.models.checkpoint import load_model
    from floodcast.models.downscale_head import combine, fine_depth
    from floodcast.predict.downscale import map_fine
    from floodcast.simulation.downscale import FineGrid

    torch.set_num_threads(1)
    model = load_model(_model(tmp_path))[0].eval()
    torch.manual_seed(0)  # a head that is not the untrained zero: the margin is not the prior
    torch.nn.init.normal_(model.segmentation_head.weight, std=0.5)
    grid = FineGrid(np.load(_dem(tmp_path))["elevation"], 10.0, 4)
    hc = np.abs(np.random.default_rng(1).normal(0.0, 0.3, (3, 8, 8)))
    rain, recent = np.full((3, 32, 32), 12.0), np.full((3, 32, 32), 30.0)
    x = np.stack([grid.channels(h, 12.0, 30.0) for h in hc])
    with torch.inference_mode():
        o = model(torch.from_numpy(x))
        prob = torch.softmax(o["logits"], 1)[:, 1].numpy()
        margin = model.wet_margin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(margin, (o["logits"][:, 1] - o["logits"][:, 0]).numpy(), atol=1e-5)
    for cut in (0.0, 0.3, 0.5, 0.8, 1.0):
        got = map_fine(model, grid, hc, rain, recent, 0.1, cut, depth_source="volume_fill")
        want = combine(prob > cut, fine_depth(o, x, "volume_fill"), 0.1)
        want = np.where(grid.valid, want, 0.0)
        assert (got != want).mean() < 1e-3, cut  # only cells at the cut to round-off
