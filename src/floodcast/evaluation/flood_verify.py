"""Verification of the physics flood nowcast against what then happened (``nowcast verify
--flood``).

Each radar sequence is transplanted onto the DEM as ``build-dataset`` does (a window of the
DEM's physical size, regridded bilinearly; here a rainy window, so there is flooding to
score: by default chosen per start from the frames up to it, see
:mod:`floodcast.evaluation.flood_windows`). For each start time i (spread evenly over the sequence), the state is
spun up from dry over the ``spin_frames`` observed frames ending at i; from that state, in one
batched ensemble run:

* the forecast: M STEPS members (on the radar window plus a margin, then regridded);
* deterministic extrapolation (one member);
* persistence: frame i held; no more rain: zero rain after i (the two references);
* the truth: the frames actually observed after i.

Per lead the wet map is depth > ``threshold``; the ensemble's probability is the fraction of
members wet. Contingency tables, Brier sums, ROC and reliability histograms, and spread/error
sums are pooled over start times (as the rain verification pools its tables).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from floodcast import defaults
from floodcast.defaults import NOWCAST_MARGIN_KM
from floodcast.errors import InputError
from floodcast.evaluation.flood_windows import check_window_mode, issue_window, window_crop
from floodcast.metrics import Contingency
from floodcast.predict.flood_nowcast import lead_steps, run_ensemble, solver_setup, spin_up
from floodcast.predict.nowcast import check_ensemble_method

REFS = ("extrapolation", "persistence", "no_rain")
#: Rain (mm/h) above which a DEM cell counts as raining in the rain nowcast's own scores
#: beside the flood scores (the rain verification's default threshold, 1 mm/h).
RAIN_WET_MMH = 1.0
RAIN_METHODS = ("rain_ensemble", "rain_extrapolation")


@dataclass
class FloodVerifyRequest:
    radar: list[str]
    dem: str
    dem_cell: float = 0.0
    dem_crop: int = 0
    members: int = 5
    lead_min: float = 60.0
    starts: int = 6
    spin_frames: int = 6
    seed: int = 0
    flow: str = "lucaskanade"
    threshold: float = 0.1
    margin_km: float = NOWCAST_MARGIN_KM  # radar kept around the window for the rain nowcast
    window: str = "past"  # flood_windows.WINDOW_MODES: chosen at issue time or on the truth
    steps_options: dict = field(default_factory=dict)  # over defaults.STEPS_OPTIONS
    blend_min: float = 0.0  # members blended with extrapolation, weight 1 -> 0 over this lead
    ensemble_method: str = defaults.ENSEMBLE_METHOD  # predict.nowcast.ENSEMBLE_METHODS


@dataclass
class SequenceScores:
    """Pooled accumulators of one sequence (index = lead - 1)."""

    name: str
    interval_s: float
    members: int
    n_leads: int
    starts: list[str] = field(default_factory=list)
    ct: dict = field(default_factory=dict)  # (method, k) -> Contingency
    brier: dict = field(default_factory=dict)  # (method, k) -> sum of squared errors
    n: np.ndarray | None = None  # [K] cells scored
    hist_wet: np.ndarray | None = None  # [K, M+1] cells by probability level, truth wet
    hist_dry: np.ndarray | None = None
    spread2: np.ndarray | None = None  # [K] sum of ensemble variance (m^2) on active cells
    err2: np.ndarray | None = None  # [K] sum of squared error of the ensemble mean depth
    n_active: np.ndarray | None = None
    rain_skill: list = field(default_factory=list)  # (start, k, STEPS, extrapolation, observed)
    windows: list = field(default_factory=list)  # per start: {start, row0, col0, rows, cols}

    def init(self) -> None:
        k, m = self.n_leads, self.members
        self.n = np.zeros(k, np.int64)
        self.hist_wet = np.zeros((k, m + 1), np.int64)
        self.hist_dry = np.zeros((k, m + 1), np.int64)
        self.spread2, self.err2 = np.zeros(k), np.zeros(k)
        self.n_active = np.zeros(k, np.int64)
        for meth in ("ensemble",) + REFS + RAIN_METHODS:
            for j in range(k):
                self.ct[(meth, j)] = Contingency()
                self.brier[(meth, j)] = 0.0


def _load_dem(req: FloodVerifyRequest):
    from dataclasses import replace

    from floodcast.io.dem_tools import fill_sinks_array as fill_sinks
    from floodcast.io.named_inputs import load_dems

    ((_, dem),) = load_dems([req.dem], req.dem_cell or None, False).items()
    if req.dem_crop:
        n = int(req.dem_crop)
        ny, nx = dem.shape
        r0, c0 = max(0, (ny - n) // 2), max(0, (nx - n) // 2)
        tr = dem.transform
        dem = replace(
            dem,
            elevation=dem.elevation[r0 : r0 + n, c0 : c0 + n],
            transform=None if tr is None else tr * tr.translation(c0, r0),
        )
    return replace(dem, elevation=fill_sinks(dem.elevation).astype(np.float32))


def verify_sequence(name: str, seq, dem, req: FloodVerifyRequest, echo=print) -> SequenceScores:
    """Score the flood nowcast on one radar sequence over ``req.starts`` start times."""
    from floodcast.data.events import radar_window, regrid_window
    from floodcast.predict.nowcast import extrapolate
    from floodcast.predict.verify import pick_starts

    interval = float(seq.interval_s)
    k_n = lead_steps(req.lead_min, interval)
    rain = np.asarray(seq.rain_mmh, np.float32)
    rows, cols = radar_window(dem.shape, dem.cell_size, seq.cell_size)
    pad = req.margin_km / seq.cell_size * 1e3
    valid_starts = list(range(max(req.spin_frames, 3) - 1, rain.shape[0] - k_n))
    if len(valid_starts) < 1:
        raise InputError(
            f"{name}: {rain.shape[0]} frames are too few for {req.spin_frames} "
            f"spin-up + {k_n} lead frames"
        )
    starts = pick_starts(valid_starts, req.starts)
    sc = SequenceScores(name, interval, req.members, k_n)
    sc.init()
    cfg, bnd = solver_setup()
    valid = np.isfinite(dem.elevation)
    m = req.members
    for i in starts:
        # the window and its crop come from frames <= i only with --window past
        row0, col0 = issue_window(rain, i, req.spin_frames, rows, cols, req.window)
        crop, wr, wc = window_crop(rain, row0, col0, rows, cols, pad)
        sc.windows.append(
            {"start": str(seq.times[i]), "row0": row0, "col0": col0, "rows": rows, "cols": cols}
        )

        def on_dem(frames, wr=wr, wc=wc):
            return np.clip(
                np.nan_to_num(regrid_window(frames, wr, wc, rows, cols, dem.shape)), 0, None
            )

        obs = on_dem(crop[i - req.spin_frames + 1 : i + 1])
        state = spin_up(dem.elevation, dem.cell_size, obs, interval, cfg, bnd)
        past = crop[i - 2 : i + 1]
        common = {"flow": req.flow, "cell_size_m": seq.cell_size, "interval_s": interval}
        ens = extrapolate(
            past,
            k_n,
            method=req.ensemble_method,
            n_members=m,
            seed=req.seed + i,
            steps_options=req.steps_options or None,
            **common,
        )
        det = extrapolate(past, k_n, method="extrapolation", **common)
        ens = blend_extrapolation(ens, det, interval, req.blend_min)
        truth = on_dem(crop[i + 1 : i + 1 + k_n])
        drive = np.stack(
            [on_dem(e) for e in ens]
            + [on_dem(det), np.repeat(obs[-1:], k_n, 0), np.zeros_like(truth), truth]
        )
        res = run_ensemble(
            dem.elevation,
            dem.cell_size,
            state,
            drive,
            interval,
            (req.threshold,),
            cfg,
            bnd,
            keep_members=True,
        )
        d = res.member_depths  # [M+4, K, y, x]
        _accumulate(sc, d, m, req.threshold, valid)
        _accumulate_rain(sc, drive, m, valid)
        sc.starts.append(str(seq.times[i]))
        fr, de, ob = drive[:m].mean((0, 2, 3)), drive[m].mean((1, 2)), truth.mean((1, 2))
        sc.rain_skill.extend(
            zip([str(seq.times[i])] * k_n, range(1, k_n + 1), fr, de, ob, strict=False)
        )
        echo(
            f"{name} start {seq.times[i]} window ({row0:g}, {col0:g}): wet cells truth at "
            f"+{req.lead_min:g} min {int((d[-1, -1] > req.threshold).sum())}, ensemble P>=0.5 "
            f"{int(((d[:m, -1] > req.threshold).mean(0) >= 0.5).sum())}"
        )
    return sc


def blend_extrapolation(ens: np.ndarray, det: np.ndarray, interval_s: float, blend_min: float):
    """STEPS members [M, K, y, x] blended with deterministic extrapolation [K, y, x]: at lead
    t = k * interval the weight of extrapolation is max(0, 1 - t / blend_min), so the members
    keep the observed cores at short leads and are pure STEPS from ``blend_min`` on."""
    if blend_min <= 0:
        return ens
    t = np.arange(1, det.shape[0] + 1) * interval_s
    w = np.clip(1.0 - t / (blend_min * 60.0), 0.0, 1.0).astype(np.float32)[:, None, None]
    return (w * det[None] + (1.0 - w) * ens).astype(np.float32)


def _accumulate_rain(sc: SequenceScores, drive: np.ndarray, m: int, valid: np.ndarray) -> None:
    """The rain nowcast's own contingency (rain >= RAIN_WET_MMH on the DEM grid) per lead:
    STEPS members' median (P >= 0.5) and extrapolation against the observed rain."""
    for k in range(sc.n_leads):
        o = drive[-1, k][valid] >= RAIN_WET_MMH
        p = (drive[:m, k][:, valid] >= RAIN_WET_MMH).mean(0)
        sc.ct[("rain_ensemble", k)].update(Contingency.from_masks(p >= 0.5, o))
        det = drive[m, k][valid] >= RAIN_WET_MMH
        sc.ct[("rain_extrapolation", k)].update(Contingency.from_masks(det, o))


def _accumulate(sc: SequenceScores, d: np.ndarray, m: int, thr: float, valid: np.ndarray):
    for k in range(sc.n_leads):
        o = (d[-1, k] > thr)[valid]
        mem = d[:m, k][:, valid]
        wet_m = mem > thr
        p = wet_m.mean(0)
        sc.n[k] += o.size
        sc.ct[("ensemble", k)].update(Contingency.from_masks(p >= 0.5, o))
        sc.brier[("ensemble", k)] += float(np.sum((p - o) ** 2))
        for r, ref in enumerate(REFS):
            w = (d[m + r, k] > thr)[valid]
            sc.ct[(ref, k)].update(Contingency.from_masks(w, o))
            sc.brier[(ref, k)] += float(np.sum((w.astype(float) - o) ** 2))
        lev = wet_m.sum(0)
        sc.hist_wet[k] += np.bincount(lev[o], minlength=m + 1)
        sc.hist_dry[k] += np.bincount(lev[~o], minlength=m + 1)
        act = o | wet_m.any(0)  # spread/error where someone is wet: dry-everywhere is trivial
        if act.any():
            truth = d[-1, k][valid][act]
            sc.spread2[k] += float(np.sum(mem[:, act].var(0, ddof=1 if m > 1 else 0)))
            sc.err2[k] += float(np.sum((mem[:, act].mean(0) - truth) ** 2))
            sc.n_active[k] += int(act.sum())


def run_flood_verify(req: FloodVerifyRequest, echo=print) -> dict:
    """Every sequence of ``req.radar`` scored on ``req.dem``: {name: SequenceScores}."""
    from floodcast.io.named_inputs import load_radars

    if req.members < 2:
        raise InputError(f"--ensemble must be >= 2 for flood verification, got {req.members}")
    if req.spin_frames < 1:
        raise InputError(f"--spin-up must be >= 1 frame, got {req.spin_frames}")
    check_window_mode(req.window)
    check_ensemble_method(req.ensemble_method)
    if not req.blend_min >= 0:
        raise InputError(f"--blend-minutes must be >= 0, got {req.blend_min}")
    dem = _load_dem(req)
    out = {
        "dem": {"source": dem.source, "shape": list(dem.shape), "cell_size": dem.cell_size},
        "request": req.__dict__.copy(),
        "sequences": {},
    }
    for spec in req.radar:
        pieces = load_radars([spec], echo=echo)
        name, seq = max(pieces.items(), key=lambda kv: len(kv[1].times))
        out["sequences"][name] = verify_sequence(name, seq, dem, req, echo)
    return out
