"""Shared test fixtures: seeded RNG, the shared real-data folder, one torch thread."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

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
