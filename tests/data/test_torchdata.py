"""Sampling and derived channels of the torch dataset (tiny generated store)."""

import itertools
from collections import Counter

import numpy as np
import pytest

from floodcast.data.build import build_dataset
from floodcast.data.samples import make_input
from floodcast.data.terrain import DemRouting, upslope_area_channel
from floodcast.data.torchdata import EventBlockSampler, FloodDataset, select_extras
from floodcast.io.dem_tools import depression_depth


def test_block_sampler_draws_each_sample_once_a_few_events_at_a_time(tiny_store):
    ds = FloodDataset(tiny_store[0], "train", formulation="original")
    s = EventBlockSampler(ds, events_per_block=1, seed=3)
    order = list(iter(s))
    assert sorted(order) == list(range(len(ds))) and len(s) == len(ds)
    ev = ds.items[order, 0]
    # one event per block: the event changes only when its samples are used up
    assert int((np.diff(ev) != 0).sum()) == len(np.unique(ev)) - 1
    assert list(iter(s)) != order  # a new shuffle every epoch, seeded
    assert list(iter(EventBlockSampler(ds, events_per_block=1, seed=3))) == order


def test_block_sampler_repeats_wet_samples(tiny_store):
    ds = FloodDataset(tiny_store[0], "train", formulation="original")
    wet = ds.wet_counts() > 0
    assert 0 < wet.sum() < len(ds), "fixture should hold wet and dry samples"
    s = EventBlockSampler(ds, wet_oversample=2.0, seed=0)
    counts = Counter(iter(s))
    assert all(counts[i] == (3 if wet[i] else 1) for i in range(len(ds)))
    assert len(s) == len(ds) + 2 * int(wet.sum())


def test_wet_counts_match_targets(tiny_store):
    ds = FloodDataset(tiny_store[0], "val", formulation="original")
    c = ds.wet_counts()
    for i in range(0, len(ds), max(1, len(ds) // 5)):
        assert c[i] == int(ds.sample(i)["wet"].sum())


def test_formulations_combine_with_plus_and_derived_channels():
    stored = ["rain_accum", "time_since_start", "prev_depth"]
    assert select_extras(stored, "state+upslope_area") == [
        "rain_accum",
        "time_since_start",
        "upslope_area",
    ]
    assert select_extras(stored, "autoregressive+state") == [
        "prev_depth",
        "rain_accum",
        "time_since_start",
    ]
    assert select_extras([], "original+upslope_area") == ["upslope_area"]  # derived: no rebuild
    with pytest.raises(ValueError, match="rebuild it"):
        select_extras([], "state")
    with pytest.raises(ValueError, match="joined with"):
        select_extras(stored, "state+magic")


def test_upslope_area_channel_by_hand():
    # a 1 x 4 ramp falling east, 10 m cells: areas 1, 2, 3, 4 cells of 100 m2
    z = np.array([[4.0, 3.0, 2.0, 1.0]])
    ch = upslope_area_channel(z, 10.0)
    np.testing.assert_allclose(ch[0], (np.log10([100, 200, 300, 400]) - 4) / 2, rtol=1e-6)


def test_upslope_area_in_dataset_samples(tiny_store):
    ds = FloodDataset(tiny_store[0], "train", formulation="original+upslope_area")
    assert ds.channels[-1] == "upslope_area" and ds.in_channels == ds.spec["frames"] + 2
    x = ds.sample(0)["x"]
    assert np.isfinite(x[-1]).all() and x[-1].max() > x[-1].min()  # a valley collects area
    with pytest.raises(Exception, match="upslope_area"):
        make_input(
            np.zeros((7, 4, 4)),
            np.zeros((4, 4)),
            {"rain_mean": 0, "rain_std": 1, "dem_anomaly_std": 1},
            ["upslope_area"],
        )


def test_upslope_rain_channel_by_hand():
    # the 1 x 4 ramp with 10 m cells (100 m2): 10 mm on every cell is 1 m3 per cell, so
    # upslope volumes are 1, 2, 3, 4 m3; a second frame with rain only on the first cell
    routing = DemRouting(np.array([[4.0, 3.0, 2.0, 1.0]]), 10.0)
    ch = routing.rain_channel(np.array([[[10.0] * 4], [[20.0, 0.0, 0.0, 0.0]]]))
    assert ch.shape == (2, 1, 4) and ch.dtype == np.float32
    np.testing.assert_allclose(ch[0, 0], np.log10(1 + np.array([1, 2, 3, 4])) / 4, rtol=1e-6)
    np.testing.assert_allclose(ch[1, 0], np.log10(3.0) / 4, rtol=1e-6)  # 2 m3 reach every cell
    with pytest.raises(Exception, match="not on the DEM grid"):
        routing.rain_channel(np.zeros((1, 4, 1)))


def test_upslope_rain_in_dataset_grows_through_the_event(tiny_store):
    ds = FloodDataset(tiny_store[0], "train", formulation="state+upslope_rain")
    assert ds.channels[-1] == "upslope_rain"
    e, _, r, c = (int(v) for v in ds.items[0])
    same = [
        i for i in range(len(ds)) if (ds.items[i, 0], ds.items[i, 2], ds.items[i, 3]) == (e, r, c)
    ]
    by_frame = sorted((int(ds.items[i, 1]), ds.sample(i)["x"][-1]) for i in same)
    # rain since the start only grows, and so does the volume routed to every cell
    for (_, a), (_, b) in itertools.pairwise(by_frame):
        assert (b >= a - 1e-6).all()
    assert by_frame[-1][1].max() > by_frame[0][1].max() >= 0


def test_depression_depth_channel_by_hand():
    # 3-m plateau, a pit at 1 m in the centre, a 2-m cell north of it and a 2.5-m notch in
    # the north edge: the bowl spills at 2.5 m, so the pit is 1.5 m deep, its neighbour 0.5 m
    z = np.full((5, 5), 3.0)
    z[2, 2], z[1, 2], z[0, 2] = 1.0, 2.0, 2.5
    routing = DemRouting(z, 10.0)
    ch = routing.depression_channel()
    want = np.zeros((5, 5))
    want[2, 2], want[1, 2] = np.log1p(15.0) / 2, np.log1p(5.0) / 2
    np.testing.assert_allclose(ch, want, rtol=1e-6, atol=1e-7)
    assert routing.depression_channel() is ch  # computed once per DEM
    assert set(routing.grids(["depression_depth"], np.zeros((1, 5, 5)))) == {"depression_depth"}


def test_depression_depth_in_dataset_samples(factories, tmp_path):
    # the valley with a 20-m pit dug into its floor (deeper than its 2.5-m-per-cell slopes)
    dem = factories.dem()
    dem.elevation[20:24, 20:24] -= 20.0
    build_dataset(
        tmp_path / "pit.zarr",
        {"pit": dem},
        {"synth": factories.radar()},
        factories.config(extra_channels=["rain_accum", "time_since_start"]),
        scheduler="sync",
    )
    ds = FloodDataset(tmp_path / "pit.zarr", "train", formulation="state+depression_depth")
    assert ds.channels[-1] == "depression_depth"
    p, d = ds.spec["patch"], depression_depth(dem.elevation)
    assert d.max() > 10.0
    deepest = 0.0
    for i in range(0, len(ds), max(1, len(ds) // 4)):
        _, _, r, c = (int(v) for v in ds.items[i])
        want = np.log1p(d[r : r + p, c : c + p] / 0.1) / 2
        np.testing.assert_allclose(ds.sample(i)["x"][-1], want, rtol=1e-5, atol=1e-6)
        deepest = max(deepest, float(want.max()))
    assert deepest > 2.0  # the pit is in the tiles checked (log1p(200) / 2 = 2.65)


def test_augment_transforms_inputs_and_targets_together(tiny_store):
    import torch

    from floodcast.data.samples import dihedral
    from floodcast.data.torchdata import FloodDataset

    path = tiny_store[0]
    plain = FloodDataset(path, "train", formulation="state+upslope_area")
    aug = FloodDataset(path, "train", formulation="state+upslope_area", augment=True)
    seen = set()
    for i in range(len(aug))[:12]:
        torch.manual_seed(i)
        t = int(torch.randint(8, ()))
        torch.manual_seed(i)
        got, want = aug[i], plain[i]
        seen.add(t)
        assert torch.equal(got["x"], torch.from_numpy(dihedral(want["x"].numpy(), t)))
        assert torch.equal(got["y"], torch.from_numpy(dihedral(want["y"].numpy(), t)))
        assert torch.equal(got["depth"], torch.from_numpy(dihedral(want["depth"].numpy(), t)))
    assert len(seen) > 1
