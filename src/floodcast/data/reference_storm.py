"""The reference storm: the solver's answer for a uniform design storm on a DEM (the
``reference_depth`` input channel and the ``reference_storm`` baseline).

Upslope area and depression depth describe where water *could* collect; how much
collects where, for how much rain, is what the solver computes. So once per DEM we run
the solver under a uniform storm (``REFERENCE_RATE_MMH`` for ``REFERENCE_DURATION_S``,
depth saved every ``REFERENCE_INTERVAL_S``) and keep the depth series as a stack of
"depth after X mm of rain". A sample's channel is that stack read at each cell's own
rain since the event began (linear between saved totals, the last total beyond them):
a physics first guess the network only has to correct for the storm's timing and shape.

The same rain total floods differently when it falls fast or slowly (a gentle storm
drains as it fills), so the ``matched_depth`` channel runs a ladder of uniform storms
(``MATCHED_RATES_MMH``, each for ``MATCHED_DURATION_S``) and reads each cell on the storm
of its own mean rate since the event began (total / time, interpolated in log rate
between the two nearest storms), at its rain total. It is the solver's answer for a
steady storm of that cell's intensity and total: a much closer first guess.

The cost is one cold simulation per DEM and storm (cached in-process), paid before the
first map of a new DEM; every later map of that DEM reuses it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from numba import njit

from floodcast.data.channels import depth_channel, grid_key
from floodcast.errors import InputError

# 5 mm/h: of 5, 10, 20 and 40 mm/h, the best reference_storm baseline on the development
# validation events (CSI 0.69 / 0.52 / 0.35 / 0.21): a gentle storm drains as it fills
REFERENCE_RATE_MMH = 5.0
REFERENCE_DURATION_S = 6 * 3600.0  # 30 mm: beyond the rain total of 99.9 % of wet cells
REFERENCE_INTERVAL_S = 300.0  # 0.42 mm between saved totals
# the matched storm's ladder, factors of 2: as a baseline on the development validation
# events, 1.25-20 mm/h scores as well as 0.625-40 (CSI 0.799 / MCC 0.888 both) for 5 runs
# instead of 7; reading each storm at the cell's rain total beats reading it at the
# event's time (0.780 / 0.877)
MATCHED_RATES_MMH = (1.25, 2.5, 5.0, 10.0, 20.0)
MATCHED_DURATION_S = 3 * 3600.0  # a 2-h event of 5- or 6-min frames, with margin
_CACHE: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
# the ladders and reference runs of 8 DEMs: a training set of 4-5 DEMs must fit, or the
# LRU order evicts a DEM's storms just before they are needed again (each series is
# 37-73 frames of the DEM grid: 20-40 MB for 360 x 360 cells)
_CACHE_SIZE = 8 * (len(MATCHED_RATES_MMH) + 1)


def reference_series(
    elevation: np.ndarray,
    cell_size: float,
    boundary: str = "free",
    rate_mmh: float = REFERENCE_RATE_MMH,
    duration_s: float = REFERENCE_DURATION_S,
    interval_s: float = REFERENCE_INTERVAL_S,
    cache: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """``(totals_mm [L], depth [L, H, W] float32)``: depth after each rain total under a
    uniform storm, from a dry start (total 0 -> depth 0). Default solver settings (those
    ``build-dataset`` uses); cached per DEM and settings (``cache=False``: always run)."""
    z = np.asarray(elevation, np.float64)
    if z.ndim != 2 or not np.isfinite(z).any():
        raise InputError(f"reference storm: DEM must be a 2-D grid with valid cells, got {z.shape}")
    if not (rate_mmh > 0 and duration_s >= interval_s > 0):
        raise InputError(
            f"reference storm: need rate > 0 and duration >= interval > 0, got "
            f"{rate_mmh} mm/h for {duration_s} s every {interval_s} s"
        )
    key = (grid_key(z, cell_size), boundary, float(rate_mmh), float(duration_s), float(interval_s))
    if cache and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    from floodcast.io.rain import RainSeries
    from floodcast.physics.boundaries import Boundaries
    from floodcast.physics.solver import Simulation, SolverConfig, run

    rain = RainSeries(
        rates_mmh=np.array([rate_mmh], np.float32),
        times_s=np.array([0.0]),
        end_s=float(duration_s),
        source=f"reference storm {rate_mmh} mm/h",
    )
    sim = Simulation(z, float(cell_size), rain, SolverConfig(), Boundaries.parse(boundary))
    res = run(sim, duration_s=float(duration_s), save_every_s=float(interval_s))
    depth = np.nan_to_num(np.asarray(res.depth, np.float32), nan=0.0)
    totals = np.asarray(res.times_s, np.float64) * rate_mmh / 3600.0
    if totals[0] > 0:  # the dry start is level 0, whether or not the run saved it
        totals = np.concatenate([[0.0], totals])
        depth = np.concatenate([np.zeros((1,) + z.shape, np.float32), depth])
    _CACHE[key] = (totals, depth)
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return totals, depth


def matched_series(
    elevation: np.ndarray, cell_size: float, boundary: str = "free", cache: bool = True
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``reference_series`` of every storm of the matched ladder (``MATCHED_RATES_MMH``)."""
    return [
        reference_series(
            elevation, cell_size, boundary, rate_mmh=r, duration_s=MATCHED_DURATION_S, cache=cache
        )
        for r in MATCHED_RATES_MMH
    ]


def matched_depth_at(
    series: list[tuple[np.ndarray, np.ndarray]], accum_mm: np.ndarray, time_h: float | np.ndarray
) -> np.ndarray:
    """Depth (m) at each cell's rain total ``accum_mm`` [..., H, W] on the storm of its mean
    rate ``accum_mm / time_h`` (hours since the event began: a scalar, or one per leading
    index), interpolated in log rate between the ladder's two nearest storms (its ends
    beyond them)."""
    return _on_storms(series, np.log(MATCHED_RATES_MMH), accum_mm, time_h)


def reference_depth_at(
    totals_mm: np.ndarray, depth: np.ndarray, accum_mm: np.ndarray
) -> np.ndarray:
    """Reference depth (m) read at each cell's rain total ``accum_mm`` ([..., H, W] in mm;
    linear between the saved totals, held beyond the last)."""
    return _on_storms([(totals_mm, depth)], np.zeros(1), accum_mm, 1.0)  # a ladder of one


def _on_storms(
    series: list[tuple[np.ndarray, np.ndarray]],
    log_rates: np.ndarray,
    accum_mm: np.ndarray,
    time_h: float | np.ndarray,
) -> np.ndarray:
    """Check the inputs of ``matched_depth_at`` / ``reference_depth_at`` and run the kernel."""
    a = np.asarray(accum_mm, np.float64)
    t = np.asarray(time_h, np.float64)
    grid = series[0][1].shape[1:]
    if a.shape[-2:] != grid:
        raise InputError(f"rain totals {a.shape} are not on the DEM grid {grid}")
    if t.ndim > max(a.ndim - 2, 0) or not np.all(t > 0):
        raise InputError(
            f"matched storm: time since the event began must be > 0 h, one per "
            f"map, got {time_h} for rain totals {a.shape}"
        )
    steps = np.array([tot[1] for tot, _ in series], np.float64)
    for (tot, _), step in zip(series, steps, strict=True):  # every storm saved at even totals
        if not np.allclose(tot, step * np.arange(len(tot))):
            raise ValueError("reference storm: the saved rain totals are not evenly spaced")
    a3 = a.reshape((-1,) + a.shape[-2:])
    t1 = np.ascontiguousarray(np.broadcast_to(t, a.shape[:-2]).reshape(-1))
    out = np.zeros(a3.shape, np.float32)
    _storm_kernel(
        a3, t1, np.asarray(log_rates, np.float64), steps, tuple(d for _, d in series), out
    )
    return out.reshape(a.shape)


@njit(cache=True, nogil=True)
def _storm_kernel(a, t, log_rates, steps, depths, out):  # pragma: no cover - compiled
    """Numba: one pass over the cells of ``a`` [N, H, W] (rain totals after ``t`` [N] hours),
    each read on the two storms of the ladder nearest its mean rate, linear between saved
    totals (a ladder of one: that storm). Reading every storm everywhere in numpy took
    1.5 s per training event; this takes 0.09 s."""
    n, ny, nx = a.shape
    nr = log_rates.shape[0]
    for k in range(n):
        for y in range(ny):
            for x in range(nx):
                acc = a[k, y, x]
                if not acc > 0.0:  # no rain so far: no water at any rate (NaN: none either)
                    continue
                i0, w = 0, 0.0
                if nr > 1:
                    lr = np.log(acc / t[k])
                    while i0 < nr - 2 and lr > log_rates[i0 + 1]:
                        i0 += 1
                    w = (lr - log_rates[i0]) / (log_rates[i0 + 1] - log_rates[i0])
                    w = min(max(w, 0.0), 1.0)  # the ladder's end storms beyond it
                d = 0.0
                for j in range(min(nr, 2)):
                    dj = depths[i0 + j]
                    last = dj.shape[0] - 1
                    f = min(acc / steps[i0 + j], float(last))  # held past the last total
                    lv = min(int(f), last - 1)
                    u = f - lv
                    v = (1.0 - u) * dj[lv, y, x] + u * dj[lv + 1, y, x]
                    d += (w if j == 1 else 1.0 - w) * v
                out[k, y, x] = max(d, 0.0)


def reference_settings() -> dict:
    """The storm behind ``reference_depth``, recorded in every model file that reads it."""
    return {
        "rate_mmh": REFERENCE_RATE_MMH,
        "duration_s": REFERENCE_DURATION_S,
        "interval_s": REFERENCE_INTERVAL_S,
    }


def matched_settings() -> dict:
    """The storm ladder behind ``matched_depth``, recorded in every model file that reads it."""
    return {
        "rates_mmh": list(MATCHED_RATES_MMH),
        "duration_s": MATCHED_DURATION_S,
        "interval_s": REFERENCE_INTERVAL_S,
    }


#: storm channel -> (key of its record in a model file's data facts, the settings this code
#: runs, the runs behind it): the one list of the channels that need uniform-storm runs
_STORMS = {
    "reference_depth": ("reference_storm", reference_settings, reference_series),
    "matched_depth": ("matched_storm", matched_settings, matched_series),
}


def storm_channels(channels: Sequence[str]) -> list[str]:
    """The channels of ``channels`` (in their order) that need uniform-storm runs."""
    return [c for c in channels if c in _STORMS]


def run_storms(
    channels: Sequence[str], elevation: np.ndarray, cell_size: float, cache: bool = True
) -> None:
    """Run the storms behind the storm channels among ``channels`` on one DEM."""
    for c in storm_channels(channels):
        _STORMS[c][2](elevation, cell_size, cache=cache)


def settings_record(channels: Sequence[str]) -> dict:
    """The storm settings a model reading ``channels`` records (``{}`` if it reads none)."""
    return {key: make() for c, (key, make, _) in _STORMS.items() if c in channels}


def check_settings(data: dict, channels: Sequence[str], source: str) -> None:
    """Refuse a model trained on other storms than this code runs (its storm channels'
    inputs would silently differ). Files without a record pass."""
    for key, want in settings_record(channels).items():
        got = data.get(key)
        if got is not None and got != want:
            raise InputError(
                f"{source} was trained with the {key.replace('_', ' ')} {got}; "
                f"this floodcast runs {want} - use a matching version"
            )


def reference_channel(totals_mm: np.ndarray, depth: np.ndarray, accum_mm: np.ndarray) -> np.ndarray:
    """The ``reference_depth`` input channel: log1p(d / 5 cm) of ``reference_depth_at``."""
    return depth_channel(reference_depth_at(totals_mm, depth, accum_mm))
