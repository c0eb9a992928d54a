"""`downscale train` end to end on a tiny pairs store (4 uniform-rain events on a bowl,
one epoch): the model records its coarse DEM rule and the depth source fitted on the val
maps, and ``refit_depth_source`` repeats the fit on the saved model."""

import json

import numpy as np
import pytest
import torch

from floodcast.data.build import BuildConfig, SolverSettings, build_dataset
from floodcast.data.downscale import build_pairs
from floodcast.data.events import EventConfig
from floodcast.data.samples import SampleSpec
from floodcast.io.dem import Dem
from floodcast.models.checkpoint import load_model
from floodcast.models.downscale_head import DEPTH_SOURCES
from floodcast.predict.downscale import load_downscaler
from floodcast.training.downscale import (
    DownscaleTrainConfig,
    refit_depth_source,
    train_downscaler,
)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    from types import SimpleNamespace

    n, cell = 16, 10.0
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    z = 100 + 0.02 * cell * ((yy - n / 2) ** 2 + (xx - n / 3) ** 2) ** 0.5
    times = np.datetime64("2020-06-01T12:00:00") + np.arange(12) * np.timedelta64(300, "s")
    radar = SimpleNamespace(
        rain_mmh=np.full((12, 20, 20), 36.0, np.float32),
        times=times,
        cell_size=500.0,
        interval_s=300.0,
        source="uniform",
    )
    out = tmp_path_factory.mktemp("dstrain") / "p.zarr"
    cfg = BuildConfig(
        events=EventConfig(count=4, frames=4, min_rain_mmh=1.0, seed=0),
        spec=SampleSpec(frames=2, patch=16),
        solver=SolverSettings(max_step=10.0, boundary="closed"),
    )
    dem = Dem(elevation=z.astype(np.float32), cell_size=cell, source="bowl")
    build_dataset(out, {"bowl": dem}, {"u": radar}, cfg, scheduler="sync")
    build_pairs(out, (4,), dry_tail=0)
    return out


def train_tiny(pairs, tmp_path) -> dict:
    """One epoch of a width-4 U-Net on the fixture's pairs (x4)."""
    torch.set_num_threads(1)
    cfg = DownscaleTrainConfig(
        data=str(pairs), out=str(tmp_path / "m"), factor=4, width=4, encoder_depth=2,
        epochs=1, max_minutes=None, batch_size=4,
    )  # fmt: skip
    return train_downscaler(cfg)


def test_train_records_the_rule_and_the_fitted_depth_source(pairs, tmp_path):
    res = train_tiny(pairs, tmp_path)
    _, extra = load_model(res["model_path"])
    info = extra["downscale"]
    assert info["coarse_dem"] == "min" and info["depth_source"] in DEPTH_SOURCES
    fit = extra["depth_fit"]
    key = {
        s: (-fit[f"val_csi@0.3_{s}"], fit[f"val_rmse_wet_{s}_m"], s != "head")
        for s in DEPTH_SOURCES
    }
    assert info["depth_source"] == min(DEPTH_SOURCES, key=key.__getitem__)
    saved = json.loads((tmp_path / "m" / "train_result.json").read_text())
    assert saved["depth_source"] == info["depth_source"]
    _, loaded = load_downscaler(res["model_path"], 4, 10.0)
    assert loaded["depth_source"] == info["depth_source"]
    again = refit_depth_source(res["model_path"], pairs)  # same model, same val maps
    assert again == pytest.approx(fit)


def test_refit_depth_cli_rewrites_the_model_and_refuses_a_non_downscaler(pairs, tmp_path):
    from typer.testing import CliRunner

    from floodcast.cli import app
    from floodcast.models.checkpoint import save_model

    path = train_tiny(pairs, tmp_path)["model_path"]
    model, extra = load_model(path)
    old = {
        **extra,
        "downscale": {k: v for k, v in extra["downscale"].items() if k != "depth_source"},
    }
    save_model(model, path, {k: v for k, v in old.items() if k != "depth_fit"})  # an older model
    r = CliRunner().invoke(app, ["downscale", "refit-depth", path, str(pairs)])
    assert r.exit_code == 0, r.output
    _, now = load_model(path)
    assert now["downscale"]["depth_source"] == extra["downscale"]["depth_source"]
    assert f"depth source {extra['downscale']['depth_source']}" in r.output
    plain = tmp_path / "plain.pt"
    save_model(model, plain, {})
    r = CliRunner().invoke(app, ["downscale", "refit-depth", str(plain), str(pairs)])
    assert r.exit_code != 0 and "not a downscaling model" in r.output
    assert load_model(plain)[1] == {}  # nothing rewritten


def test_unknown_lr_schedule_is_refused_before_anything_is_written(pairs, tmp_path):
    from floodcast.errors import InputError

    cfg = DownscaleTrainConfig(
        data=str(pairs), out=str(tmp_path / "m"), factor=4, epochs=1, lr_schedule="steep"
    )
    with pytest.raises(InputError, match="--lr-schedule 'steep'"):
        train_downscaler(cfg)
    assert not (tmp_path / "m").exists()
