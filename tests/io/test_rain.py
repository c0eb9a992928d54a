"""Rain readers: hyetographs, npz, NetCDF/zarr, regridding, coverage and bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (.rio accessor)
import xarray as xr
from rasterio.transform import from_origin

from floodcast.errors import InputError, InputWarning
from floodcast.io.dem import Dem
from floodcast.io.rain import check_coverage, parse_hyetograph, read_rain

NY, NX = 20, 30


@pytest.fixture
def dem():
    return Dem(
        np.zeros((NY, NX), np.float32),
        10.0,
        from_origin(1000, 2000, 10, 10),
        "EPSG:32633",
        "dem.tif",
    )


@pytest.fixture
def plain_dem():
    return Dem(np.zeros((NY, NX), np.float32), 10.0)


def frames(n=3, value=10.0):
    return np.stack([np.full((NY, NX), value * (k + 1), np.float32) for k in range(n)])


def test_hyetograph_single_and_chained():
    r = parse_hyetograph("50mm/h:600s")
    np.testing.assert_array_equal(r.rates_mmh, [50, 0])
    np.testing.assert_array_equal(r.times_s, [0, 600])
    assert r.end_s == math.inf and r.uniform
    r = read_rain("50mm/h:10min, 5mm/h:1h")
    np.testing.assert_array_equal(r.times_s, [0, 600, 4200])
    np.testing.assert_array_equal(r.rates_mmh, [50, 5, 0])
    assert parse_hyetograph("rain.nc") is None
    with pytest.raises(InputError, match="cannot parse"):
        read_rain("50mm/h")


def test_npz_reference_keys_and_coverage(tmp_path, plain_dem):
    np.savez(tmp_path / "r.npz", rain_mmh=frames(3), rain_times_s=np.array([0.0, 300, 600]))
    r = read_rain(tmp_path / "r.npz", plain_dem)
    assert r.rates_mmh.shape == (3, NY, NX) and r.rates_mmh.dtype == np.float32
    assert r.end_s == 900  # last (non-zero) frame holds one median interval
    assert check_coverage(r, 900).end_s == 900
    with pytest.raises(InputError, match="covers 0..900 s but the run lasts 1000 s"):
        check_coverage(r, 1000)
    padded = check_coverage(r, 1000, pad_zero=True)
    np.testing.assert_array_equal(padded.times_s, [0, 300, 600, 900])
    assert padded.end_s == math.inf and not padded.rates_mmh[-1].any()


def test_npz_trailing_zero_frame_holds_forever(tmp_path, plain_dem):
    f = frames(2)
    f[-1] = 0
    np.savez(tmp_path / "r.npz", rain_mmh=f, times_s=np.array([0.0, 300]))
    assert read_rain(tmp_path / "r.npz", plain_dem).end_s == math.inf


def test_rain_starting_late(tmp_path, plain_dem):
    np.savez(tmp_path / "r.npz", rain_mmh=frames(2), times_s=np.array([60.0, 120]))
    r = read_rain(tmp_path / "r.npz", plain_dem)
    with pytest.raises(InputError, match="starts at 60 s"):
        check_coverage(r, 100)
    p = check_coverage(r, 100, pad_zero=True)
    assert p.times_s[0] == 0 and not p.rates_mmh[0].any()


def test_nan_set_to_zero_with_count(tmp_path, plain_dem):
    f = frames(2)
    f[1, :2, :3] = np.nan
    np.savez(tmp_path / "r.npz", rain_mmh=f, times_s=np.array([0.0, 300]))
    with pytest.warns(InputWarning, match="6 NaN rain values"):
        r = read_rain(tmp_path / "r.npz", plain_dem)
    assert not np.isnan(r.rates_mmh).any() and r.rates_mmh[1, 0, 0] == 0


def test_negative_rain_is_an_error(tmp_path, plain_dem):
    f = frames(2)
    f[0, 1, 1] = -1
    np.savez(tmp_path / "r.npz", rain_mmh=f, times_s=np.array([0.0, 300]))
    with pytest.raises(InputError, match="1 negative rain values"):
        read_rain(tmp_path / "r.npz", plain_dem)


def test_mm_per_interval_warning(tmp_path, plain_dem):
    np.savez(tmp_path / "r.npz", rain_mmh=frames(2, 600.0), times_s=np.array([0.0, 300]))
    with pytest.warns(InputWarning, match="mm per interval"):
        read_rain(tmp_path / "r.npz", plain_dem)


@pytest.mark.parametrize(
    "times,match", [([0.0, 300, 300], "duplicate timestamp 300"), ([0.0, 600, 300], "not sorted")]
)
def test_bad_timestamps(tmp_path, plain_dem, times, match):
    np.savez(tmp_path / "r.npz", rain_mmh=frames(3), times_s=np.array(times))
    with pytest.raises(InputError, match=match):
        read_rain(tmp_path / "r.npz", plain_dem)


def test_shape_mismatch_without_georeference(tmp_path, plain_dem):
    np.savez(tmp_path / "r.npz", rain_mmh=np.ones((2, 5, 5), np.float32), times_s=[0.0, 300])
    with pytest.raises(InputError, match=r"rain grid \(5, 5\).*DEM grid \(20, 30\)"):
        read_rain(tmp_path / "r.npz", plain_dem)


def test_missing_rain_file(tmp_path):
    with pytest.raises(InputError, match="rain file not found: .*none.nc"):
        read_rain(str(tmp_path / "none.nc"))


def _dataset(values, times, y, x, crs=None):
    ds = xr.Dataset(
        {"rain": (("time", "y", "x"), values, {"units": "mm/h"})},
        coords={"time": times, "y": y, "x": x},
    )
    if crs:
        ds = ds.rio.write_crs(crs)
    return ds


def test_netcdf_datetimes_and_south_up_grid(tmp_path, dem):
    vals = frames(3)
    vals[:, -1, :] = 99.0  # last row of a y-increasing grid is the NORTH row
    x = 1000 + 5 + 10 * np.arange(NX)
    y = 2000 - 10 * NY + 5 + 10 * np.arange(NY)  # increasing (south-up)
    t = pd.date_range("2020-01-01 12:00", periods=3, freq="5min")
    _dataset(vals, t, y, x, "EPSG:32633").to_netcdf(tmp_path / "r.nc")
    r = read_rain(tmp_path / "r.nc", dem)
    np.testing.assert_array_equal(r.times_s, [0, 300, 600])
    assert (r.rates_mmh[:, 0, :] == 99).all() and (r.rates_mmh[:, 1:, :] < 99).all()


def test_netcdf_seconds_units_and_zarr(tmp_path, plain_dem):
    ds = xr.Dataset(
        {"rain": (("time", "y", "x"), frames(2) / 3600.0, {"units": "kg m-2 s-1"})},
        coords={"time": ("time", [0.0, 5.0], {"units": "min"})},
    )
    ds.to_zarr(tmp_path / "r.zarr")
    r = read_rain(tmp_path / "r.zarr", plain_dem)
    np.testing.assert_array_equal(r.times_s, [0, 300])
    np.testing.assert_allclose(r.rates_mmh[0], 10.0, rtol=1e-6)
    ds.rename({"rain": "precip_x"}).to_netcdf(tmp_path / "bad.nc")
    with pytest.raises(InputError, match="no rain variable; expected 'rain'"):
        read_rain(tmp_path / "bad.nc", plain_dem)


def test_regrid_coarse_georeferenced_rain_bilinear(tmp_path, dem):
    # rain on 20 m cells covering the DEM, a west-east ramp: bilinear keeps a linear ramp
    nyc, nxc = NY // 2 + 2, NX // 2 + 2
    xc = 1000 - 20 + 10 + 20 * np.arange(nxc)
    yc = 2000 + 20 - 10 - 20 * np.arange(nyc)
    ramp = np.broadcast_to((xc - 1000) / 10.0 + 5, (nyc, nxc)).astype(np.float32)
    vals = np.stack([ramp, ramp])
    _dataset(vals, [0.0, 300.0], yc, xc, "EPSG:32633").to_netcdf(tmp_path / "c.nc")
    r = read_rain(tmp_path / "c.nc", dem)
    assert r.rates_mmh.shape == (2, NY, NX)
    expect = (5 + 10 * np.arange(NX)) / 10.0 + 5  # the ramp at the DEM cell centres
    np.testing.assert_allclose(r.rates_mmh[0, 5], expect, atol=1e-4)
    assert any("regridded" in n for n in r.notes)


@pytest.mark.parametrize("name", ["junk.nc", "junk.npz"])
def test_unreadable_rain_files_are_named(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00\x01garbage\xff" * 10)
    with pytest.raises(InputError, match=name):
        read_rain(tmp_path / name)
