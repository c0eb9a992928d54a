import numpy as np
import pytest
import torch

from floodcast.data import store
from floodcast.data.build import build_dataset
from floodcast.data.channels import PREV_DEPTH_SCALE_M
from floodcast.data.torchdata import FloodDataset, assert_bchw, collate_checked
from floodcast.errors import InputError


def test_store_content(tiny_store):
    path, summary = tiny_store
    assert summary["events"] == 6
    assert set(summary["splits"].values()) <= {"train", "val", "test"}
    assert len(store.dem_ids(path)) == 1  # the DEM is stored once
    ev = store.finished_events(path)
    assert len(ev) == 6
    rain, depth, attrs = store.read_event(path, "ev00000")
    assert rain.shape == depth.shape == (8, 48, 48)
    assert np.all(depth >= 0) and np.isfinite(depth).all()
    assert attrs["mass_relative_error"] < 1e-3
    # rain fell, so water is stored somewhere by the end
    assert depth[-1].max() > 0.01


def test_dataset_shapes_and_split_by_event(tiny_store):
    path, _summary = tiny_store
    ds = FloodDataset(path, "train", formulation="state")
    assert ds.channels == [
        "rain_t-2",
        "rain_t-1",
        "rain_t-0",
        "dem",
        "rain_accum",
        "time_since_start",
    ]
    item = ds[0]
    assert item["x"].shape == (6, 32, 32) and item["x"].dtype == torch.float32
    assert item["y"].shape == (32, 32)
    events = {
        s: {int(e) for e in FloodDataset(path, s).items[:, 0]} for s in ("train", "val", "test")
    }
    assert not events["train"] & events["test"] and not events["train"] & events["val"]
    batch = collate_checked([ds[0], ds[1]])
    assert batch["x"].shape == (2, 6, 32, 32) and batch["y"].shape == (2, 32, 32)
    assert FloodDataset(path, "train").in_channels == 7  # all stored channels


def test_formulations_select_channels_and_dedup(tiny_store):
    path, summary = tiny_store
    orig = FloodDataset(path, "train", formulation="original")
    assert orig.in_channels == 4
    assert len(orig) == summary["samples_kept"]["train"]  # deduplicated
    ar = FloodDataset(path, "train", formulation="autoregressive")
    assert len(ar) == summary["samples_total"]["train"]  # state makes windows unique
    s = ar.sample(5)
    e, k, r, c = (int(v) for v in ar.items[5])
    _, depth, _ = store.read_event(path, ar.event_ids[e])
    prev = depth[k - 1, r : r + 32, c : c + 32] if k > 0 else 0 * depth[0, :32, :32]
    np.testing.assert_allclose(s["x"][-1], np.log1p(prev / PREV_DEPTH_SCALE_M), rtol=1e-6)
    with pytest.raises(ValueError, match="unknown formulation"):
        FloodDataset(path, "train", formulation="magic")


def test_dedup_counts_dry_windows(tiny_store):
    path, summary = tiny_store
    total = sum(summary["samples_total"].values())
    kept = sum(summary["samples_kept"].values())
    assert kept <= total
    assert summary["n_samples_kept"] == kept
    assert summary["record_per_window_bytes"]["raw"] > store.size_on_disk(path)


def test_dim_order_fails_loudly():
    x = torch.zeros(2, 32, 48, 5)
    with pytest.raises(ValueError, match="channels-last"):
        assert_bchw(x, 5)
    with pytest.raises(ValueError, match="swapped"):
        assert_bchw(torch.zeros(2, 5, 48, 32), 5, (32, 48))


def test_resume_after_kill_gives_same_content(tmp_path, tiny_store, factories):
    fake_radar, tiny_config, valley_dem = factories.radar, factories.config, factories.dem
    out = tmp_path / "r.zarr"
    dems, radars, cfg = (
        {"valley": valley_dem()},
        {"synth": fake_radar()},
        tiny_config(extra_channels=["rain_accum", "time_since_start", "prev_depth"]),
    )
    calls = {"n": 0}

    def boom(done, total):
        calls["n"] += 1
        if done == 3:
            raise KeyboardInterrupt  # simulate a kill after three events

    with pytest.raises(KeyboardInterrupt):
        build_dataset(out, dems, radars, cfg, scheduler="sync", progress=boom)
    assert len(store.finished_events(out)) == 3
    with pytest.raises(InputError, match="did not finish"):
        FloodDataset(out)
    summary = build_dataset(out, dems, radars, cfg, scheduler="sync")
    ref = tiny_store[1]
    assert summary["samples_kept"] == ref["samples_kept"]
    a = store.read_event(out, "ev00004")[1]
    b = store.read_event(tiny_store[0], "ev00004")[1]
    np.testing.assert_array_equal(a, b)


def test_dem_smaller_than_patch_is_an_error(tmp_path, factories):
    fake_radar, tiny_config, valley_dem = factories.radar, factories.config, factories.dem
    with pytest.raises(InputError, match="smaller than one patch"):
        build_dataset(
            tmp_path / "x.zarr",
            {"small": valley_dem(n=16)},
            {"s": fake_radar()},
            tiny_config(),
            scheduler="sync",
        )


def test_no_rain_is_an_error(tmp_path, factories):
    fake_radar, tiny_config, valley_dem = factories.radar, factories.config, factories.dem
    r = fake_radar()
    r.rain_mmh[:] = 0
    with pytest.raises(InputError, match="no event found"):
        build_dataset(
            tmp_path / "x.zarr", {"v": valley_dem()}, {"s": r}, tiny_config(), scheduler="sync"
        )


def test_dask_local_cluster_matches_in_process(tmp_path, tiny_store, factories):
    """Events simulated on Dask workers equal the in-process ones (same seeded plans)."""
    cfg = factories.config(extra_channels=["rain_accum", "time_since_start", "prev_depth"])
    cfg.events.count = 2  # the first two plans of the 6-event tiny store
    out = tmp_path / "dask.zarr"
    build_dataset(
        out,
        {"valley": factories.dem()},
        {"synth": factories.radar()},
        cfg,
        scheduler="local",
        workers=1,
    )
    for ev in ("ev00000", "ev00001"):
        a = store.read_event(out, ev)
        b = store.read_event(tiny_store[0], ev)
        np.testing.assert_array_equal(a[0], b[0])
        # separately compiled processes may round a depth at a 0.5 mm boundary differently
        # (fastmath vector code): allow one storage quantum (1 mm) in a few cells
        diff = np.abs(a[1] - b[1])
        assert diff.max() <= 1.001e-3 and (diff > 0).mean() < 1e-3


def test_store_grows_or_finalises_early_with_another_count(tmp_path, factories):
    cfg = factories.config()
    cfg.events.count = 3
    out = tmp_path / "g.zarr"
    dems, radars = {"valley": factories.dem()}, {"synth": factories.radar()}
    build_dataset(out, dems, radars, cfg, scheduler="sync")
    cfg.events.count = 2
    s2 = build_dataset(out, dems, radars, cfg, scheduler="sync")
    assert s2["events"] == 2 and len(store.finished_events(out)) == 3
    cfg.events.min_rain_mmh = 0.7  # other settings: refused
    with pytest.raises(InputError, match="other settings"):
        build_dataset(out, dems, radars, cfg, scheduler="sync")


def test_test_dem_resplits_a_copy_without_simulating_again(tmp_path, factories):
    cfg = factories.config()
    cfg.events.count = 4
    out = tmp_path / "h.zarr"
    dems = {"valley": factories.dem(), "steep": factories.dem(cell=80.0)}
    radars = {"synth": factories.radar()}
    build_dataset(out, dems, radars, cfg, scheduler="sync")
    walls = {e: a["wall_time_s"] for e, a in store.finished_events(out).items()}
    cfg.test_dems = ["steep"]
    seen = []
    summary = build_dataset(
        out, dems, radars, cfg, scheduler="sync", progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(4, 4)]  # every event was already simulated: only the index is new
    assert {e: a["wall_time_s"] for e, a in store.finished_events(out).items()} == walls
    on = {e: store.read_event_attrs(out, e)["plan"]["dem_id"] for e in summary["splits"]}
    assert {e for e, s in summary["splits"].items() if s == "test"} == {
        e for e, d in on.items() if d == "steep"
    }
    assert summary["test_dems"] == ["steep"]
    test_rows = FloodDataset(out, "test").items[:, 0]
    assert {on[summary["event_ids"][i]] for i in test_rows} == {"steep"}
    cfg.test_dems = ["hills"]
    with pytest.raises(InputError, match=r"--test-dem \['hills'\]"):
        build_dataset(out, dems, radars, cfg, scheduler="sync")


def test_loader_with_worker_processes_matches_in_process(tiny_store):
    from floodcast.data.torchdata import make_loader

    ds = FloodDataset(tiny_store[0], "train", formulation="original")
    a = next(iter(make_loader(ds, 4, False, 0)))
    b = next(iter(make_loader(ds, 4, False, 2)))
    assert torch.equal(a["x"], b["x"]) and torch.equal(a["y"], b["y"])


def test_manning_raster_stored_once_per_dem_and_used(tmp_path, factories):
    """A Manning raster (npz on the DEM grid) is stored with the DEM and drives the events."""
    from dataclasses import replace

    dem = factories.dem()
    n = np.where(np.arange(48) < 24, 0.015, 0.1) * np.ones((48, 1))
    np.savez(tmp_path / "n.npz", elevation=n.astype(np.float32), cell_size=dem.cell_size)
    base = factories.config()
    cfg = replace(base, solver=replace(base.solver, manning=str(tmp_path / "n.npz")))
    out = tmp_path / "n.zarr"
    build_dataset(out, {"valley": dem}, {"s": factories.radar()}, cfg, scheduler="sync")
    stored = store.read_dem_grid(out, "valley", "manning")
    np.testing.assert_allclose(stored, n, rtol=1e-6)
    uni = tmp_path / "u.zarr"
    build_dataset(uni, {"valley": dem}, {"s": factories.radar()}, base, scheduler="sync")
    assert store.read_dem_grid(uni, "valley", "manning") is None
    a, b = store.read_event(out, "ev00000")[1], store.read_event(uni, "ev00000")[1]
    assert not np.array_equal(a, b)  # the raster changed the simulated depths
    bad = n.copy()
    bad[3, 4] = -1
    np.savez(tmp_path / "bad.npz", elevation=bad.astype(np.float32), cell_size=dem.cell_size)
    cfg_bad = replace(base, solver=replace(base.solver, manning=str(tmp_path / "bad.npz")))
    with pytest.raises(InputError, match=r"bad.npz: must be > 0 .*row 3, col 4"):
        build_dataset(
            tmp_path / "bad.zarr",
            {"valley": dem},
            {"s": factories.radar()},
            cfg_bad,
            scheduler="sync",
        )
    assert not (tmp_path / "bad.zarr").exists()


def test_landcover_build_stores_n_once_and_offers_the_manning_channel(tmp_path, factories):
    """--landcover + --manning-table: the class raster becomes one n grid per DEM (not one
    per event), the events differ from the uniform-n build, and the ``manning`` channel
    (ln(n / 0.035)) is there when a formulation asks for it, in every store."""
    from dataclasses import replace

    from floodcast.data.torchdata import FloodDataset

    dem = factories.dem()
    classes = np.where(np.arange(48) < 24, 6, 3) * np.ones((48, 1))  # road | thicket
    np.savez(tmp_path / "lc.npz", elevation=classes.astype(np.float32), cell_size=dem.cell_size)
    (tmp_path / "n.csv").write_text("class,n,name\n3,0.1,thicket\n6,0.015,road\n")
    base = factories.config()
    lc = replace(
        base.solver, landcover=str(tmp_path / "lc.npz"), manning_table=str(tmp_path / "n.csv")
    )
    out, uni = tmp_path / "lc.zarr", tmp_path / "u.zarr"
    build_dataset(out, {"valley": dem}, {"s": factories.radar()}, replace(base, solver=lc), "sync")
    build_dataset(uni, {"valley": dem}, {"s": factories.radar()}, base, scheduler="sync")
    n = np.where(classes == 6, 0.015, 0.1)
    np.testing.assert_allclose(store.read_dem_grid(out, "valley", "manning"), n, rtol=1e-6)
    assert not list((out / "events").rglob("manning*"))  # stored once, with the DEM
    assert not np.array_equal(
        store.read_event(out, "ev00000")[1], store.read_event(uni, "ev00000")[1]
    )
    ds = FloodDataset(out, "train", formulation="upslope_area+manning")
    assert ds.channels[-1] == "manning" and ds.in_channels == len(ds.channels)
    x = ds.sample(0)["x"][-1]
    r, c = (int(v) for v in ds.items[0][2:])
    want = np.log(n[r : r + 32, c : c + 32] / 0.035)  # road -0.847, thicket +1.050
    np.testing.assert_allclose(x, want, atol=1e-6)
    x_uni = FloodDataset(uni, "train", formulation="manning").sample(0)["x"][-1]
    assert np.all(x_uni == 0.0)  # the default n everywhere
    both = replace(lc, manning=0.05)
    with pytest.raises(InputError, match="either --manning or --landcover"):
        build_dataset(
            tmp_path / "x.zarr",
            {"valley": dem},
            {"s": factories.radar()},
            replace(base, solver=both),
            scheduler="sync",
        )
