"""KNMI HDF5 and MRMS GRIB2 radar through pysteps' importers, on small files the tests write
in each source's own layout (no such files in ../shared/data); every file's header checked
before the importer (refused frames skipped with ``strict=False``); gzip'd MRMS GRIB2."""

from __future__ import annotations

import gzip
import importlib.util

import numpy as np
import pytest

from floodcast.errors import InputError
from floodcast.io import radar_pysteps
from floodcast.io.radar import read_radar

from .radar_bombs import grib2_file, grib2_message, odim_bomb

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
    # a well-formed GRIB2 message, so that the header check lets it through to the importer
    grib2_file(tmp_path / "PrecipRate_00.00_20240601-120000.grib2", grib2_message(4, 3))
    with pytest.raises(InputError, match=r"needs a package .*pygrib.*floodcast\[gis\]"):
        read_radar(tmp_path, "mrms")


def _knmi_frames(folder, minutes=(0, 5, 10, 15)) -> list:
    acc = np.full((6, 8), 10, np.uint16)  # 10 hundredths of a mm in 5 min: 1.2 mm/h
    files = [folder / f"RAD_NL25_RAP_5min_2024060112{m:02d}.h5" for m in minutes]
    for f in files:
        _knmi_file(f, acc)
    return files


def test_header_refusal_strict_and_skipped(tmp_path, monkeypatch):
    """A bomb, a cut copy and an empty file among KNMI frames: strict names the first one
    from its header before the importer runs; strict=False lists each as a skipped gap."""
    files = _knmi_frames(tmp_path, (0, 5, 10, 15, 20))
    odim_bomb(files[1])  # declares 100000 x 100000 float64
    files[2].write_bytes(
        files[0].read_bytes()[: files[0].stat().st_size // 2]
    )  # a copy still in progress
    files[3].write_bytes(b"")
    calls = []
    real = radar_pysteps.RadarSource.load_importer

    def counting(self):
        imp = real(self)
        return lambda name, **kw: (calls.append(name), imp(name, **kw))[1]

    monkeypatch.setattr(radar_pysteps.RadarSource, "load_importer", counting)
    with pytest.raises(
        InputError, match=rf"^{files[1].name}: 'dataset1/data1/data' declares 100000 x 100000"
    ):
        read_radar(tmp_path, "knmi")
    assert calls == [str(files[0])]  # the bomb stopped the read before its importer
    calls.clear()
    seq = read_radar(tmp_path, "knmi", strict=False)
    assert calls == [str(files[0]), str(files[4])]  # refused files never reach pysteps
    assert seq.rain_mmh.shape == (2, 6, 8) and seq.rain_mmh[1, 0, 0] == pytest.approx(1.2)
    assert seq.times.astype(str).tolist() == ["2024-06-01T12:00:00", "2024-06-01T12:20:00"]
    why = dict(seq.attrs["skipped"])
    assert list(why) == [str(f) for f in files[1:4]]
    assert all(w.startswith("unreadable (refused from its header: ") for w in why.values())
    assert "declares 100000 x 100000 pixels" in why[str(files[1])]
    assert "truncated HDF5 file" in why[str(files[2])]
    assert "empty file (0 bytes)" in why[str(files[3])]


def test_cut_odim_without_a_name_time_is_named_truncated(tmp_path):
    """Its time would come from /what inside the cut file: the header says why not."""
    (good,) = _knmi_frames(tmp_path, (0,))
    cut = tmp_path / "cut.h5"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match=r"^cut\.h5: truncated HDF5 file"):
        read_radar([good, cut], "knmi")
    seq = read_radar([good, cut], "knmi", strict=False)
    assert seq.rain_mmh.shape[0] == 1 and seq.attrs["skipped"][0][0] == str(cut)


def _mrms_pair(folder, gz: bool) -> list:
    z = np.arange(8 * 12, dtype=np.float64).reshape(8, 12) / 10
    out = []
    for stamp, scale in (("120000", 1.0), ("120200", 2.0)):
        f = folder / f"PrecipRate_00.00_20240601-{stamp}.grib2"
        _mrms_file(f, z * scale)
        if gz:
            f = f.with_name(f.name + ".gz")
            f.write_bytes(gzip.compress(f.with_suffix("").read_bytes()))
            f.with_suffix("").unlink()
        out.append(f)
    return out


@needs_pygrib
def test_mrms_grib2_gz_read_as_the_plain_file(tmp_path, monkeypatch):
    (tmp_path / "plain").mkdir(), (tmp_path / "gz").mkdir(), (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    plain = read_radar(_mrms_pair(tmp_path / "plain", gz=False), "mrms")
    gz_files = _mrms_pair(tmp_path / "gz", gz=True)
    seq = read_radar(tmp_path / "gz", "mrms")  # a folder: .grib2.gz guessed as MRMS
    np.testing.assert_array_equal(seq.rain_mmh, plain.rain_mmh)
    assert seq.transform == plain.transform and seq.attrs["files"] == [str(f) for f in gz_files]
    assert list((tmp_path / "tmp").iterdir()) == []  # the inflated copies are removed


@needs_pygrib
def test_mrms_grib2_gz_inflating_past_the_bound_refused(tmp_path, monkeypatch):
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    files = _mrms_pair(tmp_path, gz=True)
    size = len(gzip.decompress(files[0].read_bytes()))
    monkeypatch.setattr(radar_pysteps, "RADAR_MAX_DECLARED_BYTES", size - 1)
    with pytest.raises(InputError, match=rf"^{files[0].name}: inflates to more than the"):
        read_radar(files, "mrms")
    with pytest.raises(InputError, match="no readable mrms_grib frame"):  # both too big
        read_radar(files, "mrms", strict=False)
    assert list((tmp_path / "tmp").iterdir()) == []
