"""Flood-nowcast members on Dask workers equal the batched run; bad --scheduler values."""

from __future__ import annotations

import numpy as np
import pytest

from floodcast.errors import InputError
from floodcast.predict.flood_members_dask import parse_scheduler
from floodcast.predict.flood_nowcast import run_ensemble, solver_setup

from .test_flood_nowcast import _valley


def test_dask_members_equal_the_batched_members():
    distributed = pytest.importorskip("dask.distributed")
    z = _valley()
    cfg, bnd = solver_setup()
    rng = np.random.default_rng(3)
    fc = rng.gamma(2.0, 30.0, size=(5, 3) + z.shape).astype(np.float32)  # members differ
    fc[0] = 0.0  # one dry member
    ref = run_ensemble(z, 30.0, None, fc, 300.0, (0.01, 0.1), cfg, bnd, keep_members=True)
    # threads, not processes: a test-sized cluster that starts in about a second; 2 workers
    # -> 2 chunks (3 + 2 members), so the members are split and put back together
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        res = run_ensemble(
            z,
            30.0,
            None,
            fc,
            300.0,
            (0.01, 0.1),
            cfg,
            bnd,
            True,
            scheduler=cluster.scheduler_address,
        )
    np.testing.assert_array_equal(res.member_depths, ref.member_depths)  # bit for bit
    np.testing.assert_array_equal(res.probability, ref.probability)
    np.testing.assert_array_equal(res.probability_within, ref.probability_within)
    np.testing.assert_array_equal(res.median_depth, ref.median_depth)
    assert ref.probability_within[-1, 0].max() == 0.8  # 4 of 5 members wet somewhere


def test_scheduler_spec_parsing():
    assert parse_scheduler("none") == ("none", None)
    assert parse_scheduler("local:3") == ("local", 3)
    assert parse_scheduler("local")[0] == "local"
    assert parse_scheduler("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", "somewhere", "host:port", "tcp://"):
        with pytest.raises(InputError, match="--scheduler"):
            parse_scheduler(bad)


def test_local_scheduler_starts_worker_processes():
    pytest.importorskip("dask.distributed")
    from floodcast.predict.flood_members_dask import dask_client

    with dask_client("local:1") as client:  # one worker process, one thread
        assert sum(client.nthreads().values()) == 1
        assert client.submit(sum, [1, 2, 3]).result() == 6


def test_model_engine_refuses_a_scheduler(tmp_path):
    """--scheduler places physics members; the model engine has none, so it says so."""
    from .test_flood_nowcast import _inputs, _run

    dem, rain = _inputs(tmp_path)
    (tmp_path / "m.pt").write_bytes(b"")
    out = tmp_path / "nc"
    args = ("--dem", dem, "--rain", rain, "--out", out, "--engine", "model")
    r = _run(*args, "--model", tmp_path / "m.pt", "--scheduler", "local:2")
    assert r.exit_code == 1 and "--engine model has none" in r.output, r.output
    assert not out.exists()
