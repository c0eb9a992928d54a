"""The pair builder on a tiny synthetic DEM under uniform rain, with a closed boundary so
the stored water volume must equal the rain volume (hand calculation)."""

from types import SimpleNamespace

import numpy as np
import pytest
import zarr

from floodcast.data import store
from floodcast.data.build import BuildConfig, SolverSettings, build_dataset
from floodcast.data.downscale import build_pairs, read_pair
from floodcast.data.events import EventConfig
from floodcast.data.samples import SampleSpec
from floodcast.errors import InputError
from floodcast.io.dem import Dem

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


@pytest.fixture(scope="module")
def pair_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("pairs") / "p.zarr"
    cfg = BuildConfig(
        events=EventConfig(count=1, frames=4, min_rain_mmh=1.0, seed=0),
        spec=SampleSpec(frames=2, patch=16),
        solver=SolverSettings(max_step=10.0, boundary="closed"),
    )
    build_dataset(out, {"bowl": bowl_dem()}, {"u": uniform_radar()}, cfg, scheduler="sync")
    summary = build_pairs(out, (4,))
    return out, summary


def test_pairs_conserve_the_rain(pair_store):
    out, summary = pair_store
    assert summary.built == 1 and summary.factors == [4]
    p = read_pair(out, "ev00000", 4)
    assert p["coarse_depth"].shape == (4, 4, 4) and p["fine_depth"].shape == (4, 16, 16)
    np.testing.assert_allclose(
        p["coarse_dem"], p["fine_dem"].reshape(4, 4, 4, 4).mean((1, 3)), rtol=1e-6
    )
    for k in range(4):  # closed edges: stored volume = rain so far (mm-quantised depths)
        rain_m = RATE * (k + 1) * 300 / 3.6e6
        assert p["coarse_depth"][k].mean() == pytest.approx(rain_m, abs=5e-4)
        assert p["fine_depth"][k].mean() == pytest.approx(rain_m, abs=5e-4)
    assert p["factor"] == 4 and p["cell_size"] == 10.0


def test_pairs_resume_and_refuse_bad_factor(pair_store):
    out, _ = pair_store
    assert build_pairs(out, (4,)).built == 0  # finished runs are skipped
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
    with pytest.raises(InputError, match="differs from the block mean"):
        read_pair(copy, "ev00000", 4)
    assert store.dem_ids(copy) == ["bowl"]
