"""What a file declares, read from its header without decoding its data.

Used before a file is decoded, so that a small file declaring a huge array (a
decompression bomb) or a file cut short (a truncated copy) is refused up front:

* :func:`npz_headers`: the shape and dtype of every array of an npz (only the first
  bytes of each zip member are inflated);
* :func:`netcdf3_layout`: dimensions, variables and the size a NetCDF-3 file
  (classic, 64-bit offset or CDF-5) must have according to its header;
* :func:`netcdf4_shapes`: shapes and dtypes of the variables of a NetCDF-4 / HDF5 file
  (netCDF4 opens the metadata only; no chunk is read);
* :func:`tiff_declared`: bands x height x width and dtype of a (Geo)TIFF (rasterio tags).

Native radar formats (PGM, GIF, ODIM HDF5, GRIB2) are in :mod:`floodcast.io.radar_headers`.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from floodcast.errors import InputError

# NetCDF-3 external types: code -> (numpy dtype, bytes)
_NC_TYPES = {
    1: "i1",
    2: "S1",
    3: ">i2",
    4: ">i4",
    5: ">f4",
    6: ">f8",
    7: "u1",
    8: ">u2",
    9: ">u4",
    10: ">i8",
    11: ">u8",
}
_NC_DIMENSION, _NC_VARIABLE, _NC_ATTRIBUTE = 0x0A, 0x0B, 0x0C
_STREAMING = 0xFFFFFFFF


@dataclass
class Declared:
    """One array as its file's header declares it."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=object)) * self.dtype.itemsize


@dataclass
class Netcdf3Layout:
    """The header of a NetCDF-3 file: its arrays and the size its data needs."""

    version: int
    numrecs: int | None  # None when streaming (unknown until read)
    variables: list[Declared] = field(default_factory=list)
    required_bytes: int = 0  # the file must be at least this long


def npz_headers(path: Path) -> list[Declared]:
    """Shape and dtype of each ``.npy`` member of an npz, without inflating its data."""
    out = []
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                with zf.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                out.append(
                    Declared(info.filename.removesuffix(".npy"), tuple(shape), np.dtype(dtype))
                )
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError) as exc:
        raise InputError(f"{path.name}: not a readable npz file ({exc})") from None
    return out


class _Reader:
    def __init__(self, data: bytes, wide: bool):
        self.data, self.pos, self.wide = data, 0, wide

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise EOFError
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def size(self) -> int:  # NON_NEG: 4 bytes, 8 in CDF-5
        return struct.unpack(">Q", self.take(8))[0] if self.wide else self.u32()

    def name(self) -> str:
        n = self.size()
        s = self.take(n)
        self.take(-n % 4)
        return s.decode("utf-8", "replace")

    def skip_attrs(self) -> None:
        tag, n = self.u32(), self.size()
        if tag not in (0, _NC_ATTRIBUTE):
            raise ValueError(f"bad attribute list tag {tag}")
        for _ in range(n):
            self.name()
            t = self.u32()
            nel = self.size()
            nbytes = nel * np.dtype(_NC_TYPES.get(t, "u1")).itemsize
            self.take(nbytes + (-nbytes % 4))


def netcdf3_layout(path: Path, header_bytes: int = 1 << 20) -> Netcdf3Layout:
    """Parse a NetCDF-3 header (first ``header_bytes`` of the file) into a layout."""
    with open(path, "rb") as f:
        data = f.read(header_bytes)
    if data[:3] != b"CDF" or data[3:4] not in (b"\x01", b"\x02", b"\x05"):
        raise InputError(f"{path.name}: not a NetCDF-3 file")
    version = data[3]
    r = _Reader(data, wide=version == 5)
    r.pos = 4
    try:
        numrecs = r.size()
        streaming = numrecs == (_STREAMING if version != 5 else (1 << 64) - 1)
        tag, ndims = r.u32(), r.size()
        if tag not in (0, _NC_DIMENSION):
            raise ValueError(f"bad dimension list tag {tag}")
        dims = []
        for _ in range(ndims):
            r.name()
            dims.append(r.size())  # 0 = the record (unlimited) dimension
        r.skip_attrs()
        tag, nvars = r.u32(), r.size()
        if tag not in (0, _NC_VARIABLE):
            raise ValueError(f"bad variable list tag {tag}")
        layout = Netcdf3Layout(version, None if streaming else numrecs)
        record_vars: list[tuple[int, int]] = []  # (begin, bytes per record)
        fixed_end = 0
        for _ in range(nvars):
            name = r.name()
            ids = [r.size() for _ in range(r.size())]
            r.skip_attrs()
            t = r.u32()
            if t not in _NC_TYPES:
                raise ValueError(f"variable {name!r}: unknown type {t}")
            r.size()  # vsize (capped for big variables: recomputed below)
            begin = struct.unpack(">Q" if version != 1 else ">I", r.take(8 if version != 1 else 4))[
                0
            ]
            lens = [dims[i] for i in ids]
            dtype = np.dtype(_NC_TYPES[t])
            is_record = bool(lens) and lens[0] == 0
            inner = int(np.prod(lens[1:] if is_record else lens, dtype=object)) * dtype.itemsize
            shape = (
                tuple([numrecs if not streaming else 0] + lens[1:]) if is_record else tuple(lens)
            )
            layout.variables.append(Declared(name, shape, dtype))
            if is_record:
                record_vars.append((begin, inner))
            else:
                fixed_end = max(fixed_end, begin + inner)
    except (EOFError, IndexError, ValueError, struct.error) as exc:
        raise InputError(f"{path.name}: damaged NetCDF-3 header ({exc or 'cut short'})") from None
    need = fixed_end
    if record_vars and layout.numrecs:
        # records interleave the record variables; each padded to 4 bytes unless alone
        recsize = (
            record_vars[0][1]
            if len(record_vars) == 1
            else sum(b + (-b % 4) for _, b in record_vars)
        )
        need = max(
            need, max(begin + (layout.numrecs - 1) * recsize + b for begin, b in record_vars)
        )
    layout.required_bytes = need
    return layout


def check_netcdf3_complete(path: Path) -> Netcdf3Layout:
    """The layout of a NetCDF-3 file; InputError if the file is shorter than its header says."""
    layout = netcdf3_layout(path)
    size = path.stat().st_size
    if size < layout.required_bytes:
        raise InputError(
            f"{path.name}: truncated NetCDF file: {size} bytes but its header "
            f"declares data up to byte {layout.required_bytes} (a copy still in "
            "progress, or cut short?)"
        )
    return layout


def netcdf4_shapes(path: Path) -> list[Declared]:
    """Shapes and dtypes of every variable of a NetCDF-4 / HDF5 file (metadata only)."""
    import netCDF4

    from floodcast.io.locks import NETCDF_LOCK

    out = []
    try:
        with NETCDF_LOCK, netCDF4.Dataset(path) as ds:
            groups = [ds]
            while groups:
                g = groups.pop()
                groups.extend(g.groups.values())
                for name, v in g.variables.items():
                    dt = v.dtype if isinstance(v.dtype, np.dtype) else np.dtype(object)
                    out.append(Declared(name, tuple(int(n) for n in v.shape), dt))
    except OSError as exc:
        why = getattr(exc, "strerror", None) or type(exc).__name__  # not exc: it names the path
        raise InputError(f"{path.name}: cannot read NetCDF-4 file ({why})") from None
    return out


def tiff_declared(path: Path) -> list[Declared]:
    """Bands x height x width of a (Geo)TIFF, read by rasterio from its tags."""
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as ds:
            kinds = {np.dtype(d).kind for d in ds.dtypes}
            dtype = np.dtype("complex64") if "c" in kinds else np.dtype(ds.dtypes[0])
            return [Declared("bands", (ds.count, ds.height, ds.width), dtype)]
    except RasterioIOError as exc:
        why = str(exc).replace(str(path), path.name)
        raise InputError(f"{path.name}: cannot read GeoTIFF ({why})") from None
