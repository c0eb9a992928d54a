"""What a native radar file declares, read from its header before an importer decodes it.

pysteps' importers decode a whole frame at once, so a few kilobytes declaring a huge
grid (a ``.pgm.gz`` of 100000 x 100000 pixels, a GIF with a 65535-pixel screen, an ODIM
HDF5 with a never-written chunked dataset, a GRIB2 grid of 60000 x 60000 constant
values) would exhaust memory, and a file cut short could crash the importer.
:func:`check_radar_header` reads what the file declares, by its first bytes (not its
name), and refuses with an :class:`~floodcast.errors.InputError` naming the file:

* PGM (``P5``/``P2``, also gzip'd): width, height, maxval; the pixel data must be there;
* GIF: the logical screen and every image descriptor; the blocks must run to the end;
* HDF5 (ODIM, KNMI, and NetCDF-4 such as BoM's): every dataset's shape and dtype, by
  h5py (metadata only; thread-safe by its own lock, and unlike netCDF4 it says when a file
  is shorter than its superblock records); NetCDF-3: the size its header needs
  (:func:`~floodcast.io.integrity.check_netcdf3_complete`);
* GRIB2 (also gzip'd): each message's section 3 (Nj x Ni, or the number of points);
  every message must end with ``7777``;
* TIFF: width x height x bands (rasterio, tags only: a cut copy is not caught here, its
  read then fails in the importer); DWD RADOLAN: the ``GP`` rows x columns;
* anything else (e.g. METRANET): only the file size is bounded.

Bounds (one home, :mod:`floodcast.defaults`): each frame at most
``RADAR_MAX_FRAME_PIXELS`` and ``RADAR_MAX_FRAME_SIDE`` per side; all arrays of a file
together at most ``RADAR_MAX_DECLARED_BYTES``.
"""

from __future__ import annotations

import gzip
import re
import struct
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from floodcast.defaults import (
    RADAR_MAX_DECLARED_BYTES,
    RADAR_MAX_FRAME_PIXELS,
    RADAR_MAX_FRAME_SIDE,
)
from floodcast.errors import InputError
from floodcast.io.integrity import (
    Declared,
    check_netcdf3_complete,
    tiff_declared,
)

_GZIP, _HDF5 = b"\x1f\x8b", b"\x89HDF\r\n\x1a\n"
_TIFF = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_PGM_HEAD = 16384  # FMI's PGM header (comment lines of metadata) is ~1 KB
_CHUNK = 1 << 16
# GRIB2 grid templates whose section 3 holds Ni (Nx) at octets 31-34, Nj (Ny) at 35-38:
# lat/lon (0-3), Mercator (10), polar stereographic (20), Lambert (30, 31), Gaussian (40-43)
_GRIB_NI_NJ = {0, 1, 2, 3, 10, 20, 30, 31, 40, 41, 42, 43}


class RadarHeaderError(InputError):
    """A native radar file refused from its header (callers tell it from importer errors)."""


class _Cut(Exception):
    """The file ends inside a structure its header announced."""


def is_gzip(path: Path) -> bool:
    """Whether ``path`` is gzip'd, by its magic bytes (not its name)."""
    with open(path, "rb") as f:
        return f.read(2) == _GZIP


def _open(path: Path) -> BinaryIO:
    """The file, or its decompressed stream if it is gzip'd (read lazily, never whole)."""
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")  # type: ignore[return-value]  # noqa: SIM115


def _take(f: BinaryIO, n: int) -> bytes:
    b = f.read(n)
    if len(b) < n:
        raise _Cut
    return b


def _skip(f: BinaryIO, n: int) -> None:
    """Skip ``n`` bytes; on a gzip stream this inflates in chunks (bounded memory)."""
    while n > 0:
        got = len(f.read(min(n, _CHUNK)))
        if not got:
            raise _Cut
        n -= got


def pgm_declared(path: Path) -> list[Declared]:
    """Width x height of a (gzip'd) PGM, checking its pixel data is all there."""
    with _open(path) as f:
        head = f.read(_PGM_HEAD)
        # tokens: magic, width, height, maxval; '#' comments run to the end of a line
        tokens, pos = [], 0
        rx = re.compile(rb"\s*(?:#[^\n]*\n\s*)*(\S+)")
        while len(tokens) < 4:
            m = rx.match(head, pos)
            if m is None or m.end() >= len(head):
                if len(head) == _PGM_HEAD:
                    raise ValueError(f"PGM header longer than {_PGM_HEAD} bytes")
                raise _Cut
            tokens.append(m.group(1))
            pos = m.end()
        magic, *nums = tokens
        if magic not in (b"P5", b"P2") or not all(n.isdigit() for n in nums):
            raise ValueError(f"not a PGM header ({head[:16]!r})")
        w, h, maxval = (int(n) for n in nums)
        dtype = np.dtype("u1" if maxval < 256 else ">u2")
        out = [Declared("PGM image", (h, w), dtype)]
        _check_arrays(out, path)  # before reading on: the data would be this big
        if magic == b"P5":  # binary: one whitespace byte, then exactly w*h samples
            _skip(f, pos + 1 + w * h * dtype.itemsize - len(head))
    return out


def gif_declared(path: Path) -> list[Declared]:
    """The logical screen and each image of a GIF, walking its blocks to the trailer."""
    with open(path, "rb") as f:
        head = _take(f, 13)
        if head[:6] not in (b"GIF87a", b"GIF89a"):
            raise ValueError("not a GIF header")
        w, h, flags = struct.unpack("<HHB", head[6:11])
        out = [Declared("GIF logical screen", (h, w), np.dtype("u1"))]
        _check_arrays(out, path)
        if flags & 0x80:
            _take(f, 3 << ((flags & 7) + 1))  # global colour table
        while True:
            b = f.read(1)
            if b == b";" or (not b and len(out) > 1):
                break  # the trailer (or none after complete images: PIL reads those)
            if b == b"!":  # extension: label, then data sub-blocks
                _take(f, 1)
            elif b == b",":
                _, _, iw, ih, fl = struct.unpack("<HHHHB", _take(f, 9))
                out.append(Declared(f"GIF image {len(out)}", (ih, iw), np.dtype("u1")))
                _check_arrays(out, path)
                if fl & 0x80:
                    _take(f, 3 << ((fl & 7) + 1))  # local colour table
                _take(f, 1)  # LZW minimum code size
            elif not b:
                raise _Cut
            else:
                raise ValueError(f"unknown GIF block {b!r} at byte {f.tell() - 1}")
            while n := _take(f, 1)[0]:  # sub-blocks up to the 0 terminator
                _take(f, n)
    return out


def hdf5_declared(path: Path) -> list[Declared]:
    """Shape and dtype of every dataset of an HDF5 file (h5py: metadata only, no chunk)."""
    import h5py

    out: list[Declared] = []

    def visit(name: str, obj) -> None:
        if isinstance(obj, h5py.Dataset) and obj.shape is not None:
            dt = obj.dtype if obj.dtype.kind != "O" else np.dtype(object)
            out.append(Declared(name, tuple(int(n) for n in obj.shape), dt))

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except OSError as exc:
        why = str(exc).replace(str(path), path.name)
        m = re.search(r"truncated file: (eof = \d+).*(stored_eof = \d+)", why)
        if m:  # HDF5 compares the file's size with the end its superblock records
            raise InputError(
                f"{path.name}: truncated HDF5 file ({m.group(1)} bytes, {m.group(2)}: a copy "
                "still in progress, or cut short?)"
            ) from None
        raise InputError(f"{path.name}: cannot read HDF5 file ({why})") from None
    return out


def grib2_declared(path: Path) -> list[Declared]:
    """The grid of every message of a (gzip'd) GRIB2 file, from section 3 (no data read)."""
    out: list[Declared] = []
    with _open(path) as f:
        while s0 := f.read(16):
            if len(s0) < 16 or s0[:4] != b"GRIB":
                if not s0.strip(b"\x00"):
                    break  # zero padding after the last message
                raise ValueError(f"message {len(out) + 1}: no 'GRIB' indicator")
            if s0[7] != 2:
                raise ValueError(f"GRIB edition {s0[7]}: only GRIB2 is read")
            total = struct.unpack(">Q", s0[8:16])[0]
            if total > RADAR_MAX_DECLARED_BYTES:
                raise InputError(
                    f"{path.name}: GRIB2 message {len(out) + 1} declares {total} bytes, more "
                    f"than the {RADAR_MAX_DECLARED_BYTES} a radar file may declare"
                )
            pos, shape = 16, None
            while pos < total - 4:
                length, number = struct.unpack(">IB", _take(f, 5))
                if length < 5 or pos + length > total - 4:
                    raise ValueError(f"section {number} of {length} bytes overruns its message")
                if number == 3:
                    body = _take(f, min(length - 5, 64))
                    points, template = struct.unpack(">I", body[1:5])[0], body[7] << 8 | body[8]
                    shape = (points,)
                    if template in _GRIB_NI_NJ and len(body) >= 33:
                        ni, nj = struct.unpack(">II", body[25:33])
                        shape = (nj, ni) if ni * nj >= points else shape
                    out.append(Declared(f"GRIB2 message {len(out) + 1}", shape, np.dtype("f8")))
                    _check_arrays(out, path)
                    _skip(f, length - 5 - len(body))
                else:
                    _skip(f, length - 5)
                pos += length
            if _take(f, 4) != b"7777":
                raise ValueError(f"message {len(out) or 1} does not end with '7777'")
            if shape is None:
                raise ValueError("a message without a grid (section 3)")
    if not out:
        raise _Cut
    return out


def radolan_declared(path: Path) -> list[Declared]:
    """Rows x columns of a DWD RADOLAN binary product (``GP`` field of its text header)."""
    with open(path, "rb") as f:
        head = f.read(1024)
    end = head.find(b"\x03")
    m = re.search(rb"GP\s*(\d+)\s*x\s*(\d+)", head[: max(end, 0)])
    if m is None:
        raise ValueError("no RADOLAN 'GP rows x columns' header")
    return [Declared("RADOLAN grid", (int(m.group(1)), int(m.group(2))), np.dtype("<u2"))]


def _reader(path: Path, head: bytes) -> tuple[str, Callable[[Path], list[Declared]]]:
    """The kind of file ``head`` (its first bytes, gzip inflated) starts, and its reader."""
    if head.startswith((b"P5", b"P2")):
        return "PGM", pgm_declared
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF", gif_declared
    if head.startswith(_HDF5):  # ODIM, KNMI and NetCDF-4 (BoM) alike
        return "HDF5", hdf5_declared
    if head.startswith(b"CDF"):
        return "NetCDF-3", lambda p: check_netcdf3_complete(p).variables
    if head.startswith(b"GRIB"):
        return "GRIB2", grib2_declared
    if head.startswith(_TIFF):
        return "TIFF", tiff_declared
    if re.match(rb"[A-Z]{2}\d", head) and b"\x03" in head[:1024] and b"GP" in head[:1024]:
        return "RADOLAN", radolan_declared
    return "", lambda p: []


def check_radar_header(path: Path) -> list[Declared]:
    """What a native radar file declares; :class:`RadarHeaderError` (an InputError) naming
    the file if it is empty, cut short, damaged, or declares a frame or arrays beyond the
    bounds. Reads headers only."""
    try:
        return _check(path)
    except InputError as exc:
        raise RadarHeaderError(str(exc)) from None


def _check(path: Path) -> list[Declared]:
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path.name}: empty file (0 bytes)")
    try:
        with _open(path) as f:
            head = f.read(1024)
    except EOFError:
        raise InputError(f"{path.name}: truncated gzip file ({size} bytes)") from None
    except OSError as exc:
        raise InputError(f"{path.name}: damaged gzip file ({exc})") from None
    kind, read = _reader(path, head)
    if not kind:  # no header floodcast can read (e.g. METRANET): bound the file size
        if size > RADAR_MAX_DECLARED_BYTES:
            raise InputError(
                f"{path.name}: {size} bytes, more than the {RADAR_MAX_DECLARED_BYTES} a "
                "radar file may have"
            )
        return []
    try:
        arrays = read(path)
    except InputError:
        raise
    except (_Cut, EOFError, struct.error):
        raise InputError(
            f"{path.name}: truncated {kind} file ({size} bytes end inside what its header "
            "declares: a copy still in progress, or cut short?)"
        ) from None
    except (ValueError, OSError, IndexError) as exc:
        raise InputError(f"{path.name}: damaged {kind} file ({exc})") from None
    _check_arrays(arrays, path, kind)
    return arrays


def _check_arrays(arrays: list[Declared], path: Path, kind: str = "") -> None:
    for a in arrays:
        ny, nx = (1, *a.shape)[-2:] if a.shape else (1, 1)
        side = max(ny, nx) if len(a.shape) >= 2 else 0  # 1-D: a list of points
        if ny * nx > RADAR_MAX_FRAME_PIXELS or side > RADAR_MAX_FRAME_SIDE:
            raise InputError(
                f"{path.name}: {a.name!r} declares {ny} x {nx} pixels (y, x); a radar frame "
                f"may have at most {RADAR_MAX_FRAME_PIXELS:,} pixels and "
                f"{RADAR_MAX_FRAME_SIDE} per side"
            )
    total = sum(a.nbytes for a in arrays)
    if total > RADAR_MAX_DECLARED_BYTES:
        big = max(arrays, key=lambda a: a.nbytes)
        raise InputError(
            f"{path.name}: {kind + ' file ' if kind else ''}declares {total / 1e6:.0f} MB of "
            f"arrays (largest {big.name!r} {big.shape} {big.dtype}), more than the "
            f"{RADAR_MAX_DECLARED_BYTES / 1e6:.0f} MB a radar file may declare"
        )
