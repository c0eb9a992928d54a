"""``floodcast nowcast`` as a library call: inputs checked, rain nowcast, physics ensemble and/or
emulator, outputs and alerts.

Every bad input is an :class:`InputError` naming the option, raised before any computing or
writing (the output folder is written atomically at the end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from floodcast.defaults import NOWCAST_SCHEDULER
from floodcast.errors import InputError
from floodcast.predict.flood_nowcast import (
    NOWCAST_LEAD_MIN,
    NOWCAST_MEMBERS,
    NOWCAST_THRESHOLDS_M,
    lead_steps,
    run_ensemble,
    solver_setup,
    spin_frames,
    spin_up,
)
from floodcast.predict.radar_nowcast import MARGIN_KM

ENGINES = ("physics", "model", "both")


@dataclass
class NowcastRequest:
    """Everything ``floodcast nowcast`` takes (see docs/guide/flood-nowcast.md)."""

    dem: str
    out: Path
    radar: str = ""
    rain: str = ""
    engine: str | None = None  # None: physics, or model when a model is given
    model: Path | None = None
    members: int | None = None  # None: NOWCAST_MEMBERS (physics) or 0 (model engine)
    lead_min: float = NOWCAST_LEAD_MIN
    thresholds: tuple[float, ...] = NOWCAST_THRESHOLDS_M
    state: str = ""
    spin_up_h: float | None = None
    seed: int = 0
    flow: str = "lucaskanade"
    margin_km: float = MARGIN_KM
    alerts: list[str] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    map_url: str = ""
    cut: float | None = None
    prev_depth: str = ""  # model engine: current depth map for autoregressive models
    steps: int | None = None  # lead in radar intervals (overrides lead_min; model-engine name)
    scheduler: str = NOWCAST_SCHEDULER  # where the physics members run (none | local[:N] | ADDR)

    @property
    def resolved_engine(self) -> str:
        return self.engine or ("model" if self.model else "physics")

    @property
    def n_members(self) -> int:
        if self.members is not None:
            return int(self.members)
        return 0 if self.resolved_engine == "model" else NOWCAST_MEMBERS


def check(req: NowcastRequest) -> None:
    """Option-level checks (no file read yet)."""
    eng = req.resolved_engine
    if eng not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, got {eng!r}")
    if eng in ("model", "both") and req.model is None:
        raise InputError(f"--engine {eng} needs --model MODEL.pt")
    if req.n_members < 0:
        raise InputError(
            f"--ensemble must be >= 0 members (0 = deterministic), got {req.n_members}"
        )
    if req.steps is not None and req.steps < 1:
        raise InputError(f"--steps must be >= 1, got {req.steps}")
    if bool(req.rain) == bool(req.radar):
        raise InputError("give exactly one of --rain FILE or --radar [SOURCE:]PATH")
    if not req.thresholds or min(req.thresholds) <= 0:
        raise InputError(f"--threshold must be > 0 m, got {list(req.thresholds)}")
    if eng != "model":
        if req.state and req.spin_up_h is not None:
            raise InputError("give --state FILE or --spin-up HOURS, not both")
        if not req.state and req.spin_up_h is None:
            raise InputError(
                "the physics engine needs a starting state: --state FILE (from a "
                "previous nowcast) or --spin-up HOURS of the observed rain"
            )
    if eng != "model":
        from floodcast.predict.flood_members_dask import parse_scheduler

        parse_scheduler(req.scheduler)
    if req.notify and not req.alerts:
        raise InputError("--notify needs at least one --alert AREA.geojson:DEPTH:PROB:LEAD")


def _lead(req: NowcastRequest, interval: float) -> int:
    return int(req.steps) if req.steps is not None else lead_steps(req.lead_min, interval)


def _observed_and_forecast(req: NowcastRequest, dem, n_members: int, need: int, echo):
    """(observed [T, y, x], forecast [M, K, y, x], interval s, frame times or None)."""
    from floodcast.predict.nowcast import extrapolate, min_frames

    method = "steps" if n_members > 0 else "extrapolation"
    members = max(n_members, 1)
    if req.radar:
        from floodcast.io.named_inputs import load_radars
        from floodcast.predict.radar_nowcast import radar_nowcast

        seq = list(load_radars([req.radar], echo=echo).values())[-1]  # latest gap-free piece
        interval = float(seq.interval_s)
        n = _lead(req, interval)
        if len(seq.times) < max(need, min_frames(method)):
            raise InputError(
                f"--radar {req.radar}: got {len(seq.times)} observed frames; "
                f"{method}{' and the model' if need else ''} need at least "
                f"{max(need, min_frames(method))}"
            )
        obs, fc, interval = radar_nowcast(
            seq, dem, n, method, members, req.seed, req.flow, req.margin_km
        )
        times = np.asarray(seq.times)
    else:
        from floodcast.predict.inputs import rain_from_file

        obs, interval = rain_from_file(req.rain, dem)
        n = _lead(req, interval)
        if len(obs) < max(need, min_frames(method)):
            raise InputError(
                f"--rain {req.rain}: got {len(obs)} observed frames; {method}"
                f"{' and the model' if need else ''} need at least "
                f"{max(need, min_frames(method))}"
            )
        fc = extrapolate(
            obs,
            n,
            method=method,
            n_members=members,
            seed=req.seed,
            flow=req.flow,
            cell_size_m=dem.cell_size,
            interval_s=interval,
        )
        times = None
    fc = np.asarray(fc, np.float32)
    return obs, (fc if fc.ndim == 4 else fc[None]), interval, times


def _start_state(req, dem, obs, interval, times, fp, config, boundaries, echo):
    """Solver state at the end of the observation: hot start (+ frames newer than it) or
    spin-up over the last ``--spin-up`` hours from dry."""
    from floodcast.simulation.hotstart import load_state

    if req.state:
        state, meta = load_state(req.state, fp)
        new = obs[:0]
        last = meta.get("analysis_time")
        if times is not None and last:
            newer = times > np.datetime64(last)
            new = obs[newer]
        echo(f"hot start from {req.state} (+{len(new)} newer observed frame(s))")
        return spin_up(dem.elevation, dem.cell_size, new, interval, config, boundaries, state)
    n = spin_frames(req.spin_up_h, interval, len(obs))
    echo(f"spin-up from dry over the last {n} observed frame(s)")
    return spin_up(dem.elevation, dem.cell_size, obs[-n:], interval, config, boundaries)


def run_nowcast(req: NowcastRequest, echo: Callable[[str], None] = print) -> dict:
    """Run ``floodcast nowcast``; returns the summary (nowcast.json of the physics engine)."""
    from floodcast.io.atomic import check_writable
    from floodcast.io.named_inputs import load_dems
    from floodcast.simulation.hotstart import fingerprint

    check(req)
    check_writable(req.out)
    from dataclasses import replace

    from floodcast.io.dem_tools import fill_sinks_array as fill_sinks

    ((_, dem_raw),) = load_dems([req.dem], None, False).items()
    # the solver runs on the filled DEM, as live physics does (the same filler)
    dem = replace(dem_raw, elevation=fill_sinks(dem_raw.elevation).astype(np.float32))
    eng = req.resolved_engine
    alerts = []
    if req.alerts:
        from floodcast.predict.alerts import parse_alerts

        alerts = parse_alerts(req.alerts, dem)
    thresholds = tuple(sorted(set(req.thresholds) | {a.depth_m for a in alerts}))
    config, boundaries = solver_setup()
    fp = fingerprint(dem.elevation, dem.cell_size, config, boundaries)
    mapper = None
    if eng != "physics":
        from floodcast.predict.mapper import FloodMapper

        mapper = FloodMapper.load(req.model)
    need = mapper.frames if mapper is not None else 0
    obs, fc, interval, times = _observed_and_forecast(req, dem, req.n_members, need, echo)
    t_last = None if times is None else times[-1]
    meta = {
        "engine": eng,
        "dem": dem.source,
        "input": req.radar or req.rain,
        "method": "steps" if req.n_members else "extrapolation",
        "seed": req.seed,
        "flow": req.flow,
        "lead_min": req.lead_min,
        "interval_s": interval,
        "observed_frames": int(len(obs)),
        "state_fingerprint": fp,
        "analysis_time": None if t_last is None else str(t_last),
    }
    summary: dict = {}
    if eng in ("physics", "both"):
        from floodcast.predict.flood_nowcast_outputs import write_flood_nowcast

        state = _start_state(req, dem, obs, interval, times, fp, config, boundaries, echo)
        res = run_ensemble(
            dem.elevation,
            dem.cell_size,
            state,
            fc,
            interval,
            thresholds,
            config,
            boundaries,
            scheduler=req.scheduler,
        )
        extra = {}
        if alerts:
            from floodcast.predict.alerts import evaluate_alerts, send_alerts

            fired = evaluate_alerts(alerts, res, dem, t_last, req.out / "alerts_state.json")
            extra["alerts"] = send_alerts(fired, req.notify, req.map_url, echo)
        summary = write_flood_nowcast(req.out, res, dem, meta, t_last, fp, extra)
        if alerts:
            from floodcast.predict.alerts import commit_alert_state

            commit_alert_state(req.out / "alerts_state.json", extra["alerts"])
    if mapper is not None:
        summary = _model_engine(req, mapper, dem_raw, obs, fc, interval, t_last, meta, summary)
    return summary


def _model_engine(req, mapper, dem, obs, fc, interval, t_last, meta, physics: dict) -> dict:
    """Today's emulator path (FloodMapper at each lead); with ``both`` beside the physics
    output in OUT/model and the per-lead agreement (CSI of the wet maps) in the summary."""
    from floodcast.metrics import Contingency
    from floodcast.predict.model_nowcast_outputs import write_model_nowcast
    from floodcast.predict.nowcast import flood_nowcast

    n = fc.shape[1]
    ens = fc if req.n_members else fc[0]
    prev = None
    if req.prev_depth:
        from floodcast.predict.inputs import read_depth_map

        prev = read_depth_map(req.prev_depth, dem)
    leads = flood_nowcast(
        mapper,
        obs,
        dem.elevation,
        dem.cell_size,
        interval,
        n,
        forecast_on_dem=ens,
        cut=req.cut,
        prev_depth=prev,
    )
    mmeta = {
        **meta,
        "model": str(req.model),
        "members": req.n_members,
        "steps": n,
        "threshold_m": mapper.threshold,
        "cut": leads[0].fmap.cut,
    }
    if not physics:
        return write_model_nowcast(req.out, leads, ens, dem, mmeta, t_last)
    model_sum = write_model_nowcast(req.out / "model", leads, ens, dem, mmeta, t_last)
    import xarray as xr

    with xr.open_dataset(req.out / "nowcast.nc") as ds:
        p = ds["probability"].sel(threshold=mapper.threshold, method="nearest").values
    valid = np.isfinite(dem.elevation)
    agree = []
    for k in range(n):
        c = Contingency.from_masks(leads[k + 1].fmap.wet, np.nan_to_num(p[k]) >= 0.5, valid)
        agree.append({"lead_min": float((k + 1) * interval / 60), **c.scores()})
    physics["agreement_model_vs_physics"] = agree
    physics["model_summary"] = "model/nowcast.json"
    import json

    from floodcast.io.atomic import atomic_path

    physics["model_wet_cells"] = [r["wet_cells"] for r in model_sum["leads"]]
    with atomic_path(req.out / "nowcast.json") as tmp:
        tmp.write_text(json.dumps(physics, indent=2, default=str))
    return physics
