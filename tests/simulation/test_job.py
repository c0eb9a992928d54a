"""The simulate job: hand-checked results, outputs, and nothing half-written on failure."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import xarray as xr

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.physics.solver import SimulationError
from floodcast.simulation import job as J
from floodcast.simulation.request import OUTPUT_FILES


def flat_npz(tmp_path, n=10, cell=2.0, walls=()):
    z = np.zeros((n, n))
    for rc in walls:
        z[rc] = np.nan
    p = tmp_path / "flat.npz"
    np.savez(p, elevation=z, cell_size=cell)
    return p


def req(tmp_path, **kw):
    base = {
        "rain": "36mm/h:100s",
        "duration_s": 200.0,
        "out": tmp_path / "out",
        "boundary": "closed",
        "save_every_s": 50.0,
    }
    base.update(kw)
    if "dem" not in base:
        base["dem"] = flat_npz(tmp_path)
    return J.SimulateRequest(**base)


def test_uniform_rain_on_closed_flat_grid_gives_1mm(tmp_path):
    # 36 mm/h for 100 s = 1 mm on every cell; 10 x 10 cells of 4 m² -> 0.4 m³ stored
    res = J.run_job(req(tmp_path))
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    with xr.open_dataset(out / "depth.nc") as ds:
        secs = (ds["time"].values - np.datetime64("1970-01-01")) / np.timedelta64(1, "s")
        np.testing.assert_array_equal(secs, [50, 100, 150, 200])
        np.testing.assert_allclose(ds["depth"].values[0], 0.0005, rtol=1e-5)
        np.testing.assert_allclose(ds["depth"].values[-1], 0.001, rtol=1e-5)
        np.testing.assert_allclose(ds["max_depth"].values, 0.001, rtol=1e-5)
        assert ds.attrs["manning_n"] == 0.035
    with open(out / "mass_balance.csv") as fh:
        last = list(csv.DictReader(fh))[-1]
    assert float(last["stored_m3"]) == pytest.approx(0.4, rel=1e-5)
    assert float(last["rain_in_m3"]) == pytest.approx(0.4, rel=1e-5)
    run = json.loads((out / "run.json").read_text())
    assert run["stats"]["wet_cells_max"] == 0  # 1 mm < 0.1 m threshold
    assert run["stats"]["steps"] == res.stats["steps"] > 0
    assert run["settings"]["boundary"] == "N=closed,S=closed,E=closed,W=closed"
    assert (out / "depth.nc").stat().st_mode & 0o044  # readable by others, not 0600


def test_walls_reported_and_dry(tmp_path):
    r = req(tmp_path, dem=flat_npz(tmp_path, walls=[(0, 0), (5, 5)]), threshold_m=0.0005)
    job = J.prepare(r)
    assert any("2 nodata cells" in n for n in job.notes)
    res = J.execute(job)
    with xr.open_dataset(tmp_path / "out" / "depth.nc") as ds:
        assert ds["depth"].values[-1, 5, 5] == 0 and np.isnan(ds["elevation"].values[5, 5])
        np.testing.assert_allclose(ds["depth"].values[-1, 1, 1], 0.001, rtol=1e-5)
    assert res.stats["wall_cells"] == 2 and res.stats["wet_cells_max"] == 98
    import rasterio

    with rasterio.open(tmp_path / "out" / "max_depth.tif") as ds:  # walls: nodata, not 0 m
        m = ds.read(1, masked=True).mask
        assert m[5, 5] and m[0, 0] and m.sum() == 2 and ds.descriptions[0].startswith("maximum")


def test_free_edges_drain_a_slope(tmp_path):
    z = np.add.outer(np.arange(12.0)[::-1] * 0.05, np.zeros(8))  # 1 % slope to the south
    np.savez(tmp_path / "s.npz", elevation=z, cell_size=5.0)
    res = J.run_job(
        req(
            tmp_path,
            dem=tmp_path / "s.npz",
            rain="100mm/h:600s",
            duration_s=1200.0,
            boundary="S=free",
            save_every_s=600.0,
        )
    )
    m = res.stats["mass"]
    assert m["boundary_out_m3"] > 0 and m["relative_error"] < 1e-3
    assert m["rain_in_m3"] == pytest.approx(0.1 / 6 * 12 * 8 * 25, rel=1e-5)


def test_point_inflow_adds_its_volume(tmp_path):
    (tmp_path / "q.csv").write_text("time_s,q_m3s\n0,0.5\n100,0.5\n")
    res = J.run_job(req(tmp_path, rain="0mm/h:10s", inflows=[f"3,4,{tmp_path / 'q.csv'}"]))
    assert res.stats["mass"]["inflow_m3"] == pytest.approx(50.0, rel=1e-6)
    assert res.stats["mass"]["stored_m3"] == pytest.approx(50.0, rel=1e-4)


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"manning": 0.0}, "--manning must be > 0"),
        ({"manning": -0.03}, "--manning must be > 0"),
        ({"threshold_m": 10.0}, "--threshold must be between 0 and 10"),
        ({"threshold_m": 0.0}, "--threshold must be between 0 and 10"),
        ({"duration_s": 0.0}, "--duration"),
        ({"save_every_s": 500.0}, "--save-every"),
        ({"boundary": "N=free,Q=closed"}, "--boundary: .*'Q=closed'"),
        ({"rain": "36mm/h:100s", "duration_s": 50.0, "inflows": ["99,0,x.csv"]}, "outside the DEM"),
        ({"dem": "/nonexistent/dem.tif"}, "DEM file not found: /nonexistent/dem.tif"),
    ],
)
def test_bad_settings_fail_before_running(tmp_path, kw, match):
    with pytest.raises(InputError, match=match):
        J.prepare(req(tmp_path, **kw))
    assert not (tmp_path / "out").exists()


def test_rain_not_covering_the_run(tmp_path):
    np.savez(
        tmp_path / "r.npz", rain_mmh=np.full((2, 10, 10), 5.0, np.float32), times_s=[0.0, 300.0]
    )
    with pytest.raises(InputError, match="covers 0..600 s but the run lasts 900 s"):
        J.prepare(req(tmp_path, rain=str(tmp_path / "r.npz"), duration_s=900.0))
    res = J.run_job(
        req(
            tmp_path,
            rain=str(tmp_path / "r.npz"),
            duration_s=900.0,
            save_every_s=300.0,
            pad_zero=True,
        )
    )
    # 5 mm/h for 600 s = 0.8333 mm, then no rain (padded)
    assert res.stats["max_depth_m"] == pytest.approx(5 / 3600 * 600 / 1000, rel=1e-5)


def test_output_path_under_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        J.prepare(req(tmp_path, out=tmp_path / "afile" / "sub"))
    with pytest.raises(InputError, match="not a folder"):
        J.prepare(req(tmp_path, out=tmp_path / "afile"))


def _untouched(folder, before):
    return sorted(p.name for p in folder.iterdir()) == before


def test_nan_solution_writes_nothing(tmp_path, monkeypatch):
    import floodcast.physics.solver as S

    real_run = S.run

    def nan_run(*a, **k):
        res = real_run(*a, **k)
        res.depth[-1, 2, 2] = np.nan
        return res

    monkeypatch.setattr(S, "run", nan_run)
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(SimulationError, match="NaN"):
        J.run_job(req(tmp_path))
    assert _untouched(out, ["keep.txt"])


def test_mass_error_above_limit_fails_loudly(tmp_path, monkeypatch):
    from floodcast.physics.solver import SolverConfig

    monkeypatch.setattr(J, "_solver_config", lambda r: SolverConfig(max_mass_error=1e-15))
    with pytest.raises(SimulationError, match="mass error"):
        J.run_job(req(tmp_path, rain="36mm/h:100s"))
    assert not (tmp_path / "out").exists()


def test_failure_while_writing_leaves_nothing(tmp_path, monkeypatch):
    import floodcast.io.plotting as P

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(P, "plot_depth_map", boom)
    with pytest.raises(OSError, match="disk full"):  # reported as a write failure
        J.run_job(req(tmp_path))
    assert not (tmp_path / "out").exists()  # created by the run, removed again
    (tmp_path / "out").mkdir()
    with pytest.raises(OSError):
        J.run_job(req(tmp_path))
    assert _untouched(tmp_path / "out", [])  # pre-existing folder kept, no staging left


def test_dem_and_rain_objects(tmp_path):
    from floodcast.physics.storms import synthetic_storm

    dem = Dem(np.zeros((12, 15), np.float32), 50.0, source="array")
    rain = synthetic_storm(dem.shape, dem.cell_size, 600.0, seed=3)
    res = J.run_job(req(tmp_path, dem=dem, rain=rain, duration_s=600.0, save_every_s=300.0))
    total = (rain.rates_mmh[:-1].sum(0) * 300 / 3.6e6).sum() * 2500.0
    assert res.stats["mass"]["rain_in_m3"] == pytest.approx(total, rel=1e-4)


def test_unwritable_output_folder_is_checked_first(tmp_path, monkeypatch):
    import floodcast.io.atomic as A

    ran = []
    monkeypatch.setattr(A.os, "access", lambda *a, **k: False)  # as for a read-only folder
    monkeypatch.setattr(J, "read_dem", lambda *a: ran.append(1))
    with pytest.raises(InputError, match="cannot be written"):
        J.prepare(req(tmp_path))
    assert not ran  # failed before reading (let alone computing)
