"""Flood nowcast verification: pinned scores on hand-made counts, and a tiny replay."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from floodcast import defaults
from floodcast.errors import InputError
from floodcast.evaluation.flood_verify import FloodVerifyRequest, verify_sequence
from floodcast.evaluation.flood_verify_report import (
    reliability_table,
    roc_area,
    score_table,
    targets,
)
from floodcast.evaluation.flood_windows import issue_window, rainiest_window, window_crop
from floodcast.io.dem import Dem


def test_roc_area_pinned():
    # probability levels 0..2 (M = 2): perfect separation -> 1; identical histograms -> 0.5
    assert roc_area(np.array([0, 0, 5]), np.array([5, 0, 0])) == pytest.approx(1.0)
    assert roc_area(np.array([1, 2, 3]), np.array([1, 2, 3])) == pytest.approx(0.5)
    # wet: 1 at P=0.5, 1 at P=1; dry: 2 at P=0 -> cut P>=0.5 gives POD 1 POFD 0 -> area 1
    assert roc_area(np.array([0, 1, 1]), np.array([2, 0, 0])) == pytest.approx(1.0)
    assert np.isnan(roc_area(np.zeros(3), np.array([1, 0, 0])))


def test_rainiest_window_finds_the_storm():
    rain = np.zeros((3, 30, 40), np.float32)
    rain[:, 20:24, 5:9] = 10.0
    r0, c0 = rainiest_window(rain, 4, 4)
    assert (r0, c0) == (20.0, 5.0)


def test_verify_replay_scores_are_consistent():
    """Rain cells drifting over a valley: 8 starts' worth of frames, 3 members, 15 min."""
    yy, xx = np.mgrid[0:48, 0:48].astype(float)
    rain = np.stack(
        [
            120 * np.exp(-((yy - 18 - 0.5 * t) ** 2 + (xx - 18 - 0.5 * t) ** 2) / (2 * 6.0**2))
            for t in range(14)
        ]
    ).astype(np.float32)
    times = np.datetime64("2020-06-01T12:00") + np.arange(14) * np.timedelta64(300, "s")
    seq = SimpleNamespace(
        rain_mmh=rain, times=times, interval_s=300.0, cell_size=1000.0, source="synthetic"
    )
    z = 100 + np.add.outer(np.arange(24) * 0.3, np.abs(np.arange(24) - 12) * 0.4)
    dem = Dem(z.astype(np.float32), 200.0)
    req = FloodVerifyRequest(
        radar=[], dem="", members=3, lead_min=15, starts=3, spin_frames=4, seed=0
    )
    sc = verify_sequence("synthetic", seq, dem, req, echo=lambda s: None)
    assert len(sc.starts) == 3 and sc.n_leads == 3
    res = {"sequences": {"synthetic": sc}, "dem": {}, "request": {}}
    df = score_table(res)
    assert list(df.lead_min) == [5.0, 10.0, 15.0]
    assert (df.n_starts == 3).all()
    # Brier scores are mean squared errors of probabilities: in [0, 1]
    assert df.brier.between(0, 1).all() and df.brier_no_rain.between(0, 1).all()
    # pooled counts add up: every scored cell is in exactly one probability level
    assert (sc.hist_wet.sum(1) + sc.hist_dry.sum(1) == sc.n).all()
    ct = sc.ct[("ensemble", 0)]
    assert ct.n == sc.n[0]
    rel = reliability_table(res)
    assert rel.share.sum() == pytest.approx(1.0)
    t = targets(df, rel)["synthetic"]
    assert set(t) >= {"bss_positive_both_refs_every_lead", "reliability_within_0.1"}


def test_window_crop_pads_and_clips_by_hand():
    rain = np.arange(2 * 20 * 30, dtype=np.float32).reshape(2, 20, 30)
    # window rows 5..8.5, cols 10..14 (3.5 x 4 cells) + 3 cells each side, + 1 cell for the
    # bilinear sampling of the window's far edge: rows 2..12, cols 7..17 (11 x 11)
    crop, wr, wc = window_crop(rain, 5.0, 10.0, 3.5, 4.0, 3.0)
    assert crop.shape == (2, 11, 11) and (wr, wc) == (3.0, 3.0)
    assert crop[0, 0, 0] == rain[0, 2, 7]
    # near the edge the pad is clipped and the window origin moves with the crop
    # rows 0..8 (top pad clipped), cols 22..29 (right pad clipped at the 30-column grid)
    crop, wr, wc = window_crop(rain, 1.5, 25.0, 3.0, 4.0, 3.0)
    assert crop.shape == (2, 9, 8) and (wr, wc) == (1.5, 3.0)


def test_one_margin_for_nowcast_and_verification():
    from floodcast.predict.radar_nowcast import MARGIN_KM

    # one home (defaults.py); 100 km = 1 h of rain at 100 km/h (FMI 2016-09-28: ~58 km/h)
    assert FloodVerifyRequest(radar=[], dem="x").margin_km == MARGIN_KM
    assert MARGIN_KM == defaults.NOWCAST_MARGIN_KM == 100.0


def test_figure_panel_titles_do_not_overlap():
    import pandas as pd

    from floodcast.evaluation.flood_verify_report import figure

    lead = np.arange(5, 65, 5)
    cols = ("csi", "csi_extrapolation", "csi_persistence", "bss_vs_persistence")
    df = pd.DataFrame({"sequence": "fmi", "lead_min": lead} | dict.fromkeys(cols, 0.5))
    df = df.assign(bss_vs_no_rain=0.4, spread_m=0.01, rmse_mean_m=0.02)
    rel = pd.DataFrame({"sequence": "fmi", "probability": [0, 0.5, 1.0]})
    rel = rel.assign(observed_frequency=rel.probability)
    fig = figure(df, rel)
    r = fig.canvas.get_renderer()
    boxes = [a.title.get_window_extent(r) for a in fig.axes]
    for left, right in zip(boxes[:-1], boxes[1:], strict=True):
        assert left.x1 < right.x0, "neighbouring panel titles overlap"
    assert all(b.x0 >= 0 and b.x1 <= fig.bbox.x1 for b in boxes)  # none cut at the edges


def _two_storms(n_t: int = 10, start: int = 5, shape=(30, 40)) -> np.ndarray:
    """Storm A (5 mm/h, rows 4..7, cols 4..7) up to frame ``start``; after it only storm B
    (50 mm/h, rows 20..23, cols 30..33): B wins over the whole sequence, A up to ``start``."""
    rain = np.zeros((n_t, *shape), np.float32)
    rain[: start + 1, 4:8, 4:8] = 5.0
    rain[start + 1 :, 20:24, 30:34] = 50.0
    return rain


def test_past_window_never_reads_frames_after_the_start():
    rain = _two_storms()
    assert issue_window(rain, 5, 4, 4, 4, "past") == (4.0, 4.0)  # storm A, known at issue
    assert issue_window(rain, 5, 4, 4, 4, "sequence") == (20.0, 30.0)  # B: the future's
    # whatever the frames after the start hold (rain, NaN), the past window is the same
    future = rain.copy()
    future[6:] = np.nan
    assert issue_window(future, 5, 4, 4, 4, "past") == (4.0, 4.0)
    # only the spin-up frames count: start 8 with 2 spin-up frames (7, 8) sees only B
    assert issue_window(rain, 8, 2, 4, 4, "past") == (20.0, 30.0)
    with pytest.raises(InputError, match="--window"):
        issue_window(rain, 5, 4, 4, 4, "future")


def test_verify_records_a_window_per_start_from_the_past(monkeypatch):
    """verify_sequence asks for each start's window with the start index; the window it
    scores is the one of the frames up to that start."""
    import floodcast.evaluation.flood_verify as fv

    seen = []

    def spy(rain, start, spin, rows, cols, mode):
        seen.append((start, mode))
        # hand the selector only frames <= start: an old-style read of the truth would fail
        return issue_window(rain[: start + 1], start, spin, rows, cols, mode)

    monkeypatch.setattr(fv, "issue_window", spy)
    rain = _two_storms(14, 6, (40, 48)) + 0.5  # light rain everywhere, so every window is "rainy"
    times = np.datetime64("2020-06-01T12:00") + np.arange(14) * np.timedelta64(300, "s")
    seq = SimpleNamespace(rain_mmh=rain, times=times, interval_s=300.0, cell_size=1000.0)
    dem = Dem((100 + np.add.outer(np.arange(16) * 0.3, np.arange(16) * 0.2)).astype("f4"), 250.0)
    req = FloodVerifyRequest(radar=[], dem="", members=2, lead_min=10, starts=2, spin_frames=4)
    sc = verify_sequence("two", seq, dem, req, echo=lambda s: None)
    assert [mode for _, mode in seen] == ["past", "past"]
    assert [w["start"] for w in sc.windows] == sc.starts
    first = sc.windows[0]  # start 3 (frames 0..3): storm A's corner at rows/cols 4..7
    assert (first["row0"], first["col0"]) == (4.0, 4.0) and seen[0][0] == 3


def test_blend_with_extrapolation_weights_by_hand():
    """20-min blend, 5-min frames: extrapolation's weight 0.75, 0.5, 0.25, 0, 0 at leads
    5..25 min; members 0 and 8 mm/h, extrapolation 4 mm/h."""
    from floodcast.evaluation.flood_verify import blend_extrapolation

    ens = np.stack([np.zeros((5, 2, 2)), np.full((5, 2, 2), 8.0)]).astype(np.float32)
    det = np.full((5, 2, 2), 4.0, np.float32)
    out = blend_extrapolation(ens, det, 300.0, 20.0)
    np.testing.assert_allclose(out[0, :, 0, 0], [3.0, 2.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(out[1, :, 0, 0], [5.0, 6.0, 7.0, 8.0, 8.0])
    assert blend_extrapolation(ens, det, 300.0, 0.0) is ens  # 0: the members untouched


def test_verify_drives_members_with_the_chosen_ensemble_method(monkeypatch):
    """--ensemble-method reaches the rain nowcast (sseps members), extrapolation stays the
    reference; an unknown method is refused naming the option."""
    import floodcast.evaluation.flood_verify as fv
    import floodcast.predict.nowcast as nc

    calls = []
    real = nc.extrapolate

    def spy(frames, n_steps, method="extrapolation", **kw):
        calls.append(method)
        return real(frames, n_steps, method=method, **kw)

    monkeypatch.setattr(nc, "extrapolate", spy)
    yy, xx = np.mgrid[0:48, 0:48].astype(float)
    rain = np.stack(  # a cell drifting half a cell per frame (SSEPS needs moving frames)
        [
            120 * np.exp(-((yy - 18 - 0.5 * t) ** 2 + (xx - 18 - 0.5 * t) ** 2) / (2 * 6.0**2))
            for t in range(10)
        ]
    ).astype(np.float32)
    times = np.datetime64("2020-06-01T12:00") + np.arange(10) * np.timedelta64(300, "s")
    seq = SimpleNamespace(rain_mmh=rain, times=times, interval_s=300.0, cell_size=1000.0)
    dem = Dem((100 + np.add.outer(np.arange(16) * 0.3, np.arange(16) * 0.2)).astype("f4"), 250.0)
    req = FloodVerifyRequest(
        radar=[], dem="", members=2, lead_min=10, starts=1, spin_frames=4, ensemble_method="sseps"
    )
    sc = verify_sequence("two", seq, dem, req, echo=lambda s: None)
    assert calls == ["sseps", "extrapolation"] and len(sc.starts) == 1
    with pytest.raises(InputError, match="--ensemble-method"):
        fv.check_ensemble_method("blend")
