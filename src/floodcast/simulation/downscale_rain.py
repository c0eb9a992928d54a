"""The rain a downscaler reads at a map time: the rain since the start and the rain now.

Both come from piecewise-constant frames (rate ``r_j`` mm/h from ``starts_s[j]`` to the next
start, the last to ``end_s``), so training pairs, ``simulate --downscale`` and the flood
nowcast give the model the same numbers for the same rain, whatever the save cadence:

* ``rain_accum`` (mm): the integral of the rate up to the map time;
* ``rain_recent`` (mm/h): the rate, exponentially weighted back from the map time with the
  time scale ``DOWNSCALE_RAIN_TAU_S`` (15 min), i.e. (1/tau) * integral of r(s) e^-(t-s)/tau.
  It is the frame's rate under steady rain and decays by e every 15 min once the rain
  stops, so the model can tell "raining now" (water moving, not level in a block) from
  the dry tail (water level in its block, where volume fill is right) - measured
  2026-12-03: the model won during rain, volume fill after it, and the rain since the
  start alone cannot tell the two apart.
"""

from __future__ import annotations

import numpy as np

from floodcast.defaults import DOWNSCALE_RAIN_TAU_S


def rain_inputs(
    rates_mmh: np.ndarray,
    starts_s: np.ndarray,
    end_s: float,
    times_s: np.ndarray,
    tau_s: float = DOWNSCALE_RAIN_TAU_S,
) -> tuple[np.ndarray, np.ndarray]:
    """(rain since the start (mm), recent rain rate (mm/h)) at each of ``times_s``.

    ``rates_mmh`` [n, ...] (NaN counts as no rain); ``starts_s`` [n] increasing; the last
    frame holds until ``end_s`` (may be inf). Returns two arrays [len(times_s), ...].

    One sweep through the frames and the (sorted) times: over each piece of constant rate
    r and length L the sum grows by r L and the recent rate relaxes towards r
    (``advance_recent``; r = 0 before the first frame and after the last); O((n + times)
    cells), not O(n times cells) (a whole 496 x 1000 map of 14 frames: 0.42 s -> 0.07 s,
    2026-12-07)."""
    r = np.nan_to_num(np.asarray(rates_mmh, np.float64))
    a = np.asarray(starts_s, np.float64)
    if r.shape[0] != a.shape[0]:
        raise ValueError(f"rain: {r.shape[0]} frames but {a.shape[0]} start times")
    ends = np.append(a[1:], end_s)
    t_all = np.asarray(times_s, np.float64).reshape(-1)
    acc_out = np.zeros((len(t_all),) + r.shape[1:])
    rec_out = np.zeros((len(t_all),) + r.shape[1:])
    acc, rec = np.zeros(r.shape[1:]), np.zeros(r.shape[1:])
    t, j = (a[0] if len(a) else 0.0), 0  # before the first frame: no rain yet
    for q in np.argsort(t_all, kind="stable"):
        while t < t_all[q]:
            while j < len(a) and t >= ends[j]:
                j += 1
            stop = min(t_all[q], ends[j]) if j < len(a) else t_all[q]
            rate = r[j] if j < len(a) else 0.0  # frame j rains on [t, stop); then none
            acc = acc + rate * ((stop - t) / 3600.0)
            rec = advance_recent(rec, rate, stop - t, tau_s)
            t = stop
        acc_out[q], rec_out[q] = acc, rec
    return acc_out, rec_out


def frame_rain_inputs(
    rates_mmh: np.ndarray, interval_s: float, tau_s: float = DOWNSCALE_RAIN_TAU_S
) -> tuple[np.ndarray, np.ndarray]:
    """``rain_inputs`` at the end of each of the frames ``rates_mmh`` [n, ...], one every
    ``interval_s`` from 0 (the times a pairs store saves its depths)."""
    n = np.shape(rates_mmh)[0]
    starts = np.arange(n) * float(interval_s)
    return rain_inputs(rates_mmh, starts, n * float(interval_s), starts + interval_s, tau_s)


def advance_recent(
    recent_mmh: np.ndarray | float,
    rate_mmh: np.ndarray | float,
    dt_s: float,
    tau_s: float = DOWNSCALE_RAIN_TAU_S,
) -> np.ndarray:
    """The recent rain rate after ``dt_s`` more seconds of rain at ``rate_mmh`` (exact for
    a constant rate: the same number ``rain_inputs`` gives over the longer series)."""
    k = float(np.exp(-float(dt_s) / tau_s))
    return np.asarray(recent_mmh, np.float64) * k + np.asarray(rate_mmh, np.float64) * (1.0 - k)


def lead_rain_inputs(
    observed_mmh: np.ndarray, n_simulated: int, forecast_mmh: np.ndarray, interval_s: float
) -> tuple[np.ndarray, ...]:
    """The two rain inputs of a nowcast: at its start and at each lead of each member.

    ``observed_mmh`` [n, ...] are the frames before the forecast (n may be 0), of which the
    last ``n_simulated`` were simulated by this run; ``forecast_mmh`` [M, K, ...] the
    members' frames. Rain since the start counts the simulated and forecast frames, recent
    rain every frame. Returns (acc0, recent0 [...], acc, recent [M, K, ...])."""
    fc = np.nan_to_num(np.asarray(forecast_mmh, np.float64))
    grid = fc.shape[2:]
    obs = np.nan_to_num(np.asarray(observed_mmh, np.float64).reshape((-1,) + grid))
    acc0 = obs[len(obs) - int(n_simulated) :].sum(0) * interval_s / 3600.0  # 0 frames: zeros
    rec0 = np.zeros(grid)
    for frame in obs:  # the same recursion as the leads below
        rec0 = advance_recent(rec0, frame, interval_s)
    acc = acc0 + np.cumsum(fc * interval_s / 3600.0, axis=1)
    rec = np.empty_like(fc)
    for k in range(fc.shape[1]):
        rec[:, k] = advance_recent(rec0 if k == 0 else rec[:, k - 1], fc[:, k], interval_s)
    return acc0, rec0, acc, rec
