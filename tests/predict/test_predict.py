"""predict: tiling/blending, input refusal, and the CLI outputs (GeoTIFF, PNG, GeoJSON)."""

import json

import numpy as np
import pytest
import rasterio
import torch
from typer.testing import CliRunner

from floodcast.cli import app
from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.predict.mapper import FloodMapper, _blend_weights
from floodcast.predict.outputs import flood_geojson


def test_blend_weights_partition():
    w = _blend_weights(8, 2)
    assert w.max() == 1.0 and w.min() > 0
    assert np.allclose(w, w[::-1, ::-1])


def test_tiled_equals_untiled_for_constant_model(make_extra):
    class Const(torch.nn.Module):
        def forward(self, x):
            z = torch.zeros(x.shape[0], 2, *x.shape[2:])
            z[:, 1] = 2.0
            return {"logits": z}

    m = FloodMapper(Const(), make_extra(), patch=32, overlap=8)
    fm = m.predict(np.ones((3, 70, 45), np.float32), np.zeros((70, 45), np.float32), 50.0, 300.0)
    np.testing.assert_allclose(fm.probability, 1 / (1 + np.exp(-2.0)), rtol=1e-5)
    assert fm.wet.all()


def test_refuses_inputs_it_was_not_trained_for(model_file):
    m = FloodMapper.load(model_file)
    z = np.zeros((40, 40), np.float32)
    with pytest.raises(InputError, match="needs the last 3"):
        m.predict(np.zeros((2, 40, 40)), z, 50.0, 300.0)
    with pytest.raises(InputError, match="cell size"):
        m.predict(np.zeros((3, 40, 40)), z, 500.0, 300.0)
    with pytest.raises(InputError, match="interval"):
        m.predict(np.zeros((3, 40, 40)), z, 50.0, 900.0)


def test_geojson_area_of_a_square():
    wet = np.zeros((10, 10), bool)
    wet[2:5, 3:7] = True
    fc = flood_geojson(wet, Dem(np.zeros((10, 10), np.float32), 10.0))
    assert len(fc["features"]) == 1
    assert fc["features"][0]["properties"]["area_m2"] == pytest.approx(12 * 100.0)


def test_predict_cli_writes_georeferenced_outputs(model_file, tmp_path):
    from rasterio.transform import from_origin

    tr = from_origin(500000, 4000000, 50, 50)
    dem_path = tmp_path / "dem.tif"
    z = np.add.outer(np.arange(40), np.abs(np.arange(50) - 25)).astype(np.float32)
    with rasterio.open(
        dem_path,
        "w",
        driver="GTiff",
        height=40,
        width=50,
        count=1,
        dtype="float32",
        crs="EPSG:32614",
        transform=tr,
    ) as ds:
        ds.write(z, 1)
    rain = tmp_path / "rain.npz"
    np.savez(rain, rain_mmh=np.full((4, 40, 50), 20.0, np.float32), times_s=np.arange(4) * 300.0)
    out = tmp_path / "pred"
    r = CliRunner().invoke(
        app,
        [
            "predict",
            "--model",
            str(model_file),
            "--dem",
            str(dem_path),
            "--rain",
            str(rain),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    with rasterio.open(out / "wet_probability.tif") as ds:
        assert ds.crs.to_epsg() == 32614 and ds.transform == tr
        p = ds.read(1)
    assert p.shape == (40, 50) and np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()
    fc = json.loads((out / "flood.geojson").read_text())
    assert fc["type"] == "FeatureCollection"
    assert (out / "flood.png").stat().st_size > 1000
    # GIS-grade (#20): Byte mask, band titles that match the band, COG layout, GeoPackage
    with rasterio.open(out / "wet_mask.tif") as ds:
        assert ds.dtypes == ("uint8",) and ds.nodata == 255 and ds.crs.to_epsg() == 32614
        assert ds.descriptions[0].startswith("wet") and ds.tags()["TITLE"] == ds.descriptions[0]
        assert ds.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
    with rasterio.open(out / "wet_probability.tif") as ds:
        assert ds.descriptions[0].startswith("probability") and ds.nodata == -9999.0
    import pyogrio

    assert pyogrio.read_info(out / "flood.gpkg")["crs"] == "EPSG:32614"


def test_predict_cli_bad_input_leaves_nothing(model_file, tmp_path):
    out = tmp_path / "pred"
    r = CliRunner().invoke(
        app,
        [
            "predict",
            "--model",
            str(model_file),
            "--dem",
            "sample",
            "--rain",
            str(tmp_path / "missing.npz"),
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 1
    assert not out.exists()


class Probe(torch.nn.Module):
    """Stands in for a model: records its input (``seen["x"]``); wet logit ``wet(x)``."""

    def __init__(self, seen: dict, wet=None):
        super().__init__()
        self.seen, self.wet = seen, wet

    def forward(self, x):
        self.seen["x"] = x
        z = torch.zeros(x.shape[0], 2, *x.shape[2:])
        if self.wet is not None:
            z[:, 1] = self.wet(x)
        return {"logits": z}


def test_mapper_derives_depression_depth_from_the_dem_it_is_given(make_extra):
    seen = {}
    m = FloodMapper(
        Probe(seen), make_extra(extras=("upslope_area", "depression_depth")), patch=32, overlap=0
    )
    z = np.full((32, 32), 10.0, np.float32)
    z[10:12, 10:12] = 9.0  # a 1-m pit on a plateau: log1p(1 / 0.1) / 2 = 1.199
    m.predict(np.full((4, 32, 32), 6.0, np.float32), z, 50.0, 300.0)
    want = np.zeros((32, 32), np.float32)
    want[10:12, 10:12] = np.log1p(10.0) / 2
    np.testing.assert_allclose(seen["x"][0, -1].numpy(), want, rtol=1e-6)


def test_mapper_derives_reference_depth_at_the_rain_fallen_so_far(make_extra):
    from floodcast.data.reference_storm import reference_depth_at, reference_series

    seen = {}
    m = FloodMapper(Probe(seen), make_extra(extras=("reference_depth",)), patch=32, overlap=0)
    z = np.full((32, 32), 10.0, np.float32)
    z[10:14, 10:14] = 9.0  # a 1-m pit on a plateau
    rain = np.full((6, 32, 32), 24.0, np.float32)  # 6 x 5 min at 24 mm/h: 12 mm so far
    m.predict(rain, z, 50.0, 300.0)
    d = reference_depth_at(*reference_series(z, 50.0), np.full((32, 32), 12.0))
    np.testing.assert_allclose(seen["x"][0, -1].numpy(), np.log1p(d / 0.05), rtol=1e-5)
    assert d[10:14, 10:14].min() > 2 * d[0, 0]  # the pit holds twice the flat plateau's film


def test_mapper_derives_matched_depth_on_the_storm_of_the_rain_rate_so_far(make_extra):
    from floodcast.data.reference_storm import matched_depth_at, matched_series

    seen = {}
    m = FloodMapper(Probe(seen), make_extra(extras=("matched_depth",)), patch=32, overlap=0)
    z = np.full((32, 32), 10.0, np.float32)
    z[10:14, 10:14] = 9.0
    rain = np.full((6, 32, 32), 24.0, np.float32)  # 12 mm in 0.5 h: the 24 mm/h storm
    m.predict(rain, z, 50.0, 300.0)
    d = matched_depth_at(matched_series(z, 50.0), np.full((32, 32), 12.0), 0.5)
    np.testing.assert_allclose(seen["x"][0, -1].numpy(), np.log1p(d / 0.05), rtol=1e-5)
    assert d[10:14, 10:14].min() > d[0, 0]


def test_warm_up_runs_the_storms_once_before_the_first_map(make_extra, monkeypatch):
    from floodcast.data.reference_storm import MATCHED_RATES_MMH
    from floodcast.physics import solver

    runs = []
    real = solver.run
    monkeypatch.setattr(solver, "run", lambda sim, **k: runs.append(sim) or real(sim, **k))
    m = FloodMapper(Probe({}), make_extra(extras=("matched_depth",)), patch=32, overlap=0)
    z = np.full((32, 32), 10.0, np.float32)
    z[10:14, 10:14] = 9.37  # a DEM no other test uses: its storms are not cached yet
    assert m.warm_up(z, 50.0) > 0
    assert len(runs) == len(MATCHED_RATES_MMH)  # the ladder's simulations, once
    m.predict(np.full((6, 32, 32), 2.0, np.float32), z, 50.0, 300.0)
    assert len(runs) == len(MATCHED_RATES_MMH)  # the first map reuses them


@pytest.mark.parametrize(
    "channel,key,field",
    [
        ("reference_depth", "reference_storm", "rate_mmh"),
        ("matched_depth", "matched_storm", "rates_mmh"),
    ],
)
def test_mapper_refuses_a_model_trained_on_other_storms(make_extra, channel, key, field):
    from floodcast.data.reference_storm import settings_record

    extra = make_extra(extras=(channel,))
    extra["data"].update(settings_record([channel]))
    FloodMapper(Probe({}), extra, patch=32, overlap=0)  # the storms this code runs: fine
    extra["data"][key] = {**extra["data"][key], field: 2.5}
    with pytest.raises(InputError, match=f"trained with the {key.replace('_', ' ')}"):
        FloodMapper(Probe({}), extra, patch=32, overlap=0)


def test_mapper_derives_routed_channels_and_uses_the_calibrated_cut(make_extra):
    seen = {}
    extra = {**make_extra(extras=("upslope_area", "upslope_rain")), "cut": 0.45}
    # wet probability grows with the routed rain
    m = FloodMapper(Probe(seen, lambda x: x[:, -1] - 0.3), extra, patch=32, overlap=0)
    assert m.cut == 0.45
    z = np.tile(np.linspace(10.0, 0.0, 32, dtype=np.float32), (32, 1))  # a ramp falling east
    fm = m.predict(np.full((4, 32, 32), 6.0, np.float32), z, 50.0, 300.0)
    up = seen["x"][0, -1].numpy()
    assert (np.diff(up, axis=1) > 0).all()  # more rain is routed to every cell downslope
    # 4 frames of 6 mm/h over 5 min = 2 mm on 2500 m2 = 5 m3 per cell upslope
    np.testing.assert_allclose(up[:, 0], np.log10(1 + 5.0) / 4, rtol=1e-5)
    np.testing.assert_array_equal(fm.wet, fm.probability > 0.45)
    other = m.predict(np.full((4, 32, 32), 6.0, np.float32), z, 50.0, 300.0, cut=0.5)
    assert not np.array_equal(fm.wet, other.wet)
    assert (fm.cut, other.cut) == (0.45, 0.5)  # each map records the cut that made it


def _predict_cli(tmp_path, model, *extra_args) -> object:
    """``floodcast predict`` on a 32 x 32 flat npz DEM (50 m) with 3 frames of 6 mm/h."""
    dem = tmp_path / "dem.npz"
    np.savez(dem, elevation=np.full((32, 32), 10.0, np.float32), cell_size=50.0)
    rain = tmp_path / "rain.npz"
    np.savez(rain, rain_mmh=np.full((3, 32, 32), 6.0, np.float32), times_s=np.arange(3) * 300.0)
    args = ["predict", "--model", str(model), "--dem", str(dem), "--rain", str(rain)]
    return CliRunner().invoke(app, [*args, "--out", str(tmp_path / "pred"), *extra_args])


def test_predict_manning_raster_reaches_the_models_manning_channel(
    make_extra, tmp_path, monkeypatch
):
    seen = {}
    mapper = FloodMapper(Probe(seen), make_extra(extras=("manning",)), patch=32, overlap=0)
    monkeypatch.setattr(FloodMapper, "load", classmethod(lambda cls, path, **kw: mapper))
    n = np.full((32, 32), 0.035)
    n[:, 16:] = 0.1  # east half rough, one smooth cell
    n[3, 4] = 0.02
    np.savez(tmp_path / "n.npz", elevation=n, cell_size=50.0)
    r = _predict_cli(tmp_path, "probe.pt", "--manning", str(tmp_path / "n.npz"))
    assert r.exit_code == 0, r.output
    got = seen["x"][0, -1].numpy()  # the last channel: the model's one extra
    assert abs(got[0, 0]) < 1e-7  # ln(0.035 / 0.035), n read as float32
    np.testing.assert_allclose(got[0, 20], 1.0498221, rtol=1e-6)  # ln(0.1 / 0.035)
    np.testing.assert_allclose(got[3, 4], -0.5596158, rtol=1e-6)  # ln(0.02 / 0.035)
    meta = json.loads((tmp_path / "pred" / "prediction.json").read_text())
    assert meta["manning"] == str(tmp_path / "n.npz")
    # a number: uniform; no option: the default n, 0 everywhere
    assert _predict_cli(tmp_path, "probe.pt", "--manning", "0.07").exit_code == 0
    np.testing.assert_allclose(seen["x"][0, -1].numpy(), np.log(2.0), rtol=1e-6)
    assert _predict_cli(tmp_path, "probe.pt").exit_code == 0
    assert not seen["x"][0, -1].numpy().any()


def test_predict_manning_errors_and_a_model_without_the_channel(model_file, tmp_path):
    bad = tmp_path / "n.npz"
    np.savez(bad, elevation=np.zeros((32, 32)), cell_size=50.0)
    r = _predict_cli(tmp_path, model_file, "--manning", str(bad))
    assert r.exit_code == 1 and "--manning" in r.output and "must be > 0" in r.output
    assert not (tmp_path / "pred").exists()
    r = _predict_cli(tmp_path, model_file, "--manning-table", str(tmp_path / "t.csv"))
    assert r.exit_code == 1 and "--manning-table needs --landcover" in r.output
    r = _predict_cli(tmp_path, model_file, "--manning", "0.05")  # the model has no such input
    assert r.exit_code == 0 and "has no manning input channel" in r.stderr
    meta = json.loads((tmp_path / "pred" / "prediction.json").read_text())
    assert meta["manning"] == "not a model input"
