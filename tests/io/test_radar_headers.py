"""Native radar files are checked from their headers: bombs (tiny files declaring huge
frames), truncated and empty files are refused naming the file; real pysteps frames pass."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from floodcast.defaults import RADAR_MAX_FRAME_PIXELS, RADAR_MAX_FRAME_SIDE
from floodcast.errors import InputError
from floodcast.io import radar_headers
from floodcast.io.radar_headers import check_radar_header

from .radar_bombs import gif_bomb, grib2_file, grib2_message, odim_bomb, pgm_gz_bomb

BOMBS = {
    "pgm.gz": (lambda p: pgm_gz_bomb(p), "'PGM image' declares 100000 x 100000"),
    "gif": (lambda p: gif_bomb(p), "'GIF logical screen' declares 65535 x 65535"),
    "image.gif": (
        lambda p: gif_bomb(p, (640, 710), (60000, 30000)),
        "'GIF image 1' declares 30000 x 60000",
    ),
    "hdf": (lambda p: odim_bomb(p), "'dataset1/data1/data' declares 100000 x 100000"),
    "grib2": (
        lambda p: grib2_file(p, grib2_message(4, 3), grib2_message(60000, 60000)),
        "'GRIB2 message 2' declares 60000 x 60000",
    ),
    "grib2.gz": (
        lambda p: grib2_file(p, grib2_message(60000, 60000), gz=True),
        "'GRIB2 message 1' declares 60000 x 60000",
    ),
}


@pytest.mark.parametrize("ending", BOMBS)
def test_bombs_refused_from_headers(tmp_path, ending):
    make, declares = BOMBS[ending]
    path = make(tmp_path / f"bomb.{ending}")
    assert path.stat().st_size < 10_000  # a few KB declaring GBs
    with pytest.raises(InputError, match=rf"^bomb\.{ending}: {declares} pixels \(y, x\)"):
        check_radar_header(path)


def test_bound_admits_the_largest_real_products():
    # FMI GeoTIFF 7316 x 4963 (the largest pysteps reads) and MRMS 3500 x 7000
    assert RADAR_MAX_FRAME_PIXELS >= 7316 * 4963 and RADAR_MAX_FRAME_SIDE >= 7316
    assert RADAR_MAX_FRAME_PIXELS >= 3500 * 7000


def test_all_arrays_of_a_file_are_bounded_together(tmp_path):
    """Four 6000 x 6000 float64 datasets: each a valid frame (36 M pixels), 1152 MB in all."""
    import h5py

    with h5py.File(tmp_path / "many.h5", "w") as f:
        for i in range(4):
            f.create_dataset(f"d{i}", shape=(6000, 6000), dtype="f8", chunks=(500, 500))
    with pytest.raises(InputError, match=r"many\.h5: HDF5 file declares 1152 MB of arrays"):
        check_radar_header(tmp_path / "many.h5")


def test_small_synthetic_files_pass_and_match_their_readers(tmp_path):
    grib = grib2_file(tmp_path / "g.grib2", grib2_message(4, 3), grib2_message(5, 2, 2.0))
    assert [a.shape for a in check_radar_header(grib)] == [(3, 4), (2, 5)]
    gz = grib2_file(tmp_path / "g.grib2.gz", grib2_message(4, 3), gz=True)
    assert [a.shape for a in check_radar_header(gz)] == [(3, 4)]
    pygrib = pytest.importorskip("pygrib", reason="pygrib reads the GRIB2 builder's output")
    with pygrib.open(str(grib)) as g:  # the builder writes what a real GRIB2 reader reads
        assert [m.values.shape for m in g] == [(3, 4), (2, 5)]
    from PIL import Image

    gif = gif_bomb(tmp_path / "s.gif", (2, 2), (2, 2))
    assert [a.shape for a in check_radar_header(gif)] == [(2, 2), (2, 2)]
    assert np.array(Image.open(gif)).shape == (2, 2)
    pgm = tmp_path / "s.pgm.gz"
    pgm.write_bytes(gzip.compress(b"P5\n# c\n4 3\n255\n" + bytes(range(12))))
    assert check_radar_header(pgm)[0].shape == (3, 4)


def test_radolan_grid_from_its_text_header(tmp_path):
    head = b"RW250950100000100BY1620158VS 3SW   2.13.1PR E-01INT  60GP 900x 900MS 58<boo>\x03"
    (tmp_path / "raa01-rw").write_bytes(head + bytes(900 * 900 * 2))
    assert check_radar_header(tmp_path / "raa01-rw")[0].shape == (900, 900)
    (tmp_path / "bomb").write_bytes(head.replace(b"GP 900x 900", b"GP99999x99999"))
    with pytest.raises(InputError, match="'RADOLAN grid' declares 99999 x 99999"):
        check_radar_header(tmp_path / "bomb")


def test_unknown_formats_bounded_by_size(tmp_path, monkeypatch):
    (tmp_path / "x.bin").write_bytes(b"\x01\x02" * 600)
    assert check_radar_header(tmp_path / "x.bin") == []  # nothing to read: size only
    monkeypatch.setattr(radar_headers, "RADAR_MAX_DECLARED_BYTES", 1000)
    with pytest.raises(InputError, match=r"x\.bin: 1200 bytes, more than the 1000"):
        check_radar_header(tmp_path / "x.bin")


def _cut(src: bytes, path: Path, n: int) -> Path:
    path.write_bytes(src[:n])
    return path


def test_truncated_and_empty_synthetic_files(tmp_path):
    grib = grib2_message(4, 3)
    gif = gif_bomb(tmp_path / "s.gif", (2, 2), (2, 2)).read_bytes()
    pgm = b"P5\n4 3\n255\n" + bytes(12)
    for name, data, n in [
        ("g.grib2", grib, len(grib) - 2),  # '7777' cut
        ("g2.grib2", grib, 60),  # inside section 3
        ("s.gif", gif, len(gif) - 5),  # inside the image data
        ("s.pgm", pgm, len(pgm) - 1),  # one pixel short
        ("s.pgm.gz", gzip.compress(pgm), 20),  # the gzip stream cut
    ]:
        with pytest.raises(InputError, match=rf"^{name}: truncated"):
            check_radar_header(_cut(data, tmp_path / name, n))
    (tmp_path / "e.hdf").write_bytes(b"")
    with pytest.raises(InputError, match=r"e\.hdf: empty file \(0 bytes\)"):
        check_radar_header(tmp_path / "e.hdf")


# (folder under pysteps-data/radar, glob, shape of the first declared array)
REAL = [
    ("fmi/pgm", "*.pgm.gz", (1226, 760)),
    ("fmi/geotiff", "*.tif", (1, 7316, 4963)),
    ("mch", "*.gif", (640, 710)),
    ("OPERA", "*.hdf", (2200, 1900)),
    ("bom", "*.nc", (512, 512)),
]


def _real(shared: Path, folder: str, pattern: str) -> list[Path]:
    files = sorted((shared / "radar/pysteps-data/radar" / folder).rglob(pattern))
    if not files:
        pytest.skip(f"no {pattern} files under shared/data/radar/pysteps-data/radar/{folder}")
    return files


@pytest.mark.shared_data
@pytest.mark.parametrize("folder,pattern,shape", REAL, ids=[r[0] for r in REAL])
def test_real_frames_pass_and_cut_copies_are_refused(shared_data, tmp_path, folder, pattern, shape):
    files = _real(shared_data, folder, pattern)
    for f in files:
        assert check_radar_header(f)[0].shape == shape, f.name
    if folder == "fmi/geotiff":
        return  # TIFF tags only: a cut GeoTIFF fails in the reader (module docstring)
    src = files[-1].read_bytes()
    cut = _cut(src, tmp_path / files[-1].name, len(src) // 2)
    with pytest.raises(InputError, match=rf"^{files[-1].name}: truncated"):
        check_radar_header(cut)
