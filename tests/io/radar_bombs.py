"""Hostile native radar files: a few bytes on disk declaring frames far beyond any radar's."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

FMI_NAME = "201609281700_fmi.radar.composite.lowest_FIN_SUOMI1.pgm.gz"
MCH_NAME = "AQC151351900F_00005.801.gif"
OPERA_NAME = "T_PAAH21_C_EUOC_20180824194500.hdf"


def pgm_gz_bomb(path: Path, width: int = 100_000, height: int = 100_000) -> Path:
    """A gzip'd binary PGM: FMI-style comment lines, then a header declaring the size."""
    head = f"P5\n# obstime 201609281700\n# producttype CAPPI\n{width} {height}\n255\n"
    with gzip.open(path, "wb") as f:
        f.write(head.encode() + bytes(1 << 16))  # the first 64 KiB of zero pixels
    return path


def gif_bomb(path: Path, screen=(65535, 65535), image=None) -> Path:
    """A GIF89a with logical screen ``screen`` (w, h) and, if given, one image of ``image``
    (w, h) pixels; its LZW data holds the first 4 pixels (0) and an end code."""
    w, h = screen
    out = b"GIF89a" + struct.pack("<HHBBB", w, h, 0x80, 0, 0) + bytes(6)  # 2-colour table
    if image is not None:
        # min code size 2: clear = 4, end = 5, 3-bit codes; a clear before each pixel keeps
        # the code size at 3 bits (no table entry is ever added)
        bits = sum(c << (3 * i) for i, c in enumerate([4, 0, 4, 0, 4, 0, 4, 0, 5]))
        lzw = bits.to_bytes(4, "little")
        out += b"," + struct.pack("<HHHHB", 0, 0, *image, 0) + b"\x02" + bytes([len(lzw)])
        out += lzw + b"\x00"
    path.write_bytes(out + b";")
    return path


def odim_bomb(path: Path, shape=(100_000, 100_000)) -> Path:
    """An ODIM-like HDF5 (root ``what`` with ``date``) whose float64 ``dataset1/data1/data``
    is chunked and compressed and never written: a few KB declaring ``shape``."""
    import h5py

    with h5py.File(path, "w") as f:
        f.create_group("what").attrs.update({"date": b"20180824", "time": b"194500"})
        f.create_dataset(
            "dataset1/data1/data", shape=shape, dtype="f8", chunks=(256, 256), compression="gzip"
        )
    return path


def grib2_message(ni: int, nj: int, value: float = 1.5) -> bytes:
    """One GRIB2 message: a lat/lon grid (template 3.0) of ``nj`` x ``ni`` points, simple
    packing with 0 bits per value (every point is ``value``): 179 bytes for any size."""
    s1 = struct.pack(">IBHHBBBHBBBBBBB", 21, 1, 7, 0, 2, 0, 1, 2024, 6, 1, 12, 0, 0, 0, 1)
    s3 = struct.pack(">IBBIBBHBBIBIBI", 72, 3, 0, ni * nj, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0)
    s3 += struct.pack(">IIIIiIB", ni, nj, 0, 0xFFFFFFFF, 50_000_000, 0, 48)
    s3 += struct.pack(">iIIIB", 49_000_000, 1_000_000, 10_000, 10_000, 64)
    s4 = struct.pack(
        ">IBHHBBBBBHBBIBBIBBI", 34, 4, 0, 0, 1, 8, 2, 0, 0, 0, 0, 1, 0, 1, 0, 0, 255, 0, 0
    )
    s5 = struct.pack(">IBIHfhhBB", 21, 5, ni * nj, 0, value, 0, 0, 0, 0)
    body = s1 + s3 + s4 + s5 + struct.pack(">IBB", 6, 6, 255) + struct.pack(">IB", 5, 7)
    total = 16 + len(body) + 4
    return b"GRIB\x00\x00\x00\x02" + struct.pack(">Q", total) + body + b"7777"


def grib2_file(path: Path, *messages: bytes, gz: bool = False) -> Path:
    data = b"".join(messages)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path
