"""``floodcast nowcast`` as a library call: inputs checked, rain nowcast, physics ensemble and/or
emulator, outputs and alerts.

Every bad input is an :class:`InputError` naming the option, raised before any computing or
writing (the output folder is written atomically at the end).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from floodcast.errors import InputError
from floodcast.predict import flood_nowcast_downscale as dsn
from floodcast.predict.flood_nowcast import (
    lead_steps,
    run_ensemble,
    solver_setup,
    spin_frames,
    spin_up,
)
from floodcast.predict.flood_nowcast_request import NowcastRequest, check
from floodcast.simulation.downscale import SUBGRID


def _lead(req: NowcastRequest, interval: float) -> int:
    return int(req.steps) if req.steps is not None else lead_steps(req.lead_min, interval)


def _observed_and_forecast(
    req: NowcastRequest, dem, n_members: int, need: int, echo, report: dict | None = None
):
    """(observed [T, y, x], forecast [M, K, y, x], interval s, frame times or None);
    ``report["method"]``: the rain nowcast method that ran (``extrapolate``'s report)."""
    from floodcast.predict.nowcast import extrapolate, min_frames

    method = req.ensemble_method if n_members > 0 else "extrapolation"
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
            seq, dem, n, method, members, req.seed, req.flow, req.margin_km, report
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
            report=report,
        )
        times = None
    fc = np.asarray(fc, np.float32)
    return obs, (fc if fc.ndim == 4 else fc[None]), interval, times


def _start_state(req, spin, obs, interval, times, fp, echo):
    """(solver state at the end of the observation, observed frames simulated to reach it):
    hot start (+ the frames newer than it) or spin-up over the last ``--spin-up`` hours
    from dry; ``spin(frames, state)`` simulates frames from a state (None: dry). The
    simulated frames are always the last ``n`` of ``obs``."""
    from floodcast.simulation.hotstart import load_state

    if req.state:
        state, meta = load_state(req.state, fp)
        n = 0
        last = meta.get("analysis_time")
        if times is not None and last:
            n = int(np.count_nonzero(times > np.datetime64(last)))  # times are sorted
        echo(f"hot start from {req.state} (+{n} newer observed frame(s))")
        new = obs[len(obs) - n :]
        return spin(new, state), n
    n = spin_frames(req.spin_up_h, interval, len(obs))
    echo(f"spin-up from dry over the last {n} observed frame(s)")
    return spin(obs[-n:], None), n


def run_nowcast(
    req: NowcastRequest, echo: Callable[[str], None] = print, progress: bool = False
) -> dict:
    """Run ``floodcast nowcast``; returns the summary (nowcast.json of the physics engine).

    ``progress``: progress bars on stderr over the ensemble's leads and the model's maps
    (when stderr is a terminal; see :func:`floodcast.progress.count_progress`)."""
    from floodcast.io.atomic import check_writable
    from floodcast.io.named_inputs import load_dems
    from floodcast.physics.subgrid_run import SUBGRID_VERSION
    from floodcast.progress import count_progress
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
    from floodcast.simulation.landcover import land_surface

    surface = land_surface(
        dem,
        manning=req.manning,
        infiltration=req.infiltration,
        landcover=req.landcover,
        manning_table=req.manning_table,
    )
    fields = surface.solver_fields()
    if req.downscale and any(np.ndim(v) > 0 for v in fields.values()):
        raise InputError(
            "--downscale takes a uniform --manning and --infiltration (numbers): the "
            "coarse solve has no rule yet to carry a raster of n or losses to its grid"
        )
    config, boundaries = solver_setup(surface=fields)
    ds = (
        dsn.load_nowcast_downscaler(req.downscale, req.coarsen, dem, req.downscale_precision)
        if req.downscale
        else None
    )
    sub = ds is not None and ds.grid.coarse_dem == SUBGRID  # members on the sub-grid solver
    if sub:
        dsn.check_subgrid_nowcast(req, config, boundaries)
    sdem = dsn.solver_dem(ds, dem)  # the state fingerprint is of the grid the members run on
    if sub:  # a sub-grid state depends on the fine DEM inside each block (storage and sills)
        tag = f"subgrid{SUBGRID_VERSION}:x{ds.factor}"  # another scheme's state is refused
        fp = fingerprint(dem.elevation, dem.cell_size, config, boundaries, tag)
    else:
        fp = fingerprint(sdem.elevation, sdem.cell_size, config, boundaries)
    mapper = None
    if eng != "physics":
        from floodcast.predict.mapper import FloodMapper

        mapper = FloodMapper.load(req.model)
        given = eng == "model" and (req.manning is not None or req.landcover is not None)
        note = mapper.take_manning(surface.manning, given, req.model)  # (both: the physics')
        if note:
            echo(note)
    need = mapper.frames if mapper is not None else 0
    ran: dict = {}  # the rain method that ran: SSEPS may fall back to STEPS members
    obs, fc, interval, times = _observed_and_forecast(req, dem, req.n_members, need, echo, ran)
    t_last = None if times is None else times[-1]
    meta = {
        "engine": eng,
        "dem": dem.source,
        "input": req.radar or req.rain,
        "method": ran.get("method", "extrapolation"),
        **({"method_note": ran["note"]} if "note" in ran else {}),
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

        sobs, sfc = dsn.solver_rain(ds, obs, fc)  # on sdem's grid
        if sub:
            from floodcast.predict import flood_members_subgrid as fms

            terrain = fms.terrain_of(ds)

            def spin(frames, st):
                return fms.spin_up_subgrid(terrain, frames, interval, config, boundaries, st)
        else:

            def spin(frames, st):
                z, cell = sdem.elevation, sdem.cell_size
                return spin_up(z, cell, frames, interval, config, boundaries, st)

        state, n_sim = _start_state(req, spin, sobs, interval, times, fp, echo)
        what = f"physics ensemble ({fc.shape[0]} member{'s' * (fc.shape[0] > 1)})"
        with count_progress(what, "leads", progress) as bar:
            if sub:
                res = fms.run_members_subgrid(
                    terrain, state, sfc, interval, thresholds, config, boundaries, bar
                )
            else:
                res = run_ensemble(
                    sdem.elevation,
                    sdem.cell_size,
                    state,
                    sfc,
                    interval,
                    thresholds,
                    config,
                    boundaries,
                    progress=bar,
                    keep_members=ds is not None,
                    scheduler=req.scheduler,
                )
        if ds is not None:
            res = dsn.finish(ds, res, fc, obs, n_sim, interval, meta)
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
        with count_progress("model", "maps", progress) as bar:
            summary = _model_engine(
                req, mapper, dem_raw, obs, fc, interval, t_last, meta, summary, bar
            )
    return summary


def _model_engine(req, mapper, dem, obs, fc, interval, t_last, meta, physics: dict, bar) -> dict:
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
        progress=bar,
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
