"""`floodcast radar info`: summary text, JSON, PNG strip, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from floodcast.cli import app

runner = CliRunner()


@pytest.fixture
def stack_nc(tmp_path):
    import rioxarray  # noqa: F401
    import xarray as xr

    rain = np.zeros((5, 8, 10), np.float32)
    rain[:, 2:5, 3:7] = np.arange(1, 6, dtype=np.float32)[:, None, None]
    rain[2, 0, 0] = 5000.0  # a spike
    rain[:, -1, :] = np.nan  # no coverage on the south row
    t = np.datetime64("2021-07-14T12:00") + np.array([0, 5, 10, 25, 30]) * np.timedelta64(1, "m")
    da = xr.DataArray(
        rain,
        dims=("time", "y", "x"),
        attrs={"units": "mm/h"},
        coords={
            "time": t.astype("datetime64[ns]"),
            "x": 500.0 + 1000 * np.arange(10),
            "y": 7500.0 - 1000 * np.arange(8),
        },
    )
    p = tmp_path / "stack.nc"
    da.to_dataset(name="rain").rio.write_crs("EPSG:25832").to_netcdf(p)
    return p


def test_radar_info_text_and_png(stack_nc, tmp_path):
    png = tmp_path / "out" / "strip.png"
    res = runner.invoke(app, ["radar", "info", str(stack_nc), "--png", str(png), "--frames", "3"])
    assert res.exit_code == 0, res.output
    out = res.output
    assert "source:     netcdf" in out and "frames:     5" in out
    assert "interval:   5 min" in out and "8 x 10 (y, x), cell 1000 m" in out
    assert "clipped:    1 values" in out and "max rate:   5.00 mm/h" in out
    assert "gaps:       1\n  2021-07-14T12:10:00 -> 2021-07-14T12:25:00" in out
    assert "coverage:   87.2 %" in out  # 7 of 8 rows, less the spike
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"


def test_radar_info_json_and_errors(stack_nc, tmp_path):
    res = runner.invoke(
        app, ["radar", "info", str(stack_nc), "--json", "--end", "2021-07-14T12:10"]
    )
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["frames"] == 3 and s["gaps"] == [] and s["n_clipped"] == 1
    bad = runner.invoke(app, ["radar", "info", str(tmp_path / "missing.nc")])
    assert bad.exit_code == 1 and "missing.nc" in bad.output
    unk = runner.invoke(app, ["radar", "info", str(stack_nc), "--source", "nexrad"])
    assert unk.exit_code == 1 and "valid:" in unk.output


@pytest.mark.shared_data
def test_radar_info_real_mch(shared_data, tmp_path):
    d = shared_data / "radar/pysteps-data/radar/mch/20150515"
    res = runner.invoke(
        app,
        ["radar", "info", str(d), "--end", "2015-05-15T15:55", "--png", str(tmp_path / "mch.png")],
    )
    assert res.exit_code == 0, res.output
    assert "source:     mch (input unit: mm)" in res.output and "frames:     3" in res.output
    assert "640 x 710 (y, x), cell 1000 m" in res.output and (tmp_path / "mch.png").exists()


def test_info_takes_source_colon_path_and_short_names(stack_nc):
    r = runner.invoke(app, ["radar", "info", f"netcdf:{stack_nc}", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["source"] == "netcdf"
    r = runner.invoke(app, ["radar", "info", str(stack_nc), "--source", "nc", "--json"])
    assert r.exit_code == 0, r.output


def test_convert_writes_cf_rain_that_simulate_reads(stack_nc, tmp_path):
    import rasterio

    from floodcast.io.rain import read_rain

    out = tmp_path / "rain.nc"
    r = runner.invoke(app, ["radar", "convert", f"netcdf:{stack_nc}", "--to", str(out)])
    assert r.exit_code == 0, r.output
    with rasterio.open(f"NETCDF:{out}:rain") as ds:
        assert ds.crs.to_epsg() == 25832 and ds.bounds.left == 0.0 and ds.bounds.top == 8000.0
    rain = read_rain(out)
    assert rain.rates_mmh.shape == (5, 8, 10) and rain.times_s[-1] == 30 * 60
    assert str(rain.attrs["start_time"])[:16] == "2021-07-14T12:00"
