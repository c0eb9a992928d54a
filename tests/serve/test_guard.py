"""Hostile uploads: decompression bombs, truncated NetCDF, non-real dtypes, server paths
in messages. Bombs are refused from their headers, before decoding; a subprocess
measures the peak memory they cost against a valid request for the same DEM."""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pytest

from floodcast.errors import InputError
from floodcast.serve.inputs import MAX_FRAMES, from_bytes, read_path
from floodcast.serve.watch_inputs import NATIVE_ENDINGS, read_drop

from ..io.radar_bombs import (
    FMI_NAME,
    MCH_NAME,
    OPERA_NAME,
    gif_bomb,
    grib2_file,
    grib2_message,
    odim_bomb,
    pgm_gz_bomb,
)
from .bombs import netcdf3_file, netcdf4_bomb, npz_bomb, tif_bomb
from .conftest import SHAPE, npz_bytes, storm, valley_dem


def test_bomb_headers_refused_before_decoding(tmp_path):
    dem = valley_dem()
    cases = {
        "npz": npz_bomb(tmp_path / "b.npz", (1, 4096, 4096)),
        "tif": tif_bomb(tmp_path / "b.tif", 4096),
        "nc4": netcdf4_bomb(tmp_path / "b.nc", (1, 4096, 4096)),
    }
    for kind, path in cases.items():
        assert path.stat().st_size < 1_000_000, kind  # within the upload limit
        with pytest.raises(InputError, match=r"b\.(npz|tif|nc).*(4096 x 4096|declares)"):
            read_path(path, dem, None, 300.0)
    # too many frames, even on the DEM grid
    many = npz_bomb(tmp_path / "frames.npz", (MAX_FRAMES + 1, *SHAPE))
    with pytest.raises(InputError, match=f"{MAX_FRAMES + 1} frames"):
        read_path(many, dem, None, 300.0)


def _rss_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))


def peak_growth(fn) -> tuple[object, int]:
    """``fn()``'s result and how far it raised this process's peak RSS (bytes): the peak
    is reset to the current RSS first (Linux ``/proc/self/clear_refs``)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _rss_kb("VmRSS")
    out = fn()
    return out, (_rss_kb("VmHWM") - base) * 1024


def _native_bombs(folder) -> list:
    """One per native kind, each named as its source's files are (so it is read as one)."""
    return [
        pgm_gz_bomb(folder / FMI_NAME),  # 100000 x 100000 bytes declared
        gif_bomb(folder / MCH_NAME),  # 65535 x 65535
        odim_bomb(folder / OPERA_NAME),  # 100000 x 100000 float64
        grib2_file(folder / "MRMS_bomb_20240601-120000.grib2", grib2_message(60000, 60000)),
    ]


def test_native_radar_bombs_refused_before_the_importer(tmp_path, monkeypatch):
    from floodcast.io.radar_sources import RadarSource

    def importer(*a, **k):
        raise AssertionError("the importer was reached")

    # read_radar checks the header (io.radar_pysteps), then asks for the importer
    monkeypatch.setattr(RadarSource, "load_importer", lambda self: importer)
    for path in _native_bombs(tmp_path):
        with pytest.raises(InputError, match=rf"^{path.name}: '.+' declares \d+ x \d+ pixels"):
            read_drop(path, valley_dem(), 300.0)


def _parse(path, dem):
    try:
        if path.name.endswith(NATIVE_ENDINGS):
            read_drop(path, dem, 300.0)  # serve --watch: native radar
        else:
            read_path(path, dem, None, 300.0)
        return "accepted"
    except InputError as exc:
        return str(exc)


@pytest.mark.skipif(
    not os.access("/proc/self/clear_refs", os.W_OK),
    reason="needs Linux /proc/self/clear_refs to reset the peak RSS",
)
def test_bomb_peak_memory_within_10x_valid_request(tmp_path):
    """Target of issue 21: no upload raises peak RSS by more than ~10x the decoded size
    of a valid request for the DEM (the largest: MAX_FRAMES frames on the DEM grid)."""
    dem = valley_dem()
    small, big = tmp_path / "small.npz", tmp_path / "big.npz"
    small.write_bytes(npz_bytes(storm(3)))
    big.write_bytes(npz_bytes(np.zeros((MAX_FRAMES, *SHAPE), np.float32)))
    bombs = [
        npz_bomb(tmp_path / "bomb.npz", (1, 4096, 4096)),  # 67 MB each decoded
        tif_bomb(tmp_path / "bomb.tif", 4096),
        netcdf4_bomb(tmp_path / "bomb.nc", (1, 4096, 4096)),
        *_native_bombs(tmp_path),  # GBs declared: refused from the header
    ]
    for p in (small, *bombs):  # warm-up: imports and first-call caches
        _parse(p, dem)
    decoded = MAX_FRAMES * SHAPE[0] * SHAPE[1] * 4
    msg, _ = peak_growth(lambda: _parse(big, dem))
    assert msg == "accepted", msg
    for p in bombs:
        msg, growth = peak_growth(lambda p=p: _parse(p, dem))
        assert msg != "accepted", p.name
        assert growth <= 10 * decoded, (p.name, growth / 1e6, msg)

    def together():
        ts = [threading.Thread(target=_parse, args=(p, dem)) for p in bombs * 2]
        [t.start() for t in ts]
        [t.join() for t in ts]

    _, growth = peak_growth(together)
    assert growth <= 10 * decoded, growth / 1e6


def test_truncated_netcdf3_refused_complete_accepted(tmp_path):
    dem = valley_dem()
    rain = storm(4)
    for fmt in ("NETCDF3_CLASSIC", "NETCDF3_64BIT_OFFSET", "NETCDF3_64BIT_DATA"):
        for record in (True, False):
            path = netcdf3_file(tmp_path / f"r_{fmt}_{record}.nc", rain, fmt, record)
            got = read_path(path, dem, None, 300.0)  # complete: read, same values
            np.testing.assert_allclose(got.frames, rain, rtol=1e-6)
            data = path.read_bytes()
            for frac in (0.5, 0.999):
                cut = tmp_path / "cut.nc"
                cut.write_bytes(data[: int(len(data) * frac)])
                with pytest.raises(InputError, match="truncated|damaged"):
                    read_path(cut, dem, None, 300.0)


def test_scipy_written_netcdf3_accepted(tmp_path):
    """Files written by another writer (scipy, record dimension, padding) still pass."""
    from scipy.io import netcdf_file

    dem, rain = valley_dem(), storm(3)
    path = tmp_path / "scipy.nc"
    with netcdf_file(path, "w") as f:
        f.createDimension("time", None)
        f.createDimension("y", SHAPE[0])
        f.createDimension("x", SHAPE[1])
        t = f.createVariable("time", "f8", ("time",))
        t.units = b"s"
        v = f.createVariable("rain", "f4", ("time", "y", "x"))
        v.units = b"mm/h"
        t[:] = np.arange(3) * 300.0
        v[:] = rain
    np.testing.assert_allclose(read_path(path, dem, None, 300.0).frames, rain, rtol=1e-6)


@pytest.mark.parametrize(
    "rain",
    [np.full((3, *SHAPE), "1.0"), np.ones((3, *SHAPE), complex), np.ones((3, *SHAPE), bool)],
    ids=["str", "complex", "bool"],
)
def test_non_real_npz_rain_refused(rain):
    with pytest.raises(InputError, match="real numbers"):
        from_bytes(npz_bytes(rain), valley_dem(), None, 300.0)


@pytest.mark.parametrize(
    "data",
    [
        b"CDF\x01" + bytes(40),
        b"\x89HDF\r\n\x1a\n" + bytes(64),
        b"PK\x03\x04" + bytes(64),
        b"II*\x00" + bytes(64),
    ],
    ids=["nc3", "hdf5", "zip", "tif"],
)
def test_errors_do_not_expose_server_paths(data):
    with pytest.raises(InputError) as err:
        from_bytes(data, valley_dem(), None, 300.0)
    msg = str(err.value)
    assert "floodcast-upload-" not in msg and "/tmp" not in msg, msg
    assert msg.startswith("upload"), msg


def test_parsing_is_bounded_by_slots(monkeypatch):
    """With one slot, two parses never run at once."""
    from floodcast.serve import guard, inputs

    busy, most = [0], [0]
    lock = threading.Lock()

    def slow(path, dem):
        with lock:
            busy[0] += 1
            most[0] = max(most[0], busy[0])
        time.sleep(0.2)
        with lock:
            busy[0] -= 1
        return storm(3), None, []

    monkeypatch.setattr(inputs, "_read_rain_file", slow)
    guard.set_parse_slots(1)
    try:
        data = npz_bytes(storm(3))
        ts = [
            threading.Thread(target=from_bytes, args=(data, valley_dem(), None, 300.0))
            for _ in range(3)
        ]
        [t.start() for t in ts]
        [t.join() for t in ts]
    finally:
        guard.set_parse_slots(2)
    assert most[0] == 1


def test_empty_file_reported(tmp_path):
    (tmp_path / "e.nc").write_bytes(b"")
    with pytest.raises(InputError, match="0 bytes"):
        read_path(tmp_path / "e.nc", valley_dem(), None, 300.0)
