"""io.regrid.reproject_to_dem: the one reprojection behind rain (bilinear) and land-surface
rasters (nearest) on the DEM grid; values pinned by hand on a 2 x 2 source of 20 m cells."""

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.io.rain import regrid_to_dem
from floodcast.io.raw_rain import RawRain
from floodcast.io.regrid import reproject_to_dem

CRS = "EPSG:32633"
SRC_T = from_origin(1000, 2000, 20, 20)  # 2 x 2 cells of 20 m: x 1000-1040, y 1960-2000
SRC = np.array([[1.0, 3.0], [5.0, 7.0]])


@pytest.fixture
def dem():  # 4 x 4 cells of 10 m over the same 40 m square
    return Dem(np.zeros((4, 4), np.float32), 10.0, from_origin(1000, 2000, 10, 10), CRS, "d.tif")


def test_nearest_copies_each_source_cell_onto_the_four_it_covers(dem):
    got = reproject_to_dem(SRC, SRC_T, CRS, dem, "nearest", "--manning n.tif")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, np.kron(SRC, np.ones((2, 2))))


def test_bilinear_interpolates_between_source_cell_centres(dem):
    stack = np.stack([SRC, 2 * SRC]).astype(np.float32)  # [t, y, x]: every frame regridded
    got = reproject_to_dem(stack, SRC_T, CRS, dem, "bilinear", "rain.nc", np.float32)
    assert got.shape == (2, 4, 4) and got.dtype == np.float32
    # DEM cell (1, 1) has its centre 5 m east and 5 m south of source cell (0, 0)'s, a
    # quarter of the 20 m spacing: 1 + 0.25 * (3 - 1) + 0.25 * (5 - 1) = 2.5
    assert got[0, 1, 1] == pytest.approx(2.5)
    # and (2, 2) is a quarter from (1, 1): 7 - 0.25 * 2 - 0.25 * 4 = 5.5; frame 2 doubles
    assert got[0, 2, 2] == pytest.approx(5.5) and got[1, 2, 2] == pytest.approx(11.0)


def test_uncovered_dem_cells_are_nan(dem):
    half = from_origin(1000, 2000, 20, 10)  # the source covers the DEM's north half only
    got = reproject_to_dem(SRC, half, CRS, dem, "nearest", "--manning n.tif")
    assert np.isfinite(got[:2]).all() and np.isnan(got[2:]).all()


def test_a_crs_that_cannot_be_reprojected_is_named(dem):
    local = rasterio.crs.CRS.from_wkt('LOCAL_CS["nowhere",UNIT["metre",1]]')
    with pytest.raises(InputError, match="--manning n.tif: cannot reproject from"):
        reproject_to_dem(SRC, SRC_T, local, dem, "nearest", "--manning n.tif")
    raw = RawRain(np.stack([SRC, SRC]), np.array([0.0, 300.0]), "r.nc", SRC_T, local)
    with pytest.raises(InputError, match="r.nc: cannot reproject"):  # was rasterio's error
        regrid_to_dem(raw, dem)
