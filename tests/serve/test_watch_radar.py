"""Watch mode reads native radar files (FMI, MeteoSwiss, OPERA, BoM) through the radar
readers, reprojects them onto the DEM and stamps each map with the radar frame's own time."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.serve.live import LivePhysics
from floodcast.serve.maps import MapBoard
from floodcast.serve.watch_inputs import native_source, read_drop, watchable
from floodcast.serve.watcher import Watcher

from .conftest import npz_bytes, storm

# (folder under pysteps-data/radar, glob, source the name guesses, time of the last frame)
SOURCES = [
    ("fmi/pgm", "*.pgm.gz", "fmi", "2016-09-28T18:00:00"),
    ("mch", "*.gif", "mch", "2015-05-15T19:00:00"),
    ("OPERA", "*.hdf", "opera", "2018-08-24T19:45:00"),
    ("bom", "*.nc", "bom", "2018-06-16T16:00:00"),
]


def _frames(shared: Path, folder: str, pattern: str, n: int) -> list[Path]:
    files = sorted((shared / "radar/pysteps-data/radar" / folder).rglob(pattern))
    if len(files) < n:
        pytest.skip(f"fewer than {n} {pattern} files under shared/data/radar/pysteps-data")
    return files[-n:]


def _dem_where_it_rains(files: list[Path], source: str, shape=(40, 48), cell=50.0) -> Dem:
    """A small DEM in the radar's projection, centred on its wettest cell (real rain)."""
    from floodcast.io.radar import read_radar

    seq = read_radar(files, source)
    rain = np.nanmean(np.nan_to_num(seq.rain_mmh), 0)
    iy, ix = np.unravel_index(np.argmax(rain), rain.shape)
    x, y = seq.transform @ (ix + 0.5, iy + 0.5)
    ny, nx = shape
    tr = Affine(cell, 0, x - nx / 2 * cell, 0, -cell, y + ny / 2 * cell)
    z = 100 + np.add.outer(np.arange(ny) * 0.5, np.abs(np.arange(nx) - nx / 2)).astype(np.float32)
    return Dem(z, cell, tr, seq.crs, f"{source}-dem")


def test_watchable_names_and_rain_files_stay_rain_files(tmp_path):
    assert all(
        watchable(n)
        for n in ("a.pgm.gz", "AQC151351900F_00005.801.gif", "x.hdf", "x.h5", "r.npz", "x.TIF")
    )
    assert not watchable("notes.txt") and not watchable("x.gz")
    (tmp_path / "r.npz").write_bytes(npz_bytes(storm(1)))
    assert native_source(tmp_path / "r.npz", "fmi") is None  # npz: always floodcast's rain
    # a NetCDF-4 (HDF5) rain file is not ODIM: read as a rain file, as before
    import xarray as xr

    xr.Dataset({"rain": (("time", "y", "x"), np.zeros((1, 2, 2)))}).to_netcdf(
        tmp_path / "rain.h5", engine="h5netcdf"
    )
    assert native_source(tmp_path / "rain.h5") is None
    assert native_source(tmp_path / "rain.tif") is None  # generic GeoTIFF: a rain file
    with pytest.raises(InputError, match="unknown radar source 'nope'"):
        native_source(tmp_path / "x.gif", "nope")


@pytest.mark.shared_data
@pytest.mark.parametrize("folder,pattern,source,last", SOURCES, ids=[s[2] for s in SOURCES])
def test_native_drop_on_the_dem_with_radar_time(shared_data, folder, pattern, source, last):
    files = _frames(shared_data, folder, pattern, 2)
    dem = _dem_where_it_rains(files, source)
    assert native_source(files[-1]) is not None  # guessed from the name
    drop = read_drop(files[-1], dem, 300.0)
    assert drop.unix == np.datetime64(last, "s").astype(np.int64)  # the radar's time
    assert drop.rin.frames.shape == (1, *dem.shape)
    assert np.isfinite(drop.rin.frames).all() and drop.rin.frames.max() > 0  # real rain
    assert "reprojected onto the DEM" in drop.rin.notes[0]
    nominal = {"fmi": 300.0, "mch": 300.0, "opera": 900.0, "bom": 360.0}[source]
    assert drop.rin.interval_s == nominal


@pytest.mark.shared_data
def test_watcher_ingests_native_frames_stamped_with_radar_time(shared_data, tmp_path):
    files = _frames(shared_data, "mch", "*.gif", 3)
    dem = _dem_where_it_rains(files, "mch")
    watch, state = tmp_path / "radar", tmp_path / "state"
    watch.mkdir()
    for f in files:  # copies: the test never writes next to the shared data
        shutil.copy(f, watch / f.name)
    (watch / "garbage_201505151905.gif").write_bytes(b"GIF89a not a radar image")
    board = MapBoard(dem, None, state / "maps", threading.Lock(), n_leads=1)
    seen = []
    w = Watcher(
        watch,
        state,
        dem,
        board,
        LivePhysics(dem),
        300.0,
        poll_s=0.05,
        source="mch",  # --watch-source
        on_state=lambda live, hist, unix, dt, radar=None: seen.append((hist.shape, unix, dt)),
    )
    assert sum(w.poll_once() for _ in range(2)) == 3
    assert w.status()["last_source"] == "mch" and w.live.t == pytest.approx(900.0)
    idx = board.latest()
    assert idx["valid_time"] == "2015-05-15T19:00:00Z"  # not the ingest time
    times = [s["time"] for s in idx["steps"]]
    assert times == [
        "2015-05-15T18:50:00Z",
        "2015-05-15T18:55:00Z",
        "2015-05-15T19:00:00Z",
        "2015-05-15T19:05:00Z",
    ]
    assert [s[1] for s in seen] == [1431715800.0, 1431716100.0, 1431716400.0]
    assert seen[-1][0] == (3, *dem.shape) and seen[-1][2] == 300.0
    bad = w.status()["rejected_files"]
    assert len(bad) == 1 and "garbage_201505151905.gif" in bad[0]["reason"]
    # refused from its header: bytes 6-9 (" not") read as a 28192 x 29807 logical screen
    assert "'GIF logical screen' declares 29807 x 28192 pixels" in bad[0]["reason"]


@pytest.mark.shared_data
@pytest.mark.parametrize("folder,pattern,source,last", SOURCES, ids=[s[2] for s in SOURCES])
def test_cut_native_copy_refused_as_truncated(shared_data, tmp_path, folder, pattern, source, last):
    """A copy still in progress (half the bytes) is refused from its header, naming it."""
    src = _frames(shared_data, folder, pattern, 1)[0]
    cut = tmp_path / src.name
    cut.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    dem = Dem(np.zeros((4, 4), np.float32), 50.0, Affine(50, 0, 0, 0, -50, 0), "EPSG:3035", "x")
    with pytest.raises(InputError, match=rf"^{src.name}: truncated"):
        read_drop(cut, dem, 300.0)
