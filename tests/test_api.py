"""The Python API: floodcast.simulate / predict_flood return CF datasets with a CRS."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import rasterio
import xarray as xr

import floodcast


def test_import_floodcast_stays_light():
    code = (
        "import sys, floodcast; heavy = [m for m in ('xarray', 'rasterio', 'numba', "
        "'torch') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_simulate_returns_dataset_with_crs_and_writes_the_cli_file(tmp_path):
    # the docs' notebook example, on the bundled DEM (coarse time steps to stay fast)
    ds = floodcast.simulate(
        "sample", "40mm/h:20min", duration_s=1200, save_every_s=600, max_step_s=10.0
    )
    assert ds.rio.crs.to_epsg() == 4326 and ds["depth"].dims == ("time", "y", "x")
    assert ds["max_depth"].max() > 0 and ds.attrs["Conventions"] == "CF-1.8"
    ds.to_netcdf(tmp_path / "depth.nc")
    with rasterio.open(f"NETCDF:{tmp_path / 'depth.nc'}:max_depth") as r:
        assert r.crs.to_epsg() == 4326 and r.bounds.left < -84.2 < r.bounds.right
    # the same variables, coordinates and values as `floodcast simulate`
    from floodcast.simulation.job import SimulateRequest, run_job

    run_job(
        SimulateRequest(
            dem="sample",
            rain="40mm/h:20min",
            duration_s=1200,
            save_every_s=600,
            max_step_s=10.0,
            out=tmp_path / "cli",
        )
    )
    with (
        xr.open_dataset(tmp_path / "cli" / "depth.nc") as a,
        xr.open_dataset(tmp_path / "depth.nc") as b,
    ):
        assert set(a.variables) == set(b.variables)
        np.testing.assert_array_equal(a["max_depth"].values, b["max_depth"].values)
        assert a["x"].attrs == b["x"].attrs and a.attrs["settings"] != ""


def test_simulate_accepts_a_rioxarray_dem(tmp_path):
    import rioxarray
    from rasterio.transform import from_origin

    z = np.add.outer(np.arange(20) * 0.1, np.zeros(25)).astype(np.float32)
    with rasterio.open(
        tmp_path / "d.tif",
        "w",
        driver="GTiff",
        height=20,
        width=25,
        count=1,
        dtype="float32",
        crs="EPSG:32614",
        transform=from_origin(5e5, 4e6, 10, 10),
    ) as f:
        f.write(z, 1)
    da = rioxarray.open_rasterio(tmp_path / "d.tif")
    ds = floodcast.simulate(da, "20mm/h:600s", duration_s=600, save_every_s=300)
    assert ds.rio.crs.to_epsg() == 32614 and ds.sizes["x"] == 25
    assert float(ds["x"][0]) == 5e5 + 5


def test_simulate_converts_elevation_units_of_dems_and_dataarrays_once(tmp_path):
    # hand calculation: 100 ft = 30.48 m; 100 US survey ft = 100 * 1200 / 3937 = 30.480061 m
    import rioxarray  # noqa: F401  (the .rio accessor)
    from rasterio.transform import from_origin

    from floodcast.io.dem import Dem

    z = np.full((6, 8), 100.0, np.float32)
    z[:, 4:] = 110.0
    tr = from_origin(5e5, 4e6, 10, 10)
    run = {"duration_s": 60, "save_every_s": 60, "max_step_s": 10.0}
    dem = Dem(z.copy(), 10.0, tr, "EPSG:32614", "feet.tif")
    ds = floodcast.simulate(dem, "10mm/h:60s", elevation_units="ft", **run)
    np.testing.assert_allclose(ds["elevation"].values[0], [30.48] * 4 + [33.528] * 4, rtol=1e-6)
    assert "converted from ft to metres" in ds.attrs["notes"]  # JSON list of notes
    np.testing.assert_array_equal(dem.elevation, z)  # the caller's Dem is left as it was
    da = xr.DataArray(
        z,
        dims=("y", "x"),
        coords={"y": 4e6 - 5 - 10 * np.arange(6), "x": 5e5 + 5 + 10 * np.arange(8)},
    )
    da = da.rio.write_crs("EPSG:32614")
    ds = floodcast.simulate(da, "10mm/h:60s", elevation_units="ftUS", **run)
    assert float(ds["elevation"][0, 0]) == pytest.approx(30.480061, rel=1e-6)
    # a path is converted once too (not once by the API and again by the job)
    with rasterio.open(
        tmp_path / "f.tif",
        "w",
        driver="GTiff",
        height=6,
        width=8,
        count=1,
        dtype="float32",
        crs="EPSG:32614",
        transform=tr,
    ) as f:
        f.write(z, 1)
    ds = floodcast.simulate(str(tmp_path / "f.tif"), "10mm/h:60s", elevation_units="ft", **run)
    assert float(ds["elevation"][0, 0]) == pytest.approx(30.48, rel=1e-6)


def test_predict_flood_returns_cf_dataset(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "pc", __file__.replace("test_api.py", "predict/conftest.py")
    )
    pc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pc)
    import torch

    from floodcast.models.checkpoint import save_model
    from floodcast.models.registry import build_model

    torch.manual_seed(0)
    save_model(
        build_model({"name": "small_unet", "in_channels": 4}), tmp_path / "m.pt", pc.model_extra()
    )
    from rasterio.transform import from_origin

    z = np.add.outer(np.arange(40), np.abs(np.arange(50) - 25)).astype(np.float32)
    with rasterio.open(
        tmp_path / "d.tif",
        "w",
        driver="GTiff",
        height=40,
        width=50,
        count=1,
        dtype="float32",
        crs="EPSG:32614",
        transform=from_origin(5e5, 4e6, 50, 50),
    ) as f:
        f.write(z, 1)
    np.savez(
        tmp_path / "r.npz",
        rain_mmh=np.full((3, 40, 50), 20, np.float32),
        times_s=np.arange(3) * 300.0,
    )
    ds = floodcast.predict_flood(
        tmp_path / "m.pt", str(tmp_path / "d.tif"), rain=str(tmp_path / "r.npz")
    )
    assert ds.rio.crs.to_epsg() == 32614 and set(ds.data_vars) >= {"wet_probability", "wet"}
    ds.to_netcdf(tmp_path / "p.nc")
    with rasterio.open(f"NETCDF:{tmp_path / 'p.nc'}:wet_probability") as r:
        assert r.crs.to_epsg() == 32614 and r.bounds.left == 5e5
