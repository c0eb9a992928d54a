"""build-dataset under faults: folders left by killed writers, a corrupt radar frame,
empty validation/test splits."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from floodcast.data import store
from floodcast.data.build import build_dataset
from floodcast.errors import InputError
from floodcast.io.named_inputs import load_radars
from floodcast.io.radar import read_radar


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_resume_cleans_folders_of_killed_writers(tmp_path, tiny_store, factories):
    out = tmp_path / "s.zarr"
    shutil.copytree(tiny_store[0], out)
    dead, alive = _dead_pid(), os.getpid()
    stale = [out / "events" / f".tmp-ev00099-{dead}", out / "dems" / f".tmp-valley-{dead}"]
    for p in stale:
        (p / "rain").mkdir(parents=True)
    kept = out / "events" / f".tmp-ev00098-{alive}"  # a live writer's: not touched
    kept.mkdir()
    build_dataset(
        out,
        {"valley": factories.dem()},
        {"synth": factories.radar()},
        factories.config(extra_channels=["rain_accum", "time_since_start", "prev_depth"]),
        scheduler="sync",
    )
    assert not any(p.exists() for p in stale) and kept.exists()


def test_empty_val_and_test_splits_warned(tmp_path, tiny_store, factories, caplog):
    out = tmp_path / "s.zarr"
    shutil.copytree(tiny_store[0], out)
    cfg = factories.config(extra_channels=["rain_accum", "time_since_start", "prev_depth"])
    cfg.split = (1.0, 0.0, 0.0)
    summary = build_dataset(
        out, {"valley": factories.dem()}, {"synth": factories.radar()}, cfg, scheduler="sync"
    )
    msgs = " ".join(summary["warnings"])
    assert "val split has no samples" in msgs and "test split has no samples" in msgs
    assert store.read_index(out)[1]["summary"]["warnings"] == summary["warnings"]


def _fmi_frames(shared_data, tmp_path, n=6):
    src = sorted((shared_data / "radar/pysteps-data/radar/fmi/pgm").rglob("*.pgm.gz"))[:n]
    if len(src) < n:
        pytest.skip("FMI frames not found in the shared data")
    folder = tmp_path / "fmi"
    folder.mkdir()
    for f in src:
        shutil.copy(f, folder / f.name)
    return folder, sorted(folder.iterdir())


@pytest.mark.shared_data
def test_corrupt_radar_frame_is_a_reported_gap(shared_data, tmp_path):
    folder, files = _fmi_frames(shared_data, tmp_path)
    bad = files[3]
    bad.write_bytes(bad.read_bytes()[:200])  # a truncated download
    with pytest.raises(InputError, match=bad.name):  # --strict: abort, naming the file
        read_radar(folder, "fmi")
    seq = read_radar(folder, "fmi", strict=False)
    assert seq.rain_mmh.shape[0] == len(files) - 1
    assert [str(bad)] == [f for f, why in seq.attrs["skipped"] if "unreadable" in why]
    assert len(seq.gaps()) == 1
    said = []
    pieces = load_radars([f"fmi:{folder}"], echo=said.append, strict=False)
    assert len(pieces) == 2 and any(bad.name in s and "skipped" in s for s in said)
    assert sum(p.rain_mmh.shape[0] for p in pieces.values()) == len(files) - 1
    assert np.isfinite(seq.rain_mmh).any()


def test_corrupt_geotiff_frame_is_a_reported_gap(tmp_path):
    import rasterio
    from rasterio.transform import from_origin

    folder = tmp_path / "tif"
    folder.mkdir()
    for k in range(5):
        with rasterio.open(
            folder / f"radar_20200601{12:02d}{5 * k:02d}.tif",
            "w",
            driver="GTiff",
            width=8,
            height=8,
            count=1,
            dtype="float32",
            transform=from_origin(0, 4000, 500, 500),
            crs="EPSG:32614",
        ) as ds:
            ds.write(np.full((1, 8, 8), k + 1.0, np.float32))
            ds.update_tags(units="mm/h")
    bad = sorted(folder.iterdir())[2]
    bad.write_bytes(b"II*\x00garbage")
    with pytest.raises(Exception, match=bad.name):  # strict: the reader's error, naming it
        read_radar(folder, "geotiff")
    seq = read_radar(folder, "geotiff", strict=False)
    assert seq.rain_mmh.shape[0] == 4 and len(seq.gaps()) == 1
    assert [f for f, _ in seq.attrs["skipped"]] == [str(bad)]
