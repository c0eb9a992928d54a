"""Agreement with the LISFLOOD-FP 8.1 run ``greenriver_manning``: Manning raster + infiltration.

Same stepping as test_reference.py (LISFLOOD-compatible mode, natural CFL steps, snapshots at
``depth_times_actual_s``), with the per-cell n of ``manning_n``, 2 mm/h infiltration, all
edges free, and ``SolverConfig.lisflood``'s defaults. Those include absolute float32
elevations as LISFLOOD-FP holds them: its face depth max(eta) - max(z) is quantised to the
float32 ulp of ~1300 m (1.2e-4 m), which decides which ~1 mm films flow and so which cells
infiltrate. Shifted elevations resolve the films as exact arithmetic does (the float64 run
agrees with them) and infiltrate 16 % less (docs/results/2026-12-02-thin-films-infiltration.md).

Bars (issue #23): at every saved time and for the maximum depth, CSI of the wet mask
(> 0.1 m) >= 0.95 and depth RMSE <= 2 cm; infiltrated volume within 1 % of the reference's
float64 ledger (``step_infil_m3``) at the same step. The same run with the raster replaced by
its mean must fail that bar: the test then proves the raster is used.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from floodcast.io.rain import RainSeries
from floodcast.metrics import Contingency
from floodcast.physics import Boundaries, Simulation, SolverConfig

CASE = "greenriver_manning"
WET, RMSE_BAR, CSI_BAR, INFIL_BAR = 0.1, 0.02, 0.95, 0.01
FAST_SNAPSHOTS = 3  # 15 min, ~900 steps: a few seconds


@functools.cache
def _data(shared: Path) -> dict:
    f = shared / "reference" / CASE / f"{CASE}.npz"
    if not f.is_file():
        pytest.skip(f"reference case {CASE} not found at {f}")
    with np.load(f) as z:
        return {k: z[k] for k in z.files}


def _csi(pred: np.ndarray, truth: np.ndarray) -> float:
    c = Contingency.from_masks(pred > WET, truth > WET)
    den = c.hits + c.misses + c.false_alarms
    return 1.0 if den == 0 else c.hits / den


@functools.cache
def _compare(shared: Path, manning: str, n_snap: int | None, **extra) -> list[tuple]:
    """Rows (label, csi, rmse, infiltration relative error) per snapshot (+ max depth);
    ``extra``: SolverConfig options beyond the lisflood() defaults."""
    d = _data(shared)
    n = d["manning_n"] if manning == "raster" else float(np.mean(d["manning_n"], dtype=np.float64))
    cfg = SolverConfig.lisflood(
        manning=n,
        max_step=float(d["initial_tstep_s"]),
        cfl=float(d["cfl"]),
        theta=float(d["theta"]),
        depth_threshold=float(d["depththresh_m"]),
        g=float(d["g"]),
        infiltration_mmh=float(d["infiltration_mmh"]),
        **extra,
    )
    rain = RainSeries(d["rain_mmh"], d["rain_times_s"], np.inf, CASE)
    sim = Simulation(d["dem"], float(d["cellsize_m"]), rain, cfg, Boundaries.parse("free"))
    ledger = np.cumsum(d["step_infil_m3"])
    rows = []
    for k, t_act in enumerate(d["depth_times_actual_s"][:n_snap]):
        while sim.t + sim.next_step_limit() < t_act - 1e-6:
            sim.advance(sim.t + sim.next_step_limit())
        sim.advance(t_act)
        h, ref = sim.depth.astype(np.float64), d["depth"][k]
        i = int(np.argmin(np.abs(d["mass_Time"] - t_act)))  # the reference step ending there
        inf_err = sim.mass.infiltration_m3 / ledger[i] - 1.0
        rows.append(
            (f"t={t_act:g}", _csi(h, ref), float(np.sqrt(np.mean((h - ref) ** 2))), inf_err)
        )
    if n_snap is None:
        md = sim.max_depth
        md[md <= float(d["depththresh_m"])] = 0.0
        ref = d["max_depth"]
        rows.append(("max", _csi(md, ref), float(np.sqrt(np.mean((md - ref) ** 2))), inf_err))
    rows.append(("mass", sim.mass.relative_error, sim.mass.clipped_m3, sim.steps))
    return rows


def _failures(rows: list[tuple]) -> list[tuple]:
    return [r for r in rows[:-1] if r[1] < CSI_BAR or r[2] > RMSE_BAR or abs(r[3]) > INFIL_BAR]


def test_manning_raster_first_15min(shared_data):
    rows = _compare(shared_data, "raster", FAST_SNAPSHOTS)
    print(rows)
    assert not _failures(rows), rows
    assert rows[-1][1] < 1e-3, rows[-1]  # LISFLOOD-mode ledger (clipping) still closes


def test_mean_manning_fails_first_15min(shared_data):
    """The raster replaced by its mean misses the bar: the raster is what matches."""
    rows = _compare(shared_data, "mean", FAST_SNAPSHOTS)
    print(rows)
    assert _failures(rows), rows


def test_thin_film_infiltration_is_float32_rounding_of_absolute_elevations(shared_data):
    """The cause of the shifted run's low infiltration: not floodcast's precision but
    LISFLOOD-FP's. Shifted float32 and absolute float64 (no rounding of z + h worth
    speaking of) agree with each other (measured at 300 s: -3.13 % and -3.16 % against the
    ledger) and both miss it; only absolute float32 reproduces it (+0.04 %)."""
    lis = _compare(shared_data, "raster", 1)[0][3]
    shifted = _compare(shared_data, "raster", 1, shift_elevation=True)[0][3]
    exact = _compare(shared_data, "raster", 1, precision="float64")[0][3]
    print(lis, shifted, exact)
    assert abs(lis) < 1e-3
    assert shifted < -0.02 and exact < -0.02 and abs(shifted - exact) < 1e-3


@pytest.mark.slow
def test_manning_raster_full_run(shared_data):
    rows = _compare(shared_data, "raster", None)
    print(rows)
    assert not _failures(rows), rows
    assert abs(rows[-2][3]) < INFIL_BAR  # final infiltrated volume (6414.755 m³)


@pytest.mark.slow
def test_mean_manning_fails_full_run(shared_data):
    rows = _compare(shared_data, "mean", None)
    print(rows)
    assert _failures(rows), rows
