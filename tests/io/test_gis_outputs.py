"""GIS-grade outputs: CF NetCDF GDAL reads georeferenced, COG GeoTIFFs with nodata, valid
polygons, GeoPackage, and map axes in the DEM's CRS (issue #20, part 1)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
import xarray as xr
from rasterio.transform import from_origin
from shapely.geometry import shape

from floodcast.defaults import FLOAT_NODATA
from floodcast.io.cf import check_cf
from floodcast.io.dem import Dem
from floodcast.io.geotiff import write_geotiff
from floodcast.io.plotting import add_scale_bar, map_frame
from floodcast.io.vector import flood_features, wet_polygons, write_geopackage
from floodcast.io.writers import write_depth_netcdf

NY, NX = 20, 30
GRIDS = {
    "utm": ("EPSG:32614", from_origin(500000, 4000000, 5, 5)),
    "lonlat": ("EPSG:4326", from_origin(-84.5, 36.7, 1 / 1200, 1 / 1200)),
    "ftUS": ("EPSG:3089", from_origin(5_000_000, 3_000_000, 30, 30)),
}


def dem_on(grid: str, walls=()) -> Dem:
    crs, tr = GRIDS[grid]
    z = np.add.outer(np.arange(NY, dtype=np.float32), np.arange(NX, dtype=np.float32))
    for rc in walls:
        z[rc] = np.nan
    return Dem(z, 5.0, tr, crs, "d.tif")


def write_nc(path, dem, start=None):
    depth = np.random.default_rng(0).random((3, NY, NX)).astype(np.float32)
    write_depth_netcdf(path, np.array([60.0, 120, 180]), depth, depth.max(0), dem, start_time=start)
    return depth


@pytest.mark.parametrize("grid", sorted(GRIDS))
def test_gdal_reads_depth_nc_with_crs_and_corners(tmp_path, grid):
    dem = dem_on(grid)
    write_nc(tmp_path / "depth.nc", dem)
    tr = dem.transform
    for var, bands in (("max_depth", 1), ("depth", 3), ("elevation", 1)):
        with rasterio.open(f"NETCDF:{tmp_path / 'depth.nc'}:{var}") as ds:
            assert ds.crs == rasterio.crs.CRS.from_user_input(dem.crs), var
            assert ds.count == bands
            b = ds.bounds
            np.testing.assert_allclose(
                [b.left, b.top, b.right, b.bottom],
                [tr.c, tr.f, tr.c + NX * tr.a, tr.f + NY * tr.e],
                rtol=0,
                atol=abs(tr.a) * 1e-6,
            )
    with xr.open_dataset(tmp_path / "depth.nc", decode_coords="all") as ds:
        assert ds["depth"].rio.crs is not None and ds["max_depth"].rio.crs is not None
        assert ds.attrs["Conventions"] == "CF-1.8"
        assert ds["x"].attrs["axis"] == "X" and ds["y"].attrs["axis"] == "Y"
        want = "longitude" if grid == "lonlat" else "projection_x_coordinate"
        assert ds["x"].attrs["standard_name"] == want
        if grid == "ftUS":
            assert ds["x"].attrs["units"] == "US_survey_foot"
    assert check_cf(tmp_path / "depth.nc") == []


def test_cf_xarray_finds_grid_mapping_and_time_since_start(tmp_path):
    import cf_xarray  # noqa: F401

    write_nc(tmp_path / "depth.nc", dem_on("utm"), start="2016-09-28T16:00")
    with xr.open_dataset(tmp_path / "depth.nc") as ds:
        assert ds.cf.grid_mapping_names == {"transverse_mercator": ["spatial_ref"]}
        assert ds["depth"].attrs["grid_mapping"] == "spatial_ref"
        units = ds["time"].encoding["units"].replace("T", " ")
        assert units == "seconds since 2016-09-28 16:00:00"
        assert str(ds["time"].values[0])[:19] == "2016-09-28T16:01:00"
        assert set(ds.cf.axes) >= {"X", "Y", "T"}


def test_geotiff_is_cog_with_nodata_walls_and_band_title(tmp_path):
    dem = dem_on("utm", walls=[(0, 0), (3, 4)])
    write_geotiff(
        tmp_path / "d.tif",
        np.zeros(dem.shape),
        dem,
        tags={"title": "run"},
        description="maximum water depth (m)",
        units="m",
    )
    with rasterio.open(tmp_path / "d.tif") as ds:
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert ds.nodata == FLOAT_NODATA and ds.crs.to_epsg() == 32614
        a = ds.read(1, masked=True)
        assert a.mask[0, 0] and a.mask[3, 4] and a.mask.sum() == 2
        assert ds.descriptions == ("maximum water depth (m)",)
        assert ds.tags()["TITLE"] == "maximum water depth (m)" and ds.tags()["RUN_TITLE"] == "run"
        assert ds.tags(1)["units"] == "m"
    write_geotiff(
        tmp_path / "m.tif",
        np.ones(dem.shape, np.uint8),
        dem,
        dtype="uint8",
        description="wet: 1, dry: 0",
    )
    with rasterio.open(tmp_path / "m.tif") as ds:
        assert ds.dtypes == ("uint8",) and ds.nodata == 255
        assert ds.read(1)[0, 0] == 255 and ds.read(1)[1, 1] == 1


def test_flood_polygons_are_all_valid_and_keep_the_area():
    # random speckle: under 8-connectivity many rings touch themselves at corners
    rng = np.random.default_rng(0)
    wet = rng.random((60, 80)) < 0.45
    dem = Dem(
        np.zeros((60, 80), np.float32), 30.0, from_origin(500000, 4e6, 30, 30), "EPSG:32614", "d"
    )
    polys = wet_polygons(wet, dem)
    assert all(shapely.is_valid(p) for p, _ in polys)
    assert sum(n for _, n in polys) == pytest.approx(wet.sum())
    fc = flood_features(wet, dem)
    assert all(shapely.is_valid(shape(f["geometry"])) for f in fc["features"])
    total = sum(f["properties"]["area_m2"] for f in fc["features"])
    assert total == pytest.approx(wet.sum() * 900.0)


def test_diagonal_cells_are_two_valid_polygons():
    wet = np.zeros((4, 4), bool)
    wet[1, 1] = wet[2, 2] = True
    polys = wet_polygons(wet, Dem(np.zeros((4, 4), np.float32), 1.0))
    assert len(polys) == 2 and all(p.is_valid for p, _ in polys)


def test_geopackage_in_dem_crs(tmp_path):
    import pyogrio

    wet = np.zeros((NY, NX), bool)
    wet[2:5, 3:7] = True
    wet[10:12, 10:20] = True
    write_geopackage(tmp_path / "f.gpkg", wet, dem_on("utm"), {"model": "m1"})
    info = pyogrio.read_info(tmp_path / "f.gpkg")
    assert info["crs"] == "EPSG:32614" and info["features"] == 2
    _, _, _, fields = pyogrio.raw.read(tmp_path / "f.gpkg")
    assert sorted(fields[0]) == [12 * 25.0, 20 * 25.0]  # area_m2 on 5 m cells


@pytest.mark.parametrize("grid", sorted(GRIDS))
def test_map_axes_in_crs_with_scale_bar(grid):
    from matplotlib.figure import Figure

    dem = dem_on(grid)
    f = map_frame(dem.shape, 5.0, dem.transform, dem.crs)
    assert f["extent"][0] == pytest.approx(dem.transform.c)
    assert ("longitude" in f["xlabel"]) == (grid == "lonlat")
    assert ("US_survey_foot" in f["xlabel"]) == (grid == "ftUS")
    if grid == "ftUS":
        assert f["m_per_unit"] == pytest.approx(1200 / 3937)
    ax = Figure().add_subplot()
    add_scale_bar(ax, f)
    bars = [a for a in ax.artists if type(a).__name__ == "AnchoredSizeBar"]
    assert len(bars) == 1
