"""Inputs a hydrologist brings: DEMs GDAL reads (by content), feet, native radar as rain,
radar names, writable radar datasets, one sink fill (issue #20, part 2)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import rasterio.shutil
from rasterio.transform import from_origin

from floodcast.errors import InputError
from floodcast.io.dem import Dem, read_dem
from floodcast.io.dem_tools import fill_sinks_array as fill_array

RADAR = "radar/pysteps-data/radar"


def write_tif(path, z, tr=None, crs="EPSG:32614", driver="GTiff"):
    tr = tr or from_origin(500000, 4e6, 5, 5)
    with rasterio.open(
        path,
        "w",
        driver=driver,
        height=z.shape[0],
        width=z.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=tr,
        nodata=-9999,
    ) as ds:
        ds.write(z.astype(np.float32), 1)
    return path


def ramp(ny=12, nx=15):
    return np.add.outer(np.arange(ny, dtype=np.float32), np.arange(nx, dtype=np.float32))


def test_dem_chosen_by_content_not_extension(tmp_path):
    z = ramp()
    tif = write_tif(tmp_path / "terrain.dat", z)  # a GeoTIFF under a name GDAL decides by
    assert read_dem(tif).shape == z.shape
    rasterio.shutil.copy(tif, tmp_path / "t.vrt", driver="VRT")
    assert read_dem(tmp_path / "t.vrt").crs == "EPSG:32614"
    cog = write_tif(tmp_path / "c.tif", z, driver="COG")
    np.testing.assert_array_equal(read_dem(cog).elevation, z)
    (tmp_path / "grid").write_text(
        "ncols 3\nnrows 3\nxllcorner 0\nyllcorner 0\ncellsize 2\n1 2 3\n4 5 6\n7 8 9\n"
    )
    assert read_dem(tmp_path / "grid").cell_size == 2.0  # ESRI ASCII, sniffed from the text
    np.savez(tmp_path / "z.bin", elevation=z, cell_size=3.0)  # an npz by content
    assert read_dem(tmp_path / "z.bin.npz").cell_size == 3.0


def test_srtm_hgt_and_zipped_hgt(tmp_path):
    import zipfile

    z = (np.arange(1201 * 1201) % 500).reshape(1201, 1201).astype(">i2")
    hgt = tmp_path / "N38W028.hgt"
    z.tofile(hgt)
    dem = read_dem(hgt)
    assert dem.shape == (1201, 1201) and dem.crs == "EPSG:4326"
    assert dem.transform.c == pytest.approx(-28 - 1 / 2400) and dem.elevation[0, 1] == 1
    with zipfile.ZipFile(tmp_path / "N38W028.SRTMGL3.hgt.zip", "w") as zf:
        zf.write(hgt, "N38W028.hgt")
    zipped = read_dem(tmp_path / "N38W028.SRTMGL3.hgt.zip")  # through /vsizip/
    np.testing.assert_array_equal(zipped.elevation, dem.elevation)
    assert read_dem(f"/vsizip/{tmp_path}/N38W028.SRTMGL3.hgt.zip/N38W028.hgt").shape == z.shape


def test_feet_crs_cells_converted_to_metres_and_elevation_units(tmp_path):
    tif = write_tif(tmp_path / "ft.tif", ramp(), from_origin(5e6, 3e6, 30, 30), "EPSG:3089")
    dem = read_dem(tif)
    assert dem.cell_size == pytest.approx(30 * 1200 / 3937)  # 9.144 m, not 30 m
    assert any("US survey foot" in n for n in dem.notes)
    assert any("--elevation-units m" in n for n in dem.notes)
    ft = read_dem(tif, elevation_units="ftUS")
    np.testing.assert_allclose(ft.elevation, ramp() * 1200 / 3937, rtol=1e-6)
    assert read_dem(tif, "ft").elevation[1, 0] == pytest.approx(0.3048)
    with pytest.raises(InputError, match="--elevation-units 'yd'"):
        read_dem(tif, "yd")


@pytest.mark.shared_data
def test_real_rasters_roi_feet_and_srtm_tile(shared_data):
    roi = read_dem(shared_data / "dem/pysheds/roi.tif")
    assert roi.crs == "EPSG:3089" and roi.cell_size == pytest.approx(9.144, abs=1e-3)
    tiles = sorted((shared_data / "dem/srtm").glob("*.hgt.zip"))
    if not tiles:
        pytest.skip("no SRTM tile in shared data")
    tile = read_dem(tiles[0])
    assert tile.shape == (1201, 1201) and tile.crs == "EPSG:4326"
    assert 70 < tile.cell_size < 90  # 3" cells at 38 deg N


def test_sample_dem_in_simulate(tmp_path):
    from floodcast.simulation.job import SimulateRequest, prepare

    job = prepare(
        SimulateRequest(dem="sample", rain="10mm/h:600s", duration_s=600, out=tmp_path / "o")
    )
    assert job.dem.shape == (344, 403) and job.dem.crs == "EPSG:4326"


def test_one_sink_fill_everywhere(tmp_path):
    from floodcast.io.dem_tools import SINK_METHOD, fill_sinks
    from floodcast.simulation.job import SimulateRequest, prepare

    z = ramp(10, 10)
    z[4:6, 4:6] = -3.0  # a pit
    np.savez(tmp_path / "p.npz", elevation=z, cell_size=1.0)
    ref = fill_sinks(Dem(z, 1.0)).elevation
    assert ref[4, 4] > 0 and SINK_METHOD == "skimage"
    np.testing.assert_array_equal(fill_array(z), ref)  # serve's array entry point
    job = prepare(
        SimulateRequest(
            dem=tmp_path / "p.npz",
            rain="1mm/h:600s",
            duration_s=600,
            out=tmp_path / "o",
            fill_sinks=True,
        )
    )
    np.testing.assert_array_equal(job.dem.elevation, ref)  # simulate --fill-sinks


def test_radar_short_names_and_spec():
    from floodcast.io.radar_sources import get_source, parse_radar_spec

    assert get_source("knmi").name == "knmi_hdf5" and get_source("mrms").name == "mrms_grib"
    assert parse_radar_spec("knmi:/data/RAD.h5") == ("knmi", "/data/RAD.h5")
    assert parse_radar_spec("fmi:radar") == ("fmi", "radar")
    assert parse_radar_spec("/data/rain.nc") == (None, "/data/rain.nc")


def _few_mch(shared_data, tmp_path, n=3):
    files = sorted((shared_data / RADAR / "mch/20150515").glob("*.gif"))[:n]
    d = tmp_path / "mch"
    d.mkdir()
    for f in files:
        (d / f.name).symlink_to(f)
    return d


@pytest.mark.shared_data
def test_radar_dataset_writes_cf_netcdf_and_reads_back(shared_data, tmp_path):
    from floodcast.io.cf import check_cf
    from floodcast.io.radar import read_radar
    from floodcast.io.rain import read_rain

    seq = read_radar(_few_mch(shared_data, tmp_path), "mch")
    ds = seq.to_xarray()
    ds.to_netcdf(tmp_path / "plain.nc")  # was: TypeError illegal data type for attribute
    seq.to_netcdf(tmp_path / "rain.nc")
    assert check_cf(tmp_path / "rain.nc") == []
    back = read_rain(tmp_path / "rain.nc")
    np.testing.assert_allclose(back.rates_mmh, np.nan_to_num(seq.rain_mmh), rtol=1e-6)
    assert list(back.times_s) == [0.0, 300.0, 600.0]


@pytest.mark.shared_data
def test_simulate_rain_from_native_radar_reprojected(shared_data, tmp_path):
    from floodcast.io.radar import read_radar
    from floodcast.io.rain import read_rain

    d = _few_mch(shared_data, tmp_path)
    seq = read_radar(d, "mch")
    # a 40 x 50 DEM of 500 m cells in the radar's own projection, inside its grid
    t = seq.transform
    tr = from_origin(t.c + 300 * t.a, t.f + 300 * t.e, 500, 500)
    dem_path = tmp_path / "dem.tif"
    with rasterio.open(
        dem_path,
        "w",
        driver="GTiff",
        height=40,
        width=50,
        count=1,
        dtype="float32",
        crs=rasterio.crs.CRS.from_user_input(seq.crs),
        transform=tr,
    ) as ds:
        ds.write(np.zeros((40, 50), np.float32), 1)
    dem = read_dem(dem_path)
    rain = read_rain(f"mch:{d}", dem)
    assert rain.rates_mmh.shape == (3, 40, 50) and list(rain.times_s) == [0.0, 300.0, 600.0]
    assert str(rain.attrs["start_time"]).startswith("2015-05-15")
    # 1 km radar cells on 500 m DEM cells: the block mean of the bilinear field is the radar's
    want = np.nan_to_num(seq.rain_mmh[0, 300:320, 300:325])
    got = rain.rates_mmh[0].reshape(20, 2, 25, 2).mean((1, 3))
    assert abs(got.mean() - want.mean()) <= 0.05 * max(want.mean(), 0.01)
    # and the command end to end: simulate --rain mch:DIR
    from typer.testing import CliRunner

    from floodcast.cli import app

    r = CliRunner().invoke(
        app,
        [
            "simulate",
            "--dem",
            str(dem_path),
            "--rain",
            f"mch:{d}",
            "--duration",
            "600",
            "--save-every",
            "300",
            "--out",
            str(tmp_path / "sim"),
        ],
    )
    assert r.exit_code == 0, r.output
    import xarray as xr

    with xr.open_dataset(tmp_path / "sim" / "depth.nc") as ds:
        assert str(ds["time"].values[0])[:16] == "2015-05-15T15:50"  # radar time 15:45, +300 s
