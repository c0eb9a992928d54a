"""simulate under hostile settings and faults: memory checked up front, a full disk,
stale staging folders, the one-rename commit, NaN in ASCII grids and all-NaN rain."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

from floodcast.errors import InputError
from floodcast.io.dem import read_dem
from floodcast.simulation import job as J
from floodcast.simulation import safety

from .test_job import flat_npz, req


def test_memory_checked_before_running(tmp_path):
    dem = flat_npz(tmp_path, n=64)
    with pytest.raises(InputError, match=r"GiB.*--save-every"):
        J.prepare(req(tmp_path, dem=dem, duration_s=1e9, pad_zero=True))
    with pytest.raises(InputError, match="GiB"):  # 3 x 3: the records alone are too many
        J.prepare(req(tmp_path, dem=flat_npz(tmp_path, n=3), duration_s=1e9, pad_zero=True))
    # the figure: 5 saves of 100 cells (two float32 copies) + records, by hand
    assert safety.estimate_bytes(200, 50, 100) == 5 * (100 * 8 + 200) + 5 * 450
    with pytest.raises(InputError, match="0.00 GiB available"):
        safety.check_memory(200, 50, (10, 10), available=1000)


def test_full_disk_during_netcdf_write_is_clean(tmp_path):
    """A real write failure: the file-size limit (RLIMIT_FSIZE) makes HDF5 fail mid-file."""
    r = req(tmp_path, dem=flat_npz(tmp_path, n=30), duration_s=200.0, save_every_s=2.0)
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_sig = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, old[1]))  # depth.nc is bigger
    try:
        with pytest.raises(OSError, match="cannot write the outputs|File too large"):
            J.run_job(r)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
        signal.signal(signal.SIGXFSZ, old_sig)
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if "simulate-tmp" in p.name]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_staging_cleaned_and_outputs_replaced_whole(tmp_path):
    out = tmp_path / "out"
    J.run_job(req(tmp_path))
    first = (out / "run.json").read_text()
    (out / ".simulate-tmp-abc123").mkdir()  # left by a killed run (old layout)
    stale = tmp_path / f".out{safety.STAGE_PREFIX}{_dead_pid()}"
    stale.mkdir()
    (stale / "depth.nc").write_bytes(b"half")
    alive = tmp_path / f".out{safety.STAGE_PREFIX}{os.getppid()}"  # a live run's: kept
    alive.mkdir()
    J.run_job(req(tmp_path, rain="72mm/h:100s"))
    assert sorted(p.name for p in out.iterdir()) == sorted(J.OUTPUT_FILES)
    assert (out / "run.json").read_text() != first
    assert not stale.exists() and alive.exists()


def test_commit_swaps_the_folder_in_one_step(tmp_path):
    out, stage = tmp_path / "out", tmp_path / ".out.stage"
    out.mkdir()
    stage.mkdir()
    for name in J.OUTPUT_FILES:
        (out / name).write_text("old")
        (stage / name).write_text("new")
    calls = []
    real = os.replace
    os.replace = lambda *a: (calls.append(a), real(*a))[1]
    try:
        safety.commit(stage, out)
    finally:
        os.replace = real
    assert {(out / n).read_text() for n in J.OUTPUT_FILES} == {"new"}
    assert not stage.exists()
    assert calls == [] or len(calls) == 2  # one atomic exchange, or the 2-rename fallback


def test_user_folder_with_other_files_is_kept(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    J.run_job(req(tmp_path))
    assert (out / "notes.txt").read_text() == "mine"
    assert set(J.OUTPUT_FILES) <= {p.name for p in out.iterdir()}


def test_ascii_grid_starting_with_nan(tmp_path):
    p = tmp_path / "dem.asc"
    p.write_text("ncols 3\nnrows 3\nxllcorner 0\nyllcorner 0\ncellsize 10\nnan 1 2\n3 4 5\n6 7 8\n")
    dem = read_dem(p)
    assert dem.shape == (3, 3) and np.isnan(dem.elevation[0, 0])
    assert dem.elevation[2, 2] == 8


def test_all_nan_rain_is_an_error_unless_allowed(tmp_path):
    rain = tmp_path / "rain.npz"
    np.savez(rain, rain_mmh=np.full((2, 10, 10), np.nan, np.float32), times_s=[0.0, 100.0])
    with pytest.raises(InputError, match="every rain value is NaN.*--allow-empty-rain"):
        J.prepare(req(tmp_path, rain=str(rain), pad_zero=True))
    job = J.prepare(req(tmp_path, rain=str(rain), pad_zero=True, allow_empty_rain=True))
    assert not job.rain.rates_mmh.any()
