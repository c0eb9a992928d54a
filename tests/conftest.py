"""Shared test fixtures: seeded RNG, the shared real-data folder, one torch thread."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

# A fresh numba cache for every test session, set before anything imports numba. Why: the
# fastmath kernels compiled afresh and loaded from a cache are not always bit-identical
# (physics/step_loop.py), and the tests that compare two solver paths bit for bit need both
# compiled in one history. A cache left by an earlier run (`make demo`, a benchmark) mixed
# them and failed tests/physics/test_step_loop.py. Each session pays the compile, as CI does.
_NUMBA_CACHE = tempfile.mkdtemp(prefix="floodcast-test-numba-")
os.environ["NUMBA_CACHE_DIR"] = _NUMBA_CACHE
atexit.register(shutil.rmtree, _NUMBA_CACHE, ignore_errors=True)

import numpy as np  # noqa: E402
import pytest  # noqa: E402

_REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """``$FLOODCAST_SHARED_DATA`` or ``../shared/data`` beside the checkout, if present."""
    env = os.environ.get("FLOODCAST_SHARED_DATA")
    for cand in ([Path(env)] if env else []) + [_REPO.parent / "shared" / "data"]:
        if cand.is_dir():
            return cand
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to the real data; skips the test, saying why, when it is absent."""
    d = shared_data_dir()
    if d is None:
        pytest.skip("real data not found: set FLOODCAST_SHARED_DATA or put shared/ beside the repo")
    return d


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    # On 2 busy cores one torch thread is usually faster, and results are deterministic.
    try:
        import torch
    except ImportError:
        yield
        return
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield


# --- a tiny generated dataset store (built once per session), used by data/training/eval tests
from floodcast.data.build import BuildConfig, SolverSettings, build_dataset
from floodcast.data.events import EventConfig
from floodcast.data.samples import SampleSpec
from floodcast.io.dem import Dem


def fake_radar(seed: int = 0, nt: int = 12, n: int = 40, cell: float = 500.0, source="synthetic"):
    """A moving Gaussian rain cell on a radar grid, 5-min frames (mm/h)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    frames = []
    for t in range(nt):
        cy, cx = 10 + t, 8 + 1.5 * t + rng.uniform(-1, 1)
        frames.append(60.0 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 6.0**2)))
    times = np.datetime64("2020-06-01T12:00:00") + np.arange(nt) * np.timedelta64(300, "s")
    return SimpleNamespace(
        rain_mmh=np.stack(frames).astype(np.float32),
        times=times,
        cell_size=cell,
        interval_s=300.0,
        source=source,
    )


def valley_dem(n: int = 48, cell: float = 50.0) -> Dem:
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    z = 100 + 0.02 * cell * yy + 0.05 * cell * np.abs(xx - n / 2)
    return Dem(elevation=z.astype(np.float32), cell_size=cell, source="valley")


def tiny_config(**spec_kw) -> BuildConfig:
    return BuildConfig(
        events=EventConfig(count=6, frames=8, min_rain_mmh=0.5, seed=1),
        spec=SampleSpec(frames=3, threshold=0.01, patch=32, overlap=16, **spec_kw),
        solver=SolverSettings(max_step=10.0, boundary="free"),
    )


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "tiny.zarr"
    summary = build_dataset(
        out,
        {"valley": valley_dem()},
        {"synth": fake_radar()},
        tiny_config(extra_channels=["rain_accum", "time_since_start", "prev_depth"]),
        scheduler="sync",
    )
    return out, summary


@pytest.fixture(scope="session")
def factories():
    """The generators above, for tests that build their own stores."""
    return SimpleNamespace(radar=fake_radar, dem=valley_dem, config=tiny_config)
