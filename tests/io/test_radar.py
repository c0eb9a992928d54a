"""Radar readers: unit conversions pinned by hand, gaps, clipping, generic stacks, real data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from affine import Affine

from floodcast.errors import InputError
from floodcast.io.radar import RADAR_SOURCES, RadarSequence, read_radar
from floodcast.io.radar_sources import get_source, guess_source, time_from_name
from floodcast.io.radar_summary import summarize
from floodcast.io.radar_units import dbz_to_mmh, depth_to_mmh, to_mmh

RADAR = "radar/pysteps-data/radar"


# ---------------------------------------------------------------- conversions
def test_dbz_marshall_palmer_pinned():
    # Z = 200 R^1.6: 23 dBZ -> (10^2.3 / 200)^(1/1.6) = 0.998519 mm/h
    assert dbz_to_mmh(23.0) == pytest.approx((10**2.3 / 200) ** (1 / 1.6), rel=1e-12)
    assert dbz_to_mmh(23.0) == pytest.approx(0.998519, abs=1e-6)
    # FMI's Z = 223 R^1.53 at 40 dBZ: (10^4 / 223)^(1/1.53) = 12.010 mm/h
    assert dbz_to_mmh(40.0, 223.0, 1.53) == pytest.approx(12.0099, rel=1e-5)


def test_depth_per_interval_pinned():
    assert depth_to_mmh(0.5, 5) == pytest.approx(6.0)  # 0.5 mm in 5 min = 6 mm/h
    assert depth_to_mmh(1.2, 6) == pytest.approx(12.0)
    with pytest.raises(ValueError, match="interval"):
        depth_to_mmh(1.0, 0)


def test_to_mmh_dbz_matches_pysteps_and_zeroes_below_threshold():
    from pysteps.utils.conversion import to_rainrate

    dbz = np.array([[-32.0, -31.5, 10.0], [23.0, 40.0, np.nan]])
    md = {
        "unit": "dBZ",
        "transform": "dB",
        "threshold": -31.5,
        "zerovalue": -32.0,
        "accutime": 5.0,
        "zr_a": 223.0,
        "zr_b": 1.53,
    }
    ours, md2 = to_mmh(dbz, md)
    ref, _ = to_rainrate(dbz, md)
    np.testing.assert_allclose(ours, ref, rtol=2e-6)
    assert ours[0, 0] == 0.0 and np.isnan(ours[1, 2])
    assert md2["unit"] == "mm/h" and (md2["zr_a"], md2["zr_b"]) == (223.0, 1.53)
    # no Z-R in the metadata -> Marshall-Palmer
    mp, _ = to_mmh(np.array([23.0]), {"unit": "dBZ", "transform": "dB"})
    assert mp[0] == pytest.approx(0.99852, rel=1e-5)


def test_to_mmh_depth_and_unknown_unit():
    out, _ = to_mmh(np.array([0.5]), {"unit": "mm", "transform": None, "accutime": 6})
    assert out[0] == pytest.approx(5.0)
    with pytest.raises(InputError, match="f.nc.*unknown rain unit 'inch'"):
        to_mmh(np.array([1.0]), {"unit": "inch"}, where="f.nc")
    with pytest.raises(InputError, match="accutime"):
        to_mmh(np.array([1.0]), {"unit": "mm", "transform": None}, where="f.nc")


# ---------------------------------------------------------------- names and times
@pytest.mark.parametrize(
    ("name", "src", "when"),
    [
        ("201609281445_fmi.radar.composite.lowest_FIN_SUOMI1.pgm.gz", "fmi", "2016-09-28T14:45"),
        ("201609281445_FINUTM.tif", "fmi_geotiff", "2016-09-28T14:45"),
        ("AQC151351545F_00005.801.gif", "mch", "2015-05-15T15:45"),
        ("2_20180616_100600.prcp-cscn.nc", None, "2018-06-16T10:06"),
        ("T_PAAH21_C_EUOC_20180824181500.hdf", "opera", "2018-08-24T18:15"),
    ],
)
def test_time_from_pattern_and_guess(name, src, when):
    spec = get_source(src or "bom")
    assert time_from_name(name, spec.fn_pattern) == np.datetime64(when, "s")
    if src:
        assert guess_source(name) == src


def test_generic_timestamp_and_registry_errors():
    assert time_from_name("rain_2020-07-01_1230.tif", None) == np.datetime64("2020-07-01T12:30")
    assert time_from_name("rain.tif", None) is None
    with pytest.raises(ValueError, match="valid: .*fmi_geotiff.*odim_hdf5"):
        get_source("nexrad")
    assert RADAR_SOURCES["fmi_pgm"] is RADAR_SOURCES["fmi"]
    with pytest.raises(ValueError, match="cannot guess"):
        guess_source("frame.xyz")


# ---------------------------------------------------------------- the container
def _seq(minutes, values=None):
    t = np.datetime64("2020-01-01T00:00", "s") + np.array(minutes) * np.timedelta64(60, "s")
    rain = np.ones((len(minutes), 3, 4), np.float32) if values is None else values
    per = list(range(len(minutes)))
    return RadarSequence(
        rain,
        t,
        Affine(1000, 0, 0, 0, -1000, 3000),
        "EPSG:3067",
        1000.0,
        "test",
        n_clipped=sum(per),
        attrs={"clipped_per_frame": per},
    )


def test_gaps_and_split_on_synthetic_times():
    s = _seq([0, 5, 10, 20, 25, 30, 60])
    assert s.interval_s == 300.0
    assert s.gaps() == [(s.times[2], s.times[3]), (s.times[5], s.times[6])]
    parts = s.split_at_gaps()
    assert [len(p.times) for p in parts] == [3, 3, 1]
    assert [p.n_clipped for p in parts] == [0 + 1 + 2, 3 + 4 + 5, 6]
    assert _seq([0, 5, 10]).gaps() == [] and len(_seq([0, 5]).split_at_gaps()) == 1
    with pytest.raises(ValueError, match="increasing"):
        _seq([0, 10, 5])


def test_to_xarray_coords_and_crs():
    ds = _seq([0, 5]).to_xarray()
    assert ds.rain.dims == ("time", "y", "x") and ds.rain.attrs["units"] == "mm/h"
    np.testing.assert_allclose(ds.x, [500, 1500, 2500, 3500])
    np.testing.assert_allclose(ds.y, [2500, 1500, 500])
    assert ds.rio.crs.to_epsg() == 3067


# ---------------------------------------------------------------- generic stacks
def _write_nc(path, rain, minutes, *, units="mm/h", south_up=False, georef=True):
    import rioxarray  # noqa: F401
    import xarray as xr

    ny, nx = rain.shape[1:]
    y = 5000.0 - 1000.0 * (np.arange(ny) + 0.5)
    if south_up:
        y, rain = y[::-1], rain[:, ::-1]
    t = np.datetime64("2021-07-14T12:00") + np.array(minutes) * np.timedelta64(1, "m")
    coords = {"time": t.astype("datetime64[ns]")}
    if georef:
        coords |= {"x": 1000.0 * (np.arange(nx) + 0.5), "y": y}
    da = xr.DataArray(rain, dims=("time", "y", "x"), coords=coords, attrs={"units": units})
    ds = da.to_dataset(name="precip")
    if georef:
        ds = ds.rio.write_crs("EPSG:25832")
    ds.to_netcdf(path)
    return path


def test_netcdf_stack_clip_skip_flip_and_units(tmp_path):
    rain = np.zeros((4, 5, 6), np.float32)
    rain[0, 0, 0] = 2.0  # north-west corner of frame 0
    rain[1, 2, 2:4] = [1200.0, 301.0]  # spikes
    rain[1, 4, 5] = -1.0
    rain[2] = np.nan  # all-NaN frame
    rain[3, 1, 1] = 0.5  # mm per 5 min -> 6 mm/h
    f = _write_nc(tmp_path / "stack.nc", rain, [0, 5, 10, 15], units="mm", south_up=True)
    with pytest.warns(UserWarning, match="2 values > 300"):
        s = read_radar(f)
    assert s.source == "netcdf" and s.attrs["flipped"] and s.attrs["unit_in"] == "mm"
    assert s.n_clipped == 2 and s.attrs["n_negative"] == 1
    assert s.rain_mmh[0, 0, 0] == pytest.approx(24.0)  # row 0 = north after the flip
    assert np.isnan(s.rain_mmh[1, 2, 2:4]).all() and s.rain_mmh[1, 4, 5] == 0.0
    assert len(s.times) == 3 and s.attrs["skipped"][0][1] == "all NaN"
    assert s.rain_mmh[2, 1, 1] == pytest.approx(6.0)
    assert s.gaps() == [(s.times[1], s.times[2])]  # the skipped frame leaves a gap
    assert s.transform == Affine(1000, 0, 0, 0, -1000, 5000) and s.cell_size == 1000.0
    assert summarize(s)["n_clipped"] == 2


def test_no_georeferencing_needs_extent(tmp_path):
    f = _write_nc(tmp_path / "bare.nc", np.ones((2, 4, 5), np.float32), [0, 5], georef=False)
    with pytest.raises(InputError, match="bare.nc: no georeferencing.*extent"):
        read_radar(f)
    s = read_radar(f, extent=(0, 0, 5000, 8000), crs="EPSG:3035")
    assert s.transform == Affine(1000, 0, 0, 0, -2000, 8000) and s.crs == "EPSG:3035"


def test_bad_units_and_irregular_spacing(tmp_path):
    f = _write_nc(tmp_path / "u.nc", np.ones((2, 3, 3), np.float32), [0, 5], units="furlong")
    with pytest.raises(InputError, match=r"u.nc:precip: unknown rain unit 'furlong'"):
        read_radar(f)
    f = _write_nc(tmp_path / "irr.nc", np.ones((4, 3, 3), np.float32), [0, 5, 10, 16])
    with pytest.raises(InputError, match="irregular time spacing.*6 min"):
        read_radar(f)


def test_zarr_and_geotiff_stacks(tmp_path):
    import rasterio
    import xarray as xr

    nc = _write_nc(tmp_path / "z.nc", np.full((2, 3, 4), 1.5, np.float32), [0, 10])
    xr.open_dataset(nc).to_zarr(tmp_path / "z.zarr", consolidated=False)
    s = read_radar(tmp_path / "z.zarr")
    assert s.source == "zarr" and s.interval_s == 600 and float(s.rain_mmh.max()) == 1.5
    profile = {
        "driver": "GTiff",
        "width": 4,
        "height": 3,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:32632",
        "transform": Affine(250, 0, 1e5, 0, -250, 5e6),
        "nodata": -1.0,
    }
    for k, minute in enumerate([0, 5, 10]):
        with rasterio.open(
            tmp_path / f"rr_20210714{12:02d}{minute:02d}.tif", "w", **profile
        ) as dst:
            a = np.full((3, 4), k, np.float32)
            a[0, 0] = -1.0  # nodata -> NaN
            dst.write(a, 1)
            dst.update_tags(units="mm/h")
    g = read_radar(sorted(tmp_path.glob("rr_*.tif")))
    assert g.source == "geotiff" and g.shape == (3, 3, 4) and g.cell_size == 250
    assert np.isnan(g.rain_mmh[:, 0, 0]).all() and g.rain_mmh[2, 1, 1] == 2.0
    with pytest.raises(InputError, match="no frames between"):
        read_radar(tmp_path / "z.zarr", start="2030-01-01")


# ---------------------------------------------------------------- real data
def _read(shared_data, sub, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return read_radar(shared_data / RADAR / sub, **kw)


@pytest.mark.shared_data
def test_fmi_pgm_dbz(shared_data):
    s = _read(shared_data, "fmi/pgm/20160928", end="2016-09-28T14:55")
    assert s.source == "fmi" and s.shape == (3, 1226, 760) and s.interval_s == 300
    assert s.attrs["unit_in"] == "dBZ" and s.attrs["zr"] == (223.0, 1.53)
    assert s.cell_size == pytest.approx(999.674, abs=1e-3)
    assert 0.2 < np.isnan(s.rain_mmh).mean() < 0.3  # outside the radar network
    assert np.nanmin(s.rain_mmh) == 0.0 and 50 < np.nanmax(s.rain_mmh) < 300
    assert "+proj=stere" in s.crs


@pytest.mark.shared_data
def test_mch_gif_mm_per_5min(shared_data):
    import pysteps.io

    d = shared_data / RADAR / "mch/20150515"
    s = _read(shared_data, "mch/20150515", end="2015-05-15T15:50", source="mch_gif")
    raw, _, _ = pysteps.io.get_method("mch_gif", "importer")(
        str(next(d.glob("AQC151351545*"))), product="AQC", unit="mm", accutime=5
    )
    np.testing.assert_allclose(s.rain_mmh[0], raw * 12.0, rtol=1e-6)  # mm/5 min -> mm/h
    assert s.transform == Affine(1000, 0, 255000, 0, -1000, 480000) and s.cell_size == 1000


@pytest.mark.shared_data
def test_bom_rf3_mm_per_6min(shared_data):
    s = _read(shared_data, "bom/prcp-cscn/2/2018/06/16", end="2018-06-16T10:12")
    assert s.source == "bom" and s.shape == (3, 512, 512) and s.interval_s == 360
    assert s.attrs["unit_in"] == "mm" and s.attrs["accutime_min"] == 6
    # 0.05 mm quantum per 6 min -> 0.5 mm/h steps
    vals = np.unique(s.rain_mmh[np.isfinite(s.rain_mmh)])
    np.testing.assert_allclose(vals / 0.5, np.round(vals / 0.5), atol=1e-4)
    assert s.extent == (-128000.0, -128000.0, 128000.0, 128000.0)


@pytest.mark.shared_data
def test_opera_odim_clips_spikes(shared_data):
    s = _read(shared_data, "OPERA/20180824", end="2018-08-24T18:15")
    assert s.source == "opera" and s.shape == (2, 2200, 1900) and s.cell_size == 2000
    assert s.interval_s == 900 and s.attrs["unit_in"] == "mm/h"
    assert s.n_clipped > 0 and np.nanmax(s.rain_mmh) <= 300
    assert s.n_clipped == sum(s.attrs["clipped_per_frame"])
    lax = _read(shared_data, "OPERA/20180824", end="2018-08-24T18:15", max_rate_mmh=1e4)
    assert lax.n_clipped == 0 and np.nanmax(lax.rain_mmh) > 1000  # the known spikes


@pytest.mark.shared_data
def test_fmi_geotiff_via_rasterio(shared_data):
    s = _read(shared_data, "fmi/geotiff/20160928", source="fmi_geotiff", end="2016-09-28T14:45")
    assert s.shape == (1, 7316, 4963) and s.cell_size == pytest.approx(250.0, abs=0.01)
    assert s.attrs["unit_in"] == "dBZ" and "TM35FIN" in s.crs
    assert 0 < np.nanmax(s.rain_mmh) < 300


@pytest.mark.shared_data
def test_mixed_sources_and_missing_path(shared_data, tmp_path):
    d = shared_data / RADAR
    files = [next((d / "mch/20150515").glob("*.gif")), next((d / "OPERA/20180824").glob("*"))]
    with pytest.raises(ValueError, match="looks like"):
        read_radar(files)
    with pytest.raises(FileNotFoundError, match="nothere"):
        read_radar(tmp_path / "nothere")


def test_differing_grids_name_the_file(tmp_path):
    a = _write_nc(tmp_path / "a_202107141200.nc", np.ones((1, 3, 3), np.float32), [0])
    b = _write_nc(tmp_path / "b.nc", np.ones((1, 4, 3), np.float32), [5])
    with pytest.raises(InputError, match=r"b.nc: grid \(4, 3\) differs"):
        read_radar([a, b])


@pytest.mark.shared_data
def test_real_gap_is_reported_not_filled(shared_data):
    d = shared_data / RADAR / "mch/20150515"
    # 15:45, 15:50, 15:55, (16:00 missing), 16:05, 16:10
    files = [d / f"AQC15135{hm}F_00005.801.gif" for hm in ("1545", "1550", "1555", "1605", "1610")]
    s = read_radar(files)
    assert s.interval_s == 300 and len(s.times) == 5
    assert s.gaps() == [(np.datetime64("2015-05-15T15:55"), np.datetime64("2015-05-15T16:05"))]
    assert [len(p.times) for p in s.split_at_gaps()] == [3, 2]
