"""nowcast: pysteps extrapolation of a moving blob, seeded STEPS ensembles, flood maps per
lead time, and the `floodcast nowcast` CLI (outputs, clean failures)."""

import json
from dataclasses import replace

import numpy as np
import pytest
import rasterio
from affine import Affine
from typer.testing import CliRunner

from floodcast import defaults
from floodcast.cli import app
from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.io.radar import RadarSequence
from floodcast.predict.mapper import FloodMapper
from floodcast.predict.nowcast import extrapolate, flood_nowcast

VEL = (1.0, 2.0)  # blob motion (rows, cols) per frame


def blob_frames(nt, ny=64, nx=80, t0=0, vel=VEL):
    """Two Gaussian rain cells (mm/h) moving at constant velocity."""
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    out = []
    for t in range(t0, t0 + nt):
        dy, dx = vel[0] * t, vel[1] * t
        out.append(
            20 * np.exp(-((yy - 20 - dy) ** 2 + (xx - 20 - dx) ** 2) / (2 * 6.0**2))
            + 8 * np.exp(-((yy - 40 - dy) ** 2 + (xx - 15 - dx) ** 2) / (2 * 4.0**2))
        )
    return np.stack(out).astype(np.float32)


def csi(pred, obs, thr=1.0):
    ok = np.isfinite(pred) & np.isfinite(obs)
    p, o = (pred >= thr) & ok, (obs >= thr) & ok
    return (p & o).sum() / max((p | o).sum(), 1)


def test_extrapolation_reproduces_advected_blob_and_beats_persistence():
    obs = blob_frames(4)
    obs[:, :4, -4:] = np.nan  # a corner without coverage stays unknown
    fc = extrapolate(obs, 6)
    truth = blob_frames(6, t0=4)
    assert fc.shape == (6, 64, 80) and fc.dtype == np.float32
    assert np.isnan(fc[:, :4, -4:]).all()
    for k in range(6):
        c_ex, c_pers = csi(fc[k], truth[k]), csi(obs[-1], truth[k])
        assert c_ex > c_pers, (k, c_ex, c_pers)
        if k < 3:
            assert c_ex > 0.95, (k, c_ex)
    # the peak moves with the blob: (1, 2) cells per frame
    pk = np.unravel_index(np.nanargmax(fc[2]), fc[2].shape)
    assert abs(pk[0] - (20 + 6)) <= 1 and abs(pk[1] - (20 + 12)) <= 1


def test_steps_ensemble_is_reproducible_with_a_seed():
    obs = blob_frames(3, ny=48, nx=48, vel=(0.5, 1.0))
    a = extrapolate(obs, 3, method="steps", n_members=3, seed=7, interval_s=300.0)
    b = extrapolate(obs, 3, method="steps", n_members=3, seed=7, interval_s=300.0)
    c = extrapolate(obs, 3, method="steps", n_members=3, seed=8, interval_s=300.0)
    assert a.shape == (3, 3, 48, 48)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(np.nan_to_num(a), np.nan_to_num(c))
    assert np.nanmin(a) >= 0 and 5 < np.nanmax(a) < 60  # rain rates, back from dB
    assert not np.array_equal(np.nan_to_num(a[0]), np.nan_to_num(a[1]))  # members differ


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"frames": 1}, "at least 2"),
        ({"frames": 2, "method": "steps"}, "at least 3"),
        ({"method": "magic"}, "unknown nowcast method"),
        ({"flow": "telepathy"}, "unknown flow"),
        ({"n_steps": 0}, "n_steps"),
    ],
)
def test_extrapolate_refuses_bad_input(kw, match):
    obs = blob_frames(kw.pop("frames", 3), ny=24, nx=24)
    with pytest.raises(InputError, match=match):
        extrapolate(obs, kw.pop("n_steps", 2), **kw)


def test_flood_nowcast_per_lead_and_ensemble_probability(model_file):
    mapper = FloodMapper.load(model_file)
    rng = np.random.default_rng(0)
    elev = (
        100
        + np.add.outer(np.arange(48), np.abs(np.arange(48) - 24)) * 0.5
        + rng.normal(0, 0.1, (48, 48))
    ).astype(np.float32)
    obs = blob_frames(4, ny=48, nx=48, vel=(0.5, 1.0)) * 3
    det = flood_nowcast(mapper, obs, elev, 50.0, 300.0, 3)
    assert [lm.lead_steps for lm in det] == [0, 1, 2, 3]
    assert all(lm.flood_probability is None for lm in det)
    assert det[2].lead_s == 600.0 and det[0].fmap.probability.shape == (48, 48)
    calls = []
    ens = flood_nowcast(
        *(mapper, obs, elev, 50.0, 300.0, 2),
        method="steps",
        n_members=3,
        seed=1,
        keep_members=True,
        progress=lambda *a: calls.append(a),
    )
    # lead 0, then 3 members x 2 leads: one call per model map
    assert calls == [(i, 7) for i in range(1, 8)]
    for lm in ens[1:]:
        wet = np.stack([m.wet for m in lm.members])
        np.testing.assert_allclose(lm.flood_probability, wet.mean(0))
        np.testing.assert_allclose(
            lm.flood_probability * 3, np.round(lm.flood_probability * 3), atol=1e-5
        )  # a fraction of 3 members
        np.testing.assert_array_equal(lm.fmap.wet, lm.flood_probability >= 0.5)
    with pytest.raises(InputError, match="needs the last 3"):
        flood_nowcast(mapper, obs[:2], elev, 50.0, 300.0, 2)


def _write_inputs(tmp_path, n_frames=4):
    from rasterio.transform import from_origin

    tr = from_origin(500000, 4000000, 50, 50)
    dem_path = tmp_path / "dem.tif"
    z = (100 + np.add.outer(np.arange(40), np.abs(np.arange(50) - 25)) * 0.5).astype(np.float32)
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
    np.savez(
        rain,
        rain_mmh=blob_frames(n_frames, ny=40, nx=50, vel=(0.5, 1.0)) * 3,
        times_s=np.arange(n_frames) * 300.0,
    )
    return dem_path, rain, tr


@pytest.mark.parametrize("ensemble", [0, 2])
def test_nowcast_cli_writes_every_lead(model_file, tmp_path, ensemble):
    dem_path, rain, tr = _write_inputs(tmp_path)
    out = tmp_path / "nc"
    r = CliRunner().invoke(
        app,
        [
            "nowcast",
            "--model",
            str(model_file),
            "--dem",
            str(dem_path),
            "--rain",
            str(rain),
            "--out",
            str(out),
            "--steps",
            "2",
            "--ensemble",
            str(ensemble),
        ],
    )
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "nowcast.json").read_text())
    assert [row["lead_min"] for row in summary["leads"]] == [0, 5, 10]
    assert summary["method"] == (defaults.ENSEMBLE_METHOD if ensemble else "extrapolation")
    for lead in ("lead_000min", "lead_005min", "lead_010min"):
        assert (out / lead / "wet_probability.tif").exists() and (out / lead / "flood.png").exists()
        assert (out / lead / "flooding_probability.tif").exists() == bool(
            ensemble and lead != "lead_000min"
        )
    with rasterio.open(out / "flooding_probability_peak.tif") as ds:
        assert ds.crs.to_epsg() == 32614 and ds.transform == tr
        p = ds.read(1)
    assert p.shape == (40, 50) and (p >= 0).all() and (p <= 1).all()
    # the forecast rain is georeferenced CF NetCDF that simulate --rain reads back
    from floodcast.io.dem import read_dem
    from floodcast.io.rain import read_rain

    with rasterio.open(f"NETCDF:{out / 'rain_forecast.nc'}:rain") as ds:
        assert ds.crs.to_epsg() == 32614 and ds.transform.almost_equals(tr) and ds.count == 2
    back = read_rain(out / "rain_forecast.nc", read_dem(dem_path))
    assert back.rates_mmh.shape == (2, 40, 50) and list(back.times_s) == [0.0, 300.0]
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]  # no temp left


@pytest.mark.parametrize(
    "args, match",
    [
        (["--steps", "2"], "need at least 3"),  # 2 observed frames, the model needs 3
        (["--steps", "0"], "--steps"),
        (["--radar", "x:/nonexistent"], "exactly one"),
    ],
)
def test_nowcast_cli_fails_cleanly(model_file, tmp_path, args, match):
    dem_path, rain, _ = _write_inputs(tmp_path, n_frames=2)
    out = tmp_path / "nc"
    r = CliRunner().invoke(
        app,
        [
            "nowcast",
            "--model",
            str(model_file),
            "--dem",
            str(dem_path),
            "--rain",
            str(rain),
            "--out",
            str(out),
            *args,
        ],
    )
    assert r.exit_code == 1
    assert match in r.output
    assert not out.exists()
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]


def test_radar_extrapolated_on_its_grid_then_reprojected_to_dem():
    from floodcast.predict.radar_nowcast import crop_around as _crop_around
    from floodcast.predict.radar_nowcast import radar_nowcast as _radar_nowcast

    # radar: 1 km cells, 120 x 120 km in UTM 32614; DEM: 40 x 50 cells of 50 m inside it
    rain = np.repeat(blob_frames(4, ny=120, nx=120, vel=(1.0, 2.0)), 1, 0)
    times = np.datetime64("2020-06-01T12:00") + np.arange(4) * np.timedelta64(300, "s")
    seq = RadarSequence(
        rain * 3,
        times,
        Affine(1000, 0, 440000, 0, -1000, 4030000),
        "EPSG:32614",
        1000.0,
        "synthetic",
        attrs={"clipped_per_frame": [0] * 4},
    )
    dem = Dem(
        np.zeros((40, 50), np.float32),
        50.0,
        Affine(50, 0, 460000, 0, -50, 4010000),
        "EPSG:32614",
        "dem",
    )
    crop = _crop_around(seq, dem, margin_km=10.0)
    assert crop.shape[1:] == (22, 23)  # 2 x 2.5 km DEM + 10 km each side, in 1 km cells
    obs, fc, interval = _radar_nowcast(seq, dem, 3, "extrapolation", 0, 0, "lucaskanade", 10.0)
    assert obs.shape == (4, 40, 50) and fc.shape == (3, 40, 50) and interval == 300.0
    assert np.isfinite(obs).all()
    with pytest.raises(InputError, match="does not cover"):
        _crop_around(seq, replace(dem, transform=Affine(50, 0, 900000, 0, -50, 4010000)), 10.0)


def test_steps_falls_back_to_ar1_on_identical_frames():
    obs = np.repeat(blob_frames(1, ny=48, nx=48), 3, 0)  # no change: AR(2) is singular
    fc = extrapolate(obs, 2, method="steps", n_members=2, seed=0)
    assert fc.shape == (2, 2, 48, 48) and np.nanmax(fc) > 5


@pytest.mark.shared_data
def test_nowcast_cli_on_shared_radar(shared_data, model_file, tmp_path):
    """--radar: MeteoSwiss frames extrapolated on their own grid (Swiss projection) around
    a small DEM, reprojected onto it, flood map per lead."""
    from floodcast.io.radar import read_radar

    mch = shared_data / "radar/pysteps-data/radar/mch"
    files = sorted(mch.rglob("*.gif"))[-4:]  # the last 4 frames: 18:45-19:00
    seq = read_radar(files, "mch")
    left, _, _, top = seq.extent
    tr = Affine(50, 0, left + 400_000, 0, -50, top - 300_000)
    dem_path = tmp_path / "dem.tif"
    z = (400 + np.add.outer(np.arange(40), np.abs(np.arange(50) - 25)) * 0.5).astype(np.float32)
    with rasterio.open(
        dem_path,
        "w",
        driver="GTiff",
        height=40,
        width=50,
        count=1,
        dtype="float32",
        crs=rasterio.crs.CRS.from_string(seq.crs),
        transform=tr,
    ) as ds:
        ds.write(z, 1)
    radar_dir = tmp_path / "radar"
    radar_dir.mkdir()
    for f in files:
        (radar_dir / f.name).symlink_to(f)
    out = tmp_path / "nc"
    r = CliRunner().invoke(
        app,
        [
            "nowcast",
            "--model",
            str(model_file),
            "--dem",
            str(dem_path),
            "--radar",
            f"mch:{radar_dir}",
            "--out",
            str(out),
            "--steps",
            "2",
            "--margin-km",
            "20",
        ],
    )
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "nowcast.json").read_text())
    assert summary["analysis_time"] == "2015-05-15T19:00:00"
    assert [row["valid_time"] for row in summary["leads"]][-1] == "2015-05-15T19:10:00"
    from floodcast.io.rain import read_rain

    rain = read_rain(out / "rain_forecast.nc")
    assert rain.rates_mmh.shape == (2, 40, 50) and np.isfinite(rain.rates_mmh).all()
    assert str(rain.attrs["start_time"])[:19] == "2015-05-15T19:00:00"


def advecting_rain(n=96, nt=3, vel=(1, 2), seed=0):
    """Seeded power-law (k^-1.5 amplitude) rain field, ~50 % wet, shifted ``vel`` cells per
    frame: convective-looking texture at every scale, unlike the two smooth blobs."""
    rng = np.random.default_rng(seed)
    big = n + 40
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(big), np.fft.fftfreq(big)))
    k[0, 0] = 1.0
    f = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((big, big))) * k**-1.5))
    f = (f - f.mean()) / f.std()
    rain = np.where(f > 0.3, 10 ** (0.5 + 0.6 * f) / 3, 0.0)
    fr = [
        np.roll(rain, (vel[0] * t, vel[1] * t), (0, 1))[20 : 20 + n, 20 : 20 + n] for t in range(nt)
    ]
    return np.stack(fr).astype(np.float32)


def test_steps_members_keep_the_rain_of_the_extrapolation():
    # The STEPS members must not dry out relative to plain extrapolation of the same frames
    # (the 2026-12-01 verification's members carried 30 % less rain at the first lead).
    # Measured here: member-mean / extrapolation domain-mean rain at lead 6 = 0.97 (seeded);
    # on real FMI radar (benchmarks/diagnose_steps_intensity.py) 0.88 on the 100 km-margin
    # grid and 0.83 on the old 40 km one. 10 % leaves room for the seed, not for a dry bias.
    obs = advecting_rain()
    det = np.nan_to_num(extrapolate(obs, 6))
    ens = np.nan_to_num(extrapolate(obs, 6, method="steps", n_members=4, seed=1))
    ratio = ens[:, 5].mean() / det[5].mean()
    assert 0.9 < ratio < 1.1
    wet_det, wet_ens = (det[5] >= 1).mean(), (ens[:, 5] >= 1).mean()
    assert abs(wet_ens / wet_det - 1) < 0.1  # and the same wet area (>= 1 mm/h)


def test_steps_options_reach_pysteps():
    # defaults.STEPS_OPTIONS can be overridden per call: no probability matching and no
    # velocity perturbations give a different (but still seeded) ensemble
    obs = advecting_rain(n=48)
    a = extrapolate(obs, 2, method="steps", n_members=2, seed=3)
    b = extrapolate(
        obs, 2, method="steps", n_members=2, seed=3, steps_options={"vel_pert_method": None}
    )
    assert not np.array_equal(np.nan_to_num(a), np.nan_to_num(b))
