"""KNMI HDF5 and MRMS GRIB2 radar through pysteps' importers, on small files the tests write
in each source's own layout (no such files in ../shared/data)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from floodcast.errors import InputError
from floodcast.io.radar import read_radar

# KNMI's own projection string: ellipsoid in km, as the grid (pysteps passes it on)
KNMI_PROJ = "+proj=stere +lat_0=90 +lon_0=0.0 +lat_ts=60.0 +a=6378.137 +b=6356.752 +x_0=0 +y_0=0"


def _knmi_file(path, acc_hundredths_mm: np.ndarray) -> None:
    """The layout pysteps' import_knmi_hdf5 reads: image1/image_data (ACRR, 0.01 mm, 65535
    = no data) and the 'geographic' group of the NL25 grid (1 km cells, row offset 3650)."""
    import h5py

    ny, nx = acc_hundredths_mm.shape
    with h5py.File(path, "w") as f:
        f.create_group("image1").create_dataset("image_data", data=acc_hundredths_mm)
        g = f.create_group("geographic")
        for key, value in {
            "geo_column_offset": 0.0,
            "geo_row_offset": 3650.0,
            "geo_pixel_size_x": 1.0,
            "geo_pixel_size_y": -1.0,  # rows run north to south
        }.items():
            g.attrs[key] = np.array([value], np.float32)
        g.attrs["geo_number_columns"] = np.array([nx], np.int32)
        g.attrs["geo_number_rows"] = np.array([ny], np.int32)
        g.attrs["geo_dim_pixel"] = np.bytes_(b"KM,KM")  # fixed-length, as KNMI writes them
        mp = g.create_group("map_projection")
        mp.attrs["projection_proj4_params"] = np.bytes_(KNMI_PROJ.encode())


def test_knmi_hdf5_rates_grid_and_corner(tmp_path):
    from pyproj import Transformer

    acc = (np.arange(6 * 8).reshape(6, 8) * 10).astype(np.uint16)
    acc[0, 0] = 65535  # no data
    files = [tmp_path / f"RAD_NL25_RAP_5min_2024060112{m:02d}.h5" for m in (0, 5, 10)]
    for f in files:
        _knmi_file(f, acc)
    seq = read_radar(tmp_path, "knmi")
    assert seq.rain_mmh.shape == (3, 6, 8) and seq.interval_s == 300.0
    # hand calculation: 10 hundredths of a mm in 5 min = 0.1 mm / (1/12 h) = 1.2 mm/h
    assert np.isnan(seq.rain_mmh[0, 0, 0])
    assert seq.rain_mmh[0, 0, 1] == pytest.approx(1.2) and seq.rain_mmh[2, 1, 0] == pytest.approx(
        9.6
    )
    assert seq.transform.a == 1000.0 and seq.transform.f == -3_650_000.0  # km -> m
    # the grid's north-west corner is KNMI's documented 55.974 N, 0.000 E: the CRS is in
    # metres like the transform (the file's km ellipsoid made PROJ refuse the CRS)
    lon, lat = Transformer.from_crs(seq.crs, "EPSG:4326", always_xy=True).transform(
        seq.transform.c, seq.transform.f
    )
    assert lon == pytest.approx(0.0, abs=1e-9) and lat == pytest.approx(55.974, abs=1e-3)


needs_pygrib = pytest.mark.skipif(
    importlib.util.find_spec("pygrib") is None,
    reason="MRMS GRIB2 needs pygrib (pip install 'floodcast[gis]'); not installed",
)


def _mrms_file(path, mmh: np.ndarray) -> None:
    """A GRIB2 message in MRMS's layout: 0.01 deg lat/lon cells, first point the north-west
    one, rows north to south, -3 = no coverage (GDAL writes it, pygrib sets the scan)."""
    import pygrib
    import rasterio
    from rasterio.transform import from_origin

    ny, nx = mmh.shape
    gdal_copy = path.with_suffix(".gdal.grib2")
    with rasterio.open(
        gdal_copy, "w", driver="GRIB", height=ny, width=nx, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(-100.0, 40.0, 0.01, 0.01),
    ) as ds:  # fmt: skip
        ds.write(mmh.astype(np.float32), 1)
    with pygrib.open(str(gdal_copy)) as grbs:
        msg = grbs.read(1)[0]
    msg["jScansPositively"] = 0  # GDAL writes south to north; MRMS north to south
    msg["latitudeOfFirstGridPointInDegrees"] = 40.0 - 0.005
    msg["latitudeOfLastGridPointInDegrees"] = 40.0 - 0.005 - 0.01 * (ny - 1)
    msg.values = mmh
    path.write_bytes(msg.tostring())
    gdal_copy.unlink()


@needs_pygrib
def test_mrms_grib_block_means_and_grid(tmp_path):
    z = np.arange(8 * 12, dtype=np.float64).reshape(8, 12) / 10
    z[0, 0] = -3.0  # MRMS "no coverage"
    for stamp, scale in (("120000", 1.0), ("120200", 2.0)):
        zz = np.where(z == -3.0, -3.0, z * scale)
        _mrms_file(tmp_path / f"PrecipRate_00.00_20240601-{stamp}.grib2", zz)
    seq = read_radar(tmp_path, "mrms")
    # pysteps' default 4 x 4 block mean (about 4 km): 8 x 12 cells -> 2 x 3
    assert seq.rain_mmh.shape == (2, 2, 3) and seq.interval_s == 120.0
    assert np.isnan(seq.rain_mmh[0, 0, 0])  # a block holding "no coverage"
    # hand calculation: rows 0-3, cols 4-7 of (12 r + c) / 10: (12 * 1.5 + 5.5) / 10
    assert seq.rain_mmh[0, 0, 1] == pytest.approx(2.35, abs=1e-5)
    assert seq.rain_mmh[0, 1, 0] == pytest.approx((12 * 5.5 + 1.5) / 10, abs=1e-5)
    assert seq.rain_mmh[1, 0, 1] == pytest.approx(4.7, abs=1e-5)
    assert (seq.transform.c, seq.transform.f, seq.transform.a) == pytest.approx(
        (-100.0, 40.0, 0.04)
    )


def test_missing_grib_package_names_the_fix(tmp_path, monkeypatch):
    import pysteps.io.importers as importers

    monkeypatch.setattr(importers, "PYGRIB_IMPORTED", False)  # as without pygrib
    (tmp_path / "PrecipRate_00.00_20240601-120000.grib2").write_bytes(b"GRIB")
    with pytest.raises(InputError, match=r"needs a package .*pygrib.*floodcast\[gis\]"):
        read_radar(tmp_path, "mrms")
