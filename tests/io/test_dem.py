"""DEM readers: GeoTIFF, ESRI ASCII (strict), npz, geographic cell sizes, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from floodcast.errors import InputError
from floodcast.io.dem import geographic_cell_size, read_dem, sample_dem


def write_asc(path, z, cell=2.0, nodata=-9999.0, header_extra=""):
    ny, nx = z.shape
    lines = [
        f"ncols {nx}",
        f"nrows {ny}",
        "xllcorner 100",
        "yllcorner 200",
        f"cellsize {cell}",
        f"NODATA_value {nodata}",
    ]
    body = [" ".join(f"{v:g}" for v in row) for row in np.where(np.isnan(z), nodata, z)]
    path.write_text("\n".join(lines) + header_extra + "\n" + "\n".join(body) + "\n")
    return path


def write_tif(path, z, transform, crs="EPSG:32614", nodata=-32768.0):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=z.shape[0],
        width=z.shape[1],
        count=1,
        dtype="float32",
        transform=transform,
        crs=crs,
        nodata=nodata,
    ) as ds:
        ds.write(np.where(np.isnan(z), nodata, z).astype("float32"), 1)
    return path


@pytest.fixture
def z():
    zz = np.add.outer(np.arange(20.0), np.arange(30.0) * 0.5) + 100.0
    zz[3, 4] = np.nan
    return zz


def test_asc_reads_values_cell_and_walls(tmp_path, z):
    dem = read_dem(write_asc(tmp_path / "a.asc", z))
    assert dem.shape == (20, 30) and dem.elevation.dtype == np.float32
    assert dem.cell_size == 2.0 and dem.crs is None and not dem.georeferenced
    assert np.isnan(dem.elevation[3, 4]) and dem.nodata_cells == 1
    np.testing.assert_allclose(dem.elevation[0, :3], [100, 100.5, 101])
    assert dem.transform.f == 200 + 20 * 2.0  # north edge: row 0 = north
    assert any("1 nodata cells" in n for n in dem.notes)


def test_asc_ragged_row_names_line(tmp_path, z):
    p = write_asc(tmp_path / "r.asc", z)
    lines = p.read_text().splitlines()
    lines[9] = " ".join(lines[9].split()[:-1])  # drop one value of data row 4
    p.write_text("\n".join(lines))
    with pytest.raises(InputError, match=r"r\.asc: line 10 .* 29 values, NCOLS says 30"):
        read_dem(p)


def test_asc_truncated_file(tmp_path, z):
    p = write_asc(tmp_path / "t.asc", z)
    p.write_text("\n".join(p.read_text().splitlines()[:-5]))
    with pytest.raises(InputError, match="15 data rows, NROWS says 20"):
        read_dem(p)


@pytest.mark.parametrize(
    "bad,match",
    [("cellsize 0", "positive"), ("cellsize -3", "positive"), ("cellsize abc", "not a number")],
)
def test_asc_bad_cell_size(tmp_path, z, bad, match):
    p = write_asc(tmp_path / "c.asc", z)
    p.write_text(p.read_text().replace("cellsize 2.0", bad))
    with pytest.raises(InputError, match=match):
        read_dem(p)


def test_asc_all_nodata(tmp_path):
    p = write_asc(tmp_path / "n.asc", np.full((5, 6), np.nan))
    with pytest.raises(InputError, match="every cell is nodata"):
        read_dem(p)


def test_missing_and_unknown_files(tmp_path):
    with pytest.raises(InputError, match="DEM file not found: .*nope.asc"):
        read_dem(tmp_path / "nope.asc")
    (tmp_path / "x.xyz").write_text("1")
    with pytest.raises(InputError, match="cannot read DEM file .*x.xyz.*not recognized"):
        read_dem(tmp_path / "x.xyz")  # chosen by content: GDAL does not know it either


def test_geotiff_projected(tmp_path, z):
    dem = read_dem(write_tif(tmp_path / "d.tif", z, from_origin(500000, 4e6, 5, 5)))
    assert dem.shape == (20, 30) and dem.cell_size == 5.0 and dem.crs == "EPSG:32614"
    assert dem.georeferenced and dem.nodata_cells == 1
    np.testing.assert_allclose(dem.elevation[~np.isnan(dem.elevation)], z[~np.isnan(z)])


def test_geotiff_geographic_cell_size_in_metres(tmp_path, z):
    # 0.001 deg cells centred on 45 N: 111.195 m N-S, 78.63 m E-W -> geometric mean
    t = from_origin(10.0, 45.01, 0.001, 0.001)
    dem = read_dem(write_tif(tmp_path / "g.tif", z, t, crs="EPSG:4326"))
    lat = 45.01 - 0.001 * 10
    dx, dy = geographic_cell_size(0.001, 0.001, lat)
    assert dy == pytest.approx(111.195, abs=1e-3)
    assert dx == pytest.approx(111.195 * math.cos(math.radians(lat)), rel=1e-5)
    assert dem.cell_size == pytest.approx(math.sqrt(dx * dy), rel=1e-5)
    assert dem.crs == "EPSG:4326" and any("geographic CRS" in n for n in dem.notes)


def test_geotiff_south_up_is_flipped(tmp_path, z):
    from rasterio.transform import Affine

    t = Affine(5, 0, 0, 0, 5, 1000)  # row 0 is the southern row
    dem = read_dem(write_tif(tmp_path / "s.tif", z, t))
    np.testing.assert_array_equal(np.isnan(dem.elevation), np.isnan(z[::-1]))
    assert dem.transform.e == -5 and dem.transform.f == 1000 + 20 * 5


def test_geotiff_truncated(tmp_path, z):
    p = write_tif(tmp_path / "t.tif", np.nan_to_num(z), from_origin(0, 100, 1, 1))
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="t.tif"):
        read_dem(p)


def test_npz_keys_and_reference_keys(tmp_path, z):
    np.savez(tmp_path / "a.npz", elevation=z, cell_size=3.0)
    dem = read_dem(tmp_path / "a.npz")
    assert dem.cell_size == 3.0 and dem.nodata_cells == 1
    np.savez(tmp_path / "ref.npz", dem=z.astype("float32"), cellsize_m=np.float64(10))
    assert read_dem(tmp_path / "ref.npz").cell_size == 10.0
    np.savez(tmp_path / "bad.npz", elevation=z, cell_size=0.0)
    with pytest.raises(InputError, match="cell size must be positive"):
        read_dem(tmp_path / "bad.npz")
    np.savez(tmp_path / "nokey.npz", height=z)
    with pytest.raises(InputError, match="'elevation'.*found \\['height'\\]"):
        read_dem(tmp_path / "nokey.npz")


def test_sample_dem_jacksboro():
    dem = sample_dem()
    assert dem.shape == (344, 403)
    assert dem.cell_size == pytest.approx(83.03, abs=0.01)  # ~74.4 m E-W x 92.7 m N-S
    assert dem.transform.f == pytest.approx(36.7329, abs=1e-4)  # row 0 = north (swapped ymin)
    assert dem.nodata_cells == 0 and 200 < np.nanmin(dem.elevation) < np.nanmax(dem.elevation)


@pytest.mark.shared_data
def test_real_dems(shared_data):
    dem = read_dem(shared_data / "dem/pysheds/dem.tif")
    assert dem.shape == (359, 367) and dem.crs == "EPSG:4326"
    assert 80 < dem.cell_size < 90  # 3" at 32.7 N
    asc = read_dem(shared_data / "dem/landlab/hugo_site.asc")
    assert asc.shape == (55, 76) and asc.cell_size == 10 and asc.nodata_cells == 2028


def test_fill_sinks_raises_pits_to_spill_level():
    from floodcast.io.dem_tools import fill_sinks_array as fill_sinks

    z = np.full((5, 5), 10.0)
    z[0, 2] = 5.0  # outlet on the north edge
    z[2, 2] = 2.0  # pit, spills at 10 m through its neighbours
    z[1, 2] = 8.0  # ... or at 8 m towards the outlet
    z[4, 4] = np.nan
    f = fill_sinks(z)
    assert f[2, 2] == 8.0 and f[1, 2] == 8.0 and f[0, 2] == 5.0 and np.isnan(f[4, 4])
    valid = ~np.isnan(z)
    assert (f[valid] >= z[valid]).all() and np.isnan(f).sum() == 1


@pytest.mark.parametrize("name", ["junk.tif", "junk.npz", "junk.asc"])
def test_unreadable_files_are_named(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00\x01garbage\xff" * 10)
    with pytest.raises(InputError, match=name):
        read_dem(tmp_path / name)
