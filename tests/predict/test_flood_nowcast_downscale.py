"""Downscaled flood nowcast: members solved coarse, mapped fine, probabilities on fine maps.

The model is a registry model whose wet head starts silent on the volume-fill prior, so
the untrained model is exactly "volume fill > 0.1 m" (``models.registry`` priors): the
fine probabilities can be pinned by hand.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio

from floodcast.io.dem import Dem
from floodcast.predict.flood_nowcast import FloodNowcast
from floodcast.predict.flood_nowcast_downscale import downscale_members, load_nowcast_downscaler

from .test_downscale import _model  # the same tiny downscaler (one home)
from .test_flood_nowcast import _inputs, _run


def test_members_are_mapped_fine_by_hand(tmp_path):
    # 8 x 8 cells of 2 m, flat at 10 m but one cell 1 m deeper in the NW and SE blocks
    z = np.full((8, 8), 10.0, np.float32)
    z[1, 2] = z[5, 6] = 9.0
    dem = Dem(elevation=z, cell_size=2.0, source="pits")
    ds = load_nowcast_downscaler(_model(tmp_path, 4, 2.0), 0, dem)
    assert ds.factor == 4 and ds.grid.zc.shape == (2, 2)
    # member 0: 5 cm of water on every coarse cell at both leads; member 1 dry, then wet
    # at lead 2; volume 0.05 m x 16 cells fills a pit to 0.8 m, a flat block to 5 cm (dry)
    md = np.zeros((2, 2, 2, 2), np.float32)
    md[0] = 0.05
    md[1, 1] = 0.05
    coarse = FloodNowcast(
        lead_s=np.array([300.0, 600.0]),
        thresholds=(0.1,),
        probability=np.zeros((2, 1, 2, 2), np.float32),
        probability_within=np.zeros((2, 1, 2, 2), np.float32),
        mean_depth=np.zeros((2, 2, 2), np.float32),
        median_depth=np.zeros((2, 2, 2), np.float32),
        p90_depth=np.zeros((2, 2, 2), np.float32),
        rain_mean_mmh=np.zeros(2, np.float32),
        members=2,
        depth0=np.zeros((2, 2), np.float32),
        member_depths=md,
    )
    fc = np.full((2, 2, 8, 8), 12.0, np.float32)
    fine = downscale_members(ds, coarse, fc, np.zeros((1, 8, 8)), 300.0)
    assert fine.probability.shape == (2, 1, 8, 8) and fine.depth0.shape == (8, 8)
    want = np.zeros((2, 8, 8), np.float32)
    want[0, 1, 2] = want[0, 5, 6] = 0.5  # one of two members wet at the pits
    want[1, 1, 2] = want[1, 5, 6] = 1.0
    np.testing.assert_array_equal(fine.probability[:, 0], want)
    np.testing.assert_array_equal(fine.probability_within[:, 0], want)
    assert fine.rain_mean_mmh.tolist() == [12.0, 12.0]
    assert fine.median_depth[1, 1, 2] > 0.1 and fine.median_depth[1, 0, 0] <= 0.1


def test_nowcast_cli_downscaled_is_flagged_emulated(tmp_path):
    import xarray as xr

    dem, rain = _inputs(tmp_path)  # 40 x 50 cells of 50 m
    model = _model(tmp_path, 2, 50.0)
    out = tmp_path / "nc"
    args = ("--dem", dem, "--rain", rain, "--ensemble", 0, "--lead", 10)
    r = _run(*args, "--out", out, "--spin-up", 0, "--downscale", model, "--coarsen", 2)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output[r.output.index("{") :])["emulated"] is True
    s = json.loads((out / "nowcast.json").read_text())
    assert s["emulated"] is True and s["downscale"]["factor"] == 2
    assert s["downscale"]["coarse_cell_size_m"] == 100.0
    with xr.open_dataset(out / "nowcast.nc") as nc:
        assert nc.attrs["emulated"] == 1 and json.loads(nc.attrs["downscale"])["factor"] == 2
        assert "emulated" in nc.attrs["source"]
        assert nc["probability"].shape == (2, 2, 40, 50)  # on the DEM grid, not the coarse
    with rasterio.open(out / "lead_010min.tif") as t:
        assert (t.height, t.width) == (40, 50)
    # the state is the coarse run's: a downscaled hot start takes it, a fine one refuses it
    out2 = tmp_path / "nc2"
    r = _run(*args, "--out", out2, "--state", out / "state.npz", "--downscale", model)
    assert r.exit_code == 0, r.output
    r = _run(*args, "--out", tmp_path / "nc3", "--state", out / "state.npz")
    assert r.exit_code == 1 and not (tmp_path / "nc3").exists()


@pytest.mark.parametrize(
    "extra, factor, cell, match",
    [
        (["--coarsen", "2"], None, None, "--coarsen needs --downscale"),
        (["--coarsen", "4"], 2, 50.0, "trained for --coarsen 2, not 4"),
        ([], 3, 50.0, "not divisible by --coarsen 3"),
        ([], 2, 10.0, "trained on 10 m cells"),
        (["--engine", "model", "--model", "m.pt"], 2, 50.0, "--engine model has none"),
        (["--downscale-precision", "bfloat16"], None, None, "needs --downscale MODEL.pt"),
        (["--downscale-precision", "fp8"], 2, 50.0, "choose one of float32, bfloat16"),
    ],
)
def test_bad_downscaled_nowcast_writes_nothing(tmp_path, extra, factor, cell, match):
    dem, rain = _inputs(tmp_path)
    ds = ["--downscale", _model(tmp_path, factor, cell)] if factor else []
    out = tmp_path / "nc"
    r = _run("--dem", dem, "--rain", rain, "--out", out, "--spin-up", 0, *ds, *extra)
    assert r.exit_code == 1 and match in r.output, r.output
    assert not out.exists()


def test_downscaled_nowcast_refuses_a_manning_raster(tmp_path):
    """The coarse solve takes one n: a raster of n with --downscale is refused, not ignored."""
    dem, rain = _inputs(tmp_path)
    n = tmp_path / "n.tif"
    with rasterio.open(dem) as src:
        profile = src.profile
    with rasterio.open(n, "w", **profile) as dst:
        dst.write(np.full((40, 50), 0.05, np.float32), 1)
    out = tmp_path / "nc"
    args = ("--dem", dem, "--rain", rain, "--out", out, "--spin-up", 0)
    r = _run(*args, "--downscale", _model(tmp_path, 2, 50.0), "--manning", n)
    assert r.exit_code == 1 and "uniform --manning" in r.output, r.output
    assert not out.exists()


def test_hot_start_counts_the_newer_frames_it_simulates(tmp_path):
    """A hot start simulates the observed frames newer than the state; their number goes
    to the downscaler as the rain so far (it was taken as none on every hot start)."""
    from floodcast.predict.flood_nowcast import solver_setup, spin_up
    from floodcast.predict.flood_nowcast_job import _start_state
    from floodcast.predict.flood_nowcast_request import NowcastRequest
    from floodcast.simulation.hotstart import fingerprint, save_state

    from .test_flood_nowcast import _valley

    z = _valley(8, 10)
    cfg, bnd = solver_setup()
    fp = fingerprint(z, 30.0, cfg, bnd)
    obs = np.full((5, 8, 10), 20.0, np.float32)
    times = np.datetime64("2024-01-01T00:00") + np.arange(5) * np.timedelta64(5, "m")
    st = spin_up(z, 30.0, obs[:3], 300.0, cfg, bnd)  # the state of 00:10
    save_state(tmp_path / "s.npz", st, fp, {"analysis_time": str(times[2])})
    req = NowcastRequest(dem="-", out=tmp_path / "o", rain="r", state=str(tmp_path / "s.npz"))

    def spin(frames, st):
        return spin_up(z, 30.0, frames, 300.0, cfg, bnd, st)

    state, n = _start_state(req, spin, obs, 300.0, times, fp, lambda s: None)
    assert n == 2  # 00:15 and 00:20
    want = spin_up(z, 30.0, obs, 300.0, cfg, bnd)
    assert state["t"] == want["t"] == 1500.0
    np.testing.assert_allclose(state["h"], want["h"], atol=1e-6)
    req = NowcastRequest(dem="-", out=tmp_path / "o", rain="r", spin_up_h=0.25)
    assert _start_state(req, spin, obs, 300.0, None, fp, lambda s: None)[1] == 3


def test_downscaled_members_on_dask_equal_the_batched_ones(tmp_path):
    """--downscale keeps every member for the model: through --scheduler ADDRESS too."""
    import xarray as xr

    distributed = pytest.importorskip("dask.distributed")
    dem, rain = _inputs(tmp_path)
    model = _model(tmp_path, 2, 50.0)
    args = ("--dem", dem, "--rain", rain, "--ensemble", 2, "--lead", 10, "--spin-up", 0)
    args += ("--downscale", model)
    r = _run(*args, "--out", tmp_path / "a", "--scheduler", "NONE")  # any case of none
    assert r.exit_code == 0, r.output
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        r = _run(*args, "--out", tmp_path / "b", "--scheduler", cluster.scheduler_address)
    assert r.exit_code == 0, r.output
    with (
        xr.open_dataset(tmp_path / "a/nowcast.nc") as a,
        xr.open_dataset(tmp_path / "b/nowcast.nc") as b,
    ):
        assert a.attrs["emulated"] == b.attrs["emulated"] == 1
        for v in ("probability", "probability_within", "mean_depth", "p90_depth"):
            np.testing.assert_array_equal(a[v].values, b[v].values)


def test_subgrid_members_and_volume_fill_agree(tmp_path):
    """A model trained on sub-grid pairs runs its members on the sub-grid solver; untrained,
    it is exactly "volume fill > 0.1 m" (the module docstring), so its probabilities equal
    `--downscale volume-fill`'s on the same members. Its state hot-starts a sub-grid run
    and is refused by a plain one (and the other way round)."""
    import xarray as xr

    dem, rain = _inputs(tmp_path)  # 40 x 50 cells of 50 m
    args = ("--dem", dem, "--rain", rain, "--ensemble", 0, "--lead", 10)
    probs = {}
    for name, ds in (
        ("model", _model(tmp_path, 2, 50.0, coarse_dem="subgrid")),
        ("vf", "volume-fill"),
    ):
        out = tmp_path / name
        r = _run(*args, "--out", out, "--spin-up", 0, "--downscale", ds, "--coarsen", 2)
        assert r.exit_code == 0, r.output
        s = json.loads((out / "nowcast.json").read_text())
        assert s["downscale"]["coarse_dem"] == "subgrid"
        with xr.open_dataset(out / "nowcast.nc") as nc:
            probs[name] = nc["probability"].values
    assert s["downscale"]["model_name"] == "volume_fill"
    # at 0.1 m (the wet decision; the untrained depth head sets the deeper thresholds)
    np.testing.assert_array_equal(probs["model"][:, 0], probs["vf"][:, 0])
    assert probs["vf"][:, 0].max() == 1.0  # not trivially dry
    state = tmp_path / "vf" / "state.npz"
    r = _run(*args, "--out", tmp_path / "hot", "--state", state, "--downscale", "volume-fill",
             "--coarsen", 2)  # fmt: skip
    assert r.exit_code == 0, r.output
    plain = _model(tmp_path, 2, 50.0, coarse_dem="min")
    r = _run(*args, "--out", tmp_path / "bad", "--state", state, "--downscale", plain)
    assert r.exit_code == 1 and "fingerprint" in r.output and not (tmp_path / "bad").exists()
    r = _run(*args, "--out", tmp_path / "bad", "--spin-up", 0, "--downscale", "volume-fill")
    assert r.exit_code == 1 and "needs --coarsen F" in " ".join(r.output.split())
    # the state is of the fine DEM: an edit that keeps every block's minimum (the coarse
    # DEM) still refuses it
    import rasterio

    with rasterio.open(dem) as src:
        z, profile = src.read(1), src.profile
    block = z[:2, :2]
    i, j = np.unravel_index(np.argmax(block), block.shape)
    z[i, j] += 1.0
    assert (z.reshape(20, 2, 25, 2).min((1, 3)) == block_min(dem)).all()
    edited = tmp_path / "edited.tif"
    with rasterio.open(edited, "w", **profile) as dst:
        dst.write(z, 1)
    r = _run("--dem", edited, *args[2:], "--out", tmp_path / "bad", "--state", state,
             "--downscale", "volume-fill", "--coarsen", 2)  # fmt: skip
    assert r.exit_code == 1 and "fingerprint" in r.output and not (tmp_path / "bad").exists()


def block_min(path) -> np.ndarray:
    import rasterio

    with rasterio.open(path) as src:
        return src.read(1).reshape(20, 2, 25, 2).min((1, 3))
