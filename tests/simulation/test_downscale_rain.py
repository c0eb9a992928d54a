"""The downscaler's two rain inputs, pinned by hand."""

import math

import numpy as np
import pytest

from floodcast.simulation.downscale_rain import (
    advance_recent,
    frame_rain_inputs,
    lead_rain_inputs,
    rain_inputs,
)

TAU = 900.0


def test_steady_rain_by_hand():
    # 36 mm/h for three 5-min frames: 3, 6, 9 mm; recent rate 36 (1 - e^(-t/15 min))
    acc, rec = frame_rain_inputs(np.full(3, 36.0), 300.0)
    np.testing.assert_allclose(acc, [3.0, 6.0, 9.0])
    np.testing.assert_allclose(rec, [36 * (1 - math.exp(-k / 3)) for k in (1, 2, 3)])


def test_recent_rain_decays_after_the_rain_and_nan_is_no_rain():
    # 60 mm/h for 15 min, then 0 (a NaN frame: no coverage); at 30 min the recent rate is
    # 60 (1 - e^-1) e^-1 and the accumulation stays at 15 mm
    r = np.array([60.0, 0.0, np.nan])
    acc, rec = rain_inputs(r, np.array([0.0, 900.0, 1500.0]), math.inf, np.array([900.0, 1800.0]))
    np.testing.assert_allclose(acc, [15.0, 15.0])
    np.testing.assert_allclose(rec, [60 * (1 - math.exp(-1)), 60 * (1 - math.exp(-1)) / math.e])


def test_any_save_cadence_gives_the_same_numbers():
    rng = np.random.default_rng(0)
    r = rng.uniform(0, 50, (6, 3, 4))
    acc, rec = frame_rain_inputs(r, 300.0)
    # the same rain read at times inside frames, then at the frame ends
    t = np.array([150.0, 300.0, 1234.0, 1800.0])
    a2, r2 = rain_inputs(r, np.arange(6) * 300.0, 1800.0, t)
    np.testing.assert_allclose(a2[[1, 3]], acc[[0, 5]])
    np.testing.assert_allclose(r2[[1, 3]], rec[[0, 5]])
    assert a2[0] == pytest.approx(r[0] * 150 / 3600)
    # nothing after end_s: the last frame stops there
    a3, _ = rain_inputs(r, np.arange(6) * 300.0, 1800.0, np.array([7200.0]))
    np.testing.assert_allclose(a3[0], acc[-1])


def test_advance_recent_is_the_series_recursion():
    rng = np.random.default_rng(1)
    r = rng.uniform(0, 20, 5)
    _, rec = frame_rain_inputs(r, 300.0)
    step = 0.0
    for k in range(5):
        step = advance_recent(step, r[k], 300.0)
        assert float(step) == pytest.approx(rec[k])


def test_lead_inputs_equal_the_whole_series():
    """A nowcast's leads read the observed frames then each member's forecast, as one series;
    rain since the start counts only the frames this run simulated (here the last 2 of 4)."""
    rng = np.random.default_rng(2)
    obs = rng.uniform(0, 30, (4, 2, 3))
    fc = rng.uniform(0, 30, (3, 5, 2, 3))  # 3 members, 5 leads
    acc0, rec0, acc, rec = lead_rain_inputs(obs, 2, fc, 300.0)
    for m in range(3):
        whole = np.concatenate([obs, fc[m]])
        a, r = frame_rain_inputs(whole, 300.0)
        np.testing.assert_allclose(rec0, r[3])
        np.testing.assert_allclose(rec[m], r[4:])
        np.testing.assert_allclose(acc[m], a[4:] - a[1])  # the first 2 frames not simulated
    np.testing.assert_allclose(acc0, (obs[2] + obs[3]) * 300 / 3600)
    zero = lead_rain_inputs(np.zeros((0, 2, 3)), 0, fc, 300.0)
    assert not zero[0].any() and not zero[1].any()
    np.testing.assert_allclose(zero[3][:, 0], fc[:, 0] * (1 - math.exp(-1 / 3)))


def test_the_sweep_equals_the_integrals_at_unsorted_times():
    """The one-pass sweep against the integrals written out per time (each frame's rate
    times its overlap with [0, t], and times its weight e^-(t-b)/tau - e^-(t-a)/tau):
    unsorted times, before the first frame, inside frames and past ``end_s``, NaN frames."""
    rng = np.random.default_rng(4)
    r = rng.uniform(0, 40, (5, 2, 3))
    r[1, 0, 0] = np.nan
    a = np.array([100.0, 400.0, 700.0, 1000.0, 1300.0])
    end = 1500.0
    t = np.array([1234.0, 50.0, 400.0, 9000.0, 1500.0, 701.0])
    acc, rec = rain_inputs(r, a, end, t, TAU)
    b_end = np.append(a[1:], end)
    rr = np.nan_to_num(r)
    for q, tq in enumerate(t):
        b = np.clip(np.minimum(b_end, tq), a, None)
        dur = np.where(a < tq, b - a, 0.0)
        w = np.where(a < tq, np.exp(-(tq - b) / TAU) - np.exp(-np.clip(tq - a, 0, None) / TAU), 0)
        np.testing.assert_allclose(acc[q], np.tensordot(dur / 3600.0, rr, 1), rtol=1e-12)
        np.testing.assert_allclose(rec[q], np.tensordot(w, rr, 1), rtol=1e-10, atol=1e-14)
    assert (acc[1] == 0).all() and (rec[1] == 0).all()  # before the first frame
