"""Writers: NetCDF depth series, GeoTIFF, mass CSV, JSON and the hillshade PNG."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from floodcast.io.dem import Dem
from floodcast.io.geotiff import write_geotiff
from floodcast.io.plotting import hillshade, plot_depth_map
from floodcast.io.writers import (
    MASS_COLUMNS,
    grid_coords,
    write_depth_netcdf,
    write_json,
    write_mass_csv,
)

NY, NX = 20, 30


def geo_dem():
    z = np.add.outer(np.arange(NY, dtype=np.float32), np.arange(NX, dtype=np.float32))
    return Dem(z, 5.0, from_origin(500000, 4000000, 5, 5), "EPSG:32614", "d.tif")


def no_leftovers(folder):
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


def test_depth_netcdf_roundtrip_with_crs(tmp_path):
    dem = geo_dem()
    depth = np.random.default_rng(0).random((3, NY, NX)).astype(np.float32)
    write_depth_netcdf(
        tmp_path / "depth.nc",
        np.array([60.0, 120, 180]),
        depth,
        depth.max(0),
        dem,
        attrs={"manning_n": 0.035, "settings": {"a": 1}, "pad_zero": False},
    )
    with xr.open_dataset(tmp_path / "depth.nc") as ds:
        assert ds["depth"].dims == ("time", "y", "x") and ds["max_depth"].dims == ("y", "x")
        assert ds["depth"].attrs["units"] == "m"
        assert ds["time"].encoding["units"].startswith("seconds since 1970-01-01")
        np.testing.assert_array_equal(ds["depth"].values, depth)
        secs = (ds["time"].values - np.datetime64("1970-01-01")) / np.timedelta64(1, "s")
        np.testing.assert_array_equal(secs, [60, 120, 180])
        assert ds["x"].values[0] == 500002.5 and ds["y"].values[0] == 4000000 - 2.5
        assert ds.attrs["manning_n"] == 0.035 and json.loads(ds.attrs["settings"]) == {"a": 1}
        assert ds.rio.crs.to_epsg() == 32614
    assert no_leftovers(tmp_path)


def test_geotiff_georeferenced_and_local(tmp_path):
    dem = geo_dem()
    write_geotiff(tmp_path / "g.tif", dem.elevation, dem)
    with rasterio.open(tmp_path / "g.tif") as ds:
        assert ds.crs.to_epsg() == 32614 and ds.transform == dem.transform
        np.testing.assert_array_equal(ds.read(1), dem.elevation)
    local = Dem(dem.elevation, 2.0)
    write_geotiff(tmp_path / "l.tif", local.elevation, local)
    with rasterio.open(tmp_path / "l.tif") as ds:
        assert ds.crs is None and ds.transform.a == 2.0 and ds.transform.f == NY * 2.0
    x, y, units = grid_coords(local)
    assert x[0] == 1.0 and y[0] == NY * 2.0 - 1.0 and units == "m"


def test_mass_csv_and_json(tmp_path):
    rows = [dict(zip(MASS_COLUMNS, [60.0, 1.0, 0, 0.5, 0, 0, 0.5, 0.0, 0.0, 0.0], strict=False))]
    write_mass_csv(tmp_path / "m.csv", rows)
    with open(tmp_path / "m.csv") as fh:
        recs = list(csv.DictReader(fh))
    assert recs[0]["time_s"] == "60" and recs[0]["boundary_out_m3"] == "0.5"
    write_json(tmp_path / "r.json", {"inf": math.inf, "arr": np.float32(1.5), "p": tmp_path})
    d = json.loads((tmp_path / "r.json").read_text())
    assert d == {"inf": "inf", "arr": 1.5, "p": str(tmp_path)}
    assert no_leftovers(tmp_path)


def test_depth_map_png(tmp_path):
    dem = geo_dem()
    dem.elevation[0, 0] = np.nan
    depth = np.zeros((NY, NX))
    depth[5:10, 5:10] = 0.5
    plot_depth_map(tmp_path / "m.png", depth, dem.elevation, dem.cell_size, threshold=0.1)
    assert (tmp_path / "m.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shade = hillshade(dem.elevation, dem.cell_size)
    assert shade.shape == (NY, NX) and shade[0, 0] == 1.0 and 0 <= shade.min() <= 1
