"""Every raster `nowcast` and `simulate` write: GDAL (rasterio) reads its CRS and nodata;
the physics nowcast's NetCDF is CF through io/cf.py (lon/lat on a geographic DEM)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin
from typer.testing import CliRunner

from floodcast.cli import app
from floodcast.defaults import BYTE_NODATA, FLOAT_NODATA
from floodcast.io.cf import check_cf

from .test_nowcast import blob_frames

NY, NX = 40, 50  # STEPS's cascade needs more than about 32 cells a side


def _inputs(tmp_path: Path, crs: str) -> tuple[Path, Path]:
    """A valley DEM with a wall cell (NaN) in ``crs`` (~50 m cells) and moving rain."""
    z = (100 + np.add.outer(np.arange(NY) * 0.3, np.abs(np.arange(NX) - NX / 2) * 0.4)).astype(
        np.float32
    )
    z[0, 0] = np.nan  # a wall: nodata in every raster
    geographic = crs == "EPSG:4326"
    t = from_origin(-97.0, 33.0, 0.0005, 0.0005) if geographic else from_origin(5e5, 4e6, 50, 50)
    dem = tmp_path / f"dem_{crs.replace(':', '')}.tif"
    with rasterio.open(
        dem, "w", driver="GTiff", height=NY, width=NX, count=1, dtype="float32", crs=crs,
        transform=t, nodata=np.nan,
    ) as ds:  # fmt: skip
        ds.write(z, 1)
    rain = tmp_path / "rain.npz"
    frames = blob_frames(5, ny=NY, nx=NX, vel=(0.5, 1.0)) * 6
    np.savez(rain, rain_mmh=frames, times_s=np.arange(5) * 300.0)
    return dem, rain


def _rasters(folder: Path) -> list[str]:
    """Every GeoTIFF and every NetCDF variable GDAL sees, as the names rasterio opens."""
    names = [str(p) for p in sorted(folder.rglob("*.tif"))]
    for nc in sorted(folder.rglob("*.nc")):
        with rasterio.open(nc) as ds:
            names += list(ds.subdatasets) or [str(nc)]
    return names


def _check_all(folder: Path, epsg: int) -> list[str]:
    names = _rasters(folder)
    for name in names:
        with rasterio.open(name) as r:
            assert r.crs is not None and r.crs.to_epsg() == epsg, name
            assert r.nodata is not None, name
            if name.endswith(".tif"):
                want = BYTE_NODATA if r.dtypes[0] == "uint8" else FLOAT_NODATA
                assert r.nodata == want, name  # one nodata for every floodcast GeoTIFF
                assert (r.read(1)[0, 0] == want) or r.count == 0, name  # the wall
    return names


def test_every_nowcast_raster_has_crs_and_nodata(model_file, tmp_path):
    dem, rain = _inputs(tmp_path, "EPSG:32614")
    out = tmp_path / "both"
    args = ["--engine", "both", "--model", model_file, "--dem", dem, "--rain", rain]
    args += ["--out", out, "--ensemble", 2, "--lead", 10, "--spin-up", 0]
    r = CliRunner().invoke(app, ["nowcast", *map(str, args)])
    assert r.exit_code == 0, r.output
    names = _check_all(out, 32614)
    # both engines' files: the physics leads, the model's leads and its rain forecast
    for part in ("lead_010min.tif", "max_over_lead.tif", "flooding_probability", "nowcast.nc"):
        assert any(part in n for n in names), part
    assert check_cf(out / "nowcast.nc") == []


def test_geographic_nowcast_netcdf_is_lon_lat_and_simulate_rasters(tmp_path):
    import xarray as xr

    dem, rain = _inputs(tmp_path, "EPSG:4326")
    out = tmp_path / "geo"
    args = ["--dem", dem, "--rain", rain, "--out", out, "--ensemble", 0, "--lead", 10]
    r = CliRunner().invoke(app, ["nowcast", *map(str, [*args, "--spin-up", 0])])
    assert r.exit_code == 0, r.output
    _check_all(out, 4326)
    with xr.open_dataset(out / "nowcast.nc", decode_timedelta=False) as ds:
        # was projection_x_coordinate in "degrees" before io/cf.make_cf wrote them
        assert ds["x"].attrs["standard_name"] == "longitude"
        assert ds["y"].attrs["units"] == "degrees_north"
        assert ds["probability"].attrs["grid_mapping"] == "spatial_ref"
    assert check_cf(out / "nowcast.nc") == []
    sim = tmp_path / "sim"
    r = CliRunner().invoke(
        app,
        ["simulate", "--dem", str(dem), "--rain", "40mm/h:600s", "--duration", "600"]
        + ["--save-every", "300", "--out", str(sim)],
    )
    assert r.exit_code == 0, r.output
    names = _check_all(sim, 4326)
    assert any(n.endswith("max_depth.tif") for n in names)
    assert any("depth.nc" in n and n.endswith(":max_depth") for n in names)
