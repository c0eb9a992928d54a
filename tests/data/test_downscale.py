"""The pair builder on a tiny synthetic DEM under uniform rain, with a closed boundary so
the stored water volume must equal the rain volume (hand calculation): 3 mm per frame over
the 4 rain frames, then 12 mm held through the dry tail."""

from types import SimpleNamespace

import numpy as np
import pytest
import zarr

from floodcast.data import store
from floodcast.data.build import BuildConfig, SolverSettings, build_dataset
from floodcast.data.downscale import TAIL_GROUP, build_pairs, read_pair
from floodcast.data.events import EventConfig
from floodcast.data.samples import SampleSpec
from floodcast.defaults import DOWNSCALE_DRY_TAIL_FRAMES as TAIL
from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.simulation.downscale import CHANNELS
from floodcast.training.downscale import pair_samples

RATE = 36.0  # mm/h: 3 mm per 5-min frame


def uniform_radar(nt: int = 6, n: int = 20):
    times = np.datetime64("2020-06-01T12:00:00") + np.arange(nt) * np.timedelta64(300, "s")
    return SimpleNamespace(
        rain_mmh=np.full((nt, n, n), RATE, np.float32),
        times=times,
        cell_size=500.0,
        interval_s=300.0,
        source="uniform",
    )


def bowl_dem(n: int = 16, cell: float = 10.0) -> Dem:
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    z = 100 + 0.02 * cell * ((yy - n / 2) ** 2 + (xx - n / 3) ** 2) ** 0.5
    return Dem(elevation=z.astype(np.float32), cell_size=cell, source="bowl")


def dataset(out):
    cfg = BuildConfig(
        events=EventConfig(count=1, frames=4, min_rain_mmh=1.0, seed=0),
        spec=SampleSpec(frames=2, patch=16),
        solver=SolverSettings(max_step=10.0, boundary="closed"),
    )
    build_dataset(out, {"bowl": bowl_dem()}, {"u": uniform_radar()}, cfg, scheduler="sync")
    return out


@pytest.fixture(scope="module")
def pair_store(tmp_path_factory):
    out = dataset(tmp_path_factory.mktemp("pairs") / "p.zarr")
    summary = build_pairs(out, (4,))  # the default: with a dry tail
    return out, summary


def test_pairs_conserve_the_rain_through_the_dry_tail(pair_store):
    out, summary = pair_store
    assert summary.built == 1 and summary.factors == [4]
    assert TAIL > 0 and summary.dry_tail == TAIL and summary.tails_built == 1
    p = read_pair(out, "ev00000", 4)
    n = 4 + TAIL
    assert p["coarse_depth"].shape == (n, 4, 4) and p["fine_depth"].shape == (n, 16, 16)
    assert p["rain"].shape == (n, 16, 16) and (p["rain_frames"], p["dry_tail_frames"]) == (4, TAIL)
    assert (p["rain"][:4] == RATE).all() and (p["rain"][4:] == 0).all()
    # the default coarse DEM: each block's lowest cell
    assert p["coarse_method"] == "min"
    np.testing.assert_array_equal(p["coarse_dem"], p["fine_dem"].reshape(4, 4, 4, 4).min((1, 3)))
    for k in range(n):  # closed edges: stored volume = rain so far (mm-quantised depths)
        rain_m = RATE * (min(k, 3) + 1) * 300 / 3.6e6  # 3, 6, 9, 12, then 12 mm
        assert p["coarse_depth"][k].mean() == pytest.approx(rain_m, abs=5e-4)
        assert p["fine_depth"][k].mean() == pytest.approx(rain_m, abs=5e-4)
    assert p["factor"] == 4 and p["cell_size"] == 10.0
    # the tail's water moves: the last map is not the one at the rain's end
    assert np.abs(p["fine_depth"][-1] - p["fine_depth"][3]).max() > 1e-3
    tail = zarr.open_group(str(out / "events/ev00000" / TAIL_GROUP), mode="r").attrs
    assert tail["rerun_max_diff_m"] <= 5e-4  # the rerun repeats the stored rain frames


def test_dry_tail_maps_are_training_samples_with_no_new_rain(pair_store):
    out, _ = pair_store
    s = pair_samples(out, 4, "train")  # the one event is the train split
    assert len(s) == 4 + TAIL
    acc = [float(x["x"][CHANNELS.index("rain_accum"), 0, 0]) for x in s]
    # rain since the start / 20 mm: 3, 6, 9, 12 mm, then 12 mm through the tail
    np.testing.assert_allclose(acc, [0.15, 0.3, 0.45] + [0.6] * (1 + TAIL), rtol=1e-6)
    # rain now / 20 mm/h: 36 (1 - e^(-k/3)) while it rains, then e^(-1/3) less every frame
    rec = [float(x["x"][CHANNELS.index("rain_recent"), 0, 0]) * 20 for x in s]
    want = [36 * (1 - np.exp(-k / 3)) for k in (1, 2, 3, 4)]
    want += [want[-1] * np.exp(-k / 3) for k in range(1, TAIL + 1)]
    np.testing.assert_allclose(rec, want, rtol=1e-5)


def test_no_dry_tail_and_another_tail_refused(tmp_path):
    out = dataset(tmp_path / "n.zarr")
    s = build_pairs(out, (4,), dry_tail=0)
    assert (s.dry_tail, s.tails_built) == (0, 0)
    p = read_pair(out, "ev00000", 4)
    assert p["fine_depth"].shape == (4, 16, 16) and p["dry_tail_frames"] == 0
    assert not (out / "events/ev00000" / TAIL_GROUP).exists()
    with pytest.raises(InputError, match="built with --dry-tail 0, not 3"):
        build_pairs(out, (4, 8), dry_tail=3)
    assert not (out / "events/ev00000" / TAIL_GROUP).exists()
    assert not (out / "dems/bowl/coarse8").exists()  # refused before anything is written
    with pytest.raises(InputError, match="integer >= 0"):
        build_pairs(out, (4,), dry_tail=-1)


def test_pairs_resume_and_refuse_bad_factor(pair_store):
    out, _ = pair_store
    s = build_pairs(out, (4,))
    assert (s.built, s.tails_built) == (0, 0)  # finished runs are skipped
    with pytest.raises(InputError, match="16x16 is not divisible by --coarsen 3"):
        build_pairs(out, (4, 3))
    assert not (out / "events/ev00000/coarse3").exists()
    assert not (out / "dems/bowl/coarse3").exists()


def test_tampered_coarse_dem_is_refused(pair_store, tmp_path):
    import shutil

    copy = tmp_path / "copy.zarr"
    shutil.copytree(pair_store[0], copy)
    arr = zarr.open_array(str(copy / "dems/bowl/coarse4/elevation"), mode="r+")
    arr[0, 0] = arr[0, 0] + 1.0
    with pytest.raises(InputError, match="differs from the block min"):
        read_pair(copy, "ev00000", 4)
    assert store.dem_ids(copy) == ["bowl"]


def test_rerun_check_tolerates_a_spill_cell_not_another_solver():
    """One cell off by 0.2 m (a pond at its spill point) passes; 2 cm over a whole wet
    area (another solver or step rule) is refused, naming the event."""
    from floodcast.data.downscale import RERUN_TOL_M, rerun_check

    stored = np.zeros((4, 32, 32))
    stored[:, 8:24, 8:24] = 0.5
    rerun = stored.copy()
    rerun[2, 10, 10] += 0.2
    st = rerun_check(rerun, stored, "store: event e")
    assert st["rerun_max_diff_m"] == pytest.approx(0.2)
    assert st["rerun_quantile_diff_m"] <= RERUN_TOL_M and st["rerun_cells_over_1cm"] == 1
    shifted = stored + np.where(stored > 0, 0.02, 0.0)  # 25 % of the cell-times, 2 cm
    with pytest.raises(InputError, match=r"store: event e: .* 0\.020 m at the 99\.9% quantile"):
        rerun_check(shifted, stored, "store: event e")


def test_pairs_refused_when_another_solver_built_the_store(tmp_path):
    out = dataset(tmp_path / "o.zarr")
    arr = zarr.open_array(str(out / "events/ev00000/depth"), mode="r+")
    arr[:] = arr[:] + np.round(0.05 * store.DEPTH_SCALE).astype(arr.dtype)  # 5 cm everywhere
    with pytest.raises(InputError, match="another solver built the store"):
        build_pairs(out, (4,))
    assert not (out / "events/ev00000" / TAIL_GROUP).exists()


def test_pairs_on_the_block_mean_and_another_rule_refused(tmp_path):
    """--coarse-dem mean: the coarse DEM is each block's mean, recorded, read back by
    read_pair; closed edges keep the rain volume; pairs on another rule are refused."""
    out = dataset(tmp_path / "m.zarr")
    s = build_pairs(out, (4,), dry_tail=0, coarse_dem="mean")
    assert s.coarse_dem == "mean"
    p = read_pair(out, "ev00000", 4)
    assert p["coarse_method"] == "mean"
    np.testing.assert_allclose(
        p["coarse_dem"], p["fine_dem"].reshape(4, 4, 4, 4).mean((1, 3)), rtol=1e-6
    )
    assert p["coarse_depth"][-1].mean() == pytest.approx(RATE * 4 * 300 / 3.6e6, abs=5e-4)
    with pytest.raises(InputError, match="built with --coarse-dem mean, not min"):
        build_pairs(out, (4,), dry_tail=0, coarse_dem="min")
    with pytest.raises(InputError, match="--coarse-dem 'p10'"):
        build_pairs(out, (4,), dry_tail=0, coarse_dem="p10")
    assert read_pair(out, "ev00000", 4)["coarse_method"] == "mean"  # nothing rewritten


def test_subgrid_pairs_record_their_solver_version_and_older_ones_are_refused(tmp_path):
    """Sub-grid pairs carry the sub-grid solver's version; pairs of another version (or of
    before the record: 1) are refused before anything runs, naming the groups to delete."""
    from floodcast.physics.subgrid_run import SUBGRID_VERSION

    out = dataset(tmp_path / "s.zarr")
    build_pairs(out, (4,), dry_tail=0, coarse_dem="subgrid")
    g = zarr.open_group(str(out / "events/ev00000/coarse4"), mode="r+")
    assert g.attrs["subgrid_version"] == SUBGRID_VERSION
    # closed edges: the sub-grid run stores the rain volume (12 mm by hand)
    assert read_pair(out, "ev00000", 4)["coarse_depth"][-1].mean() == pytest.approx(
        RATE * 4 * 300 / 3.6e6, abs=5e-4
    )
    del g.attrs["subgrid_version"]  # a store built before the record
    with pytest.raises(InputError, match="sub-grid solver version 1, this floodcast's is"):
        build_pairs(out, (4, 8), dry_tail=0, coarse_dem="subgrid")
    assert not (out / "dems/bowl/coarse8").exists()  # refused before anything is written
