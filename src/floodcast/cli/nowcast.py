"""CLI: `floodcast nowcast` (flood nowcast: physics ensemble and/or emulator at each lead),
`floodcast nowcast verify` (rain nowcast skill; `--flood`: flood nowcast skill) and the old
name `floodcast nowcast-verify` (same as `nowcast verify`)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from floodcast import defaults
from floodcast.cli.verbosity import Verbose, library_chatter
from floodcast.defaults import DOWNSCALE_PRECISION, NOWCAST_SCHEDULER
from floodcast.errors import InputError, user_errors
from floodcast.predict.flood_nowcast import NOWCAST_LEAD_MIN, NOWCAST_MEMBERS, NOWCAST_THRESHOLDS_M
from floodcast.predict.radar_nowcast import MARGIN_KM

from . import surface_options
from .surface_options import number_or_file

nowcast_app = typer.Typer(
    invoke_without_command=True,
    add_completion=False,
    help="Flood nowcast from radar (physics ensemble by default); "
    "`nowcast verify` scores rain or flood nowcasts.",
)


@nowcast_app.callback()
def nowcast_cmd(
    ctx: typer.Context,
    dem: str = typer.Option("", help="DEM (GeoTIFF/.asc/.npz, metres) or 'sample'."),
    out: Path = typer.Option(None, help="Output folder (written atomically)."),
    rain: str = typer.Option(
        "",
        help="Observed rain frames on/regriddable to the DEM "
        "(NetCDF/zarr/npz, mm/h), oldest first; extrapolated on the DEM grid.",
    ),
    radar: str = typer.Option(
        "",
        help="[SOURCE:]PATH of radar frames in their own projection; "
        "extrapolated on the radar grid around the DEM, then reprojected.",
    ),
    engine: str = typer.Option(
        None,
        help="physics (solver ensemble; default without --model), "
        "model (the emulator; default with --model) or both.",
    ),
    model: Path = typer.Option(None, help="Trained model (OUT/model.pt of `floodcast train`)."),
    ensemble: int = typer.Option(
        None,
        help=f"STEPS members (0 = deterministic extrapolation; "
        f"default {NOWCAST_MEMBERS}, or 0 with --engine model).",
    ),
    steps: int = typer.Option(None, help="Lead in radar intervals (overrides --lead)."),
    lead: float = typer.Option(
        NOWCAST_LEAD_MIN, help="Lead (minutes, a multiple of the radar interval, at most 180)."
    ),
    threshold: list[float] = typer.Option(
        list(NOWCAST_THRESHOLDS_M), help="Depth threshold (m) of the probabilities; repeatable."
    ),
    state: str = typer.Option(
        "",
        help="Solver state file to hot-start from (OUT/state.npz "
        "of a previous nowcast on the same DEM).",
    ),
    spin_up: float = typer.Option(
        None,
        help="Instead of --state: simulate the last HOURS of "
        "the observed frames from a dry start (0 = all of them).",
    ),
    seed: int = typer.Option(0, help="Seed of the rain ensemble."),
    ensemble_method: str = typer.Option(
        defaults.ENSEMBLE_METHOD,
        help="Rain ensemble: sseps (pysteps SSEPS: STEPS with statistics per local window; "
        "STEPS where it cannot fit) or steps (pysteps STEPS, one set of statistics).",
    ),
    flow: str = typer.Option(
        "lucaskanade", help="Optical flow: lucaskanade, darts, proesmans, vet."
    ),
    margin_km: float = typer.Option(MARGIN_KM, help="Radar margin kept around the DEM (km)."),
    alert: list[str] = typer.Option([], help="AREA.geojson:DEPTH_M:PROB:LEAD_MIN; repeatable."),
    notify: list[str] = typer.Option([], help="apprise URL alerts go to; repeatable."),
    map_url: str = typer.Option("", help="Map URL named in alert messages."),
    cut: float = typer.Option(None, help="Model engine: wet-probability cut (0-1) per member."),
    prev_depth: str = typer.Option(
        "",
        help="Model engine: GeoTIFF/npz of the current depth "
        "(m) for autoregressive models (default: dry).",
    ),
    # the physics engine's land surface (part of the state's fingerprint), as `simulate`
    manning: surface_options.Manning = None,
    landcover: surface_options.Landcover = None,
    manning_table: surface_options.ManningTable = None,
    infiltration: surface_options.Infiltration = "0",
    quiet: bool = typer.Option(
        False, help="No progress bars (none when stderr is not a terminal)."
    ),
    verbose: Verbose = False,
    downscale: Path = typer.Option(
        None,
        help="Physics engine: solve every member on the DEM --coarsen times coarser and map "
        "each member's depth to the DEM grid with this downscaler (OUT/model.pt of "
        "`floodcast downscale train`), or 'volume-fill' (no model: sub-grid members, each "
        "block's water poured into its lowest cells); outputs flagged emulated.",
    ),
    coarsen: int = typer.Option(
        0,
        help="With --downscale: the factor of the coarse solve (0 = the model's; required "
        "with volume-fill).",
    ),
    downscale_precision: str = typer.Option(
        DOWNSCALE_PRECISION,
        help="With --downscale MODEL.pt: the model's arithmetic, float32 or bfloat16 (CPU "
        "autocast: about 20 % less model time on a CPU with AVX512-BF16).",
    ),
    scheduler: str = typer.Option(
        NOWCAST_SCHEDULER,
        help="Where the physics members run: none (the batched kernel here; fastest on one "
        "machine), local[:N] (N Dask worker processes) or a dask scheduler ADDRESS "
        "(tcp://HOST:PORT; workers need floodcast).",
    ),
) -> None:
    """Nowcast flooding LEAD minutes ahead from the latest radar."""
    if ctx.invoked_subcommand is not None:
        return
    from floodcast.predict.flood_nowcast_job import NowcastRequest, run_nowcast

    with user_errors(InputError, OSError), library_chatter(verbose):
        if not dem or out is None:
            raise InputError("nowcast needs --dem and --out (see floodcast nowcast --help)")
        req = NowcastRequest(
            dem=dem,
            out=out,
            radar=radar,
            rain=rain,
            engine=engine,
            model=model,
            members=ensemble,
            lead_min=lead,
            thresholds=tuple(threshold),
            state=state,
            spin_up_h=spin_up,
            seed=seed,
            ensemble_method=ensemble_method,
            flow=flow,
            margin_km=margin_km,
            alerts=list(alert),
            steps=steps,
            notify=list(notify),
            map_url=map_url,
            cut=cut,
            prev_depth=prev_depth,
            manning=None if manning is None else number_or_file(manning),
            landcover=landcover,
            manning_table=manning_table,
            infiltration=number_or_file(infiltration),
            downscale=downscale,
            coarsen=coarsen,
            downscale_precision=downscale_precision,
            scheduler=scheduler,
        )
        summary = run_nowcast(req, echo=typer.echo, progress=not quiet)
    leads = summary.get("leads", [])
    typer.echo(
        json.dumps(
            {
                "out": str(out),
                "engine": summary.get("engine"),
                "leads": len(leads),
                "members": summary.get("members"),
                **({"emulated": True} if summary.get("emulated") else {}),
                "alerts_sent": [a["name"] for a in summary.get("alerts", []) if a.get("sent")],
            },
            indent=2,
        )
    )


def verify_cmd(
    radar: list[str] = typer.Option(
        ..., "--radar", help="[SOURCE:]PATH of radar frames; repeatable."
    ),
    out: Path = typer.Option(..., help="Output folder (report files; written atomically)."),
    flood: bool = typer.Option(
        False,
        "--flood/--no-flood",
        help="Score the physics flood nowcast (on --dem) instead of the rain nowcast.",
    ),
    steps: int = typer.Option(12, help="Rain: lead times to verify (12 x 5 min = 1 h)."),
    starts: int = typer.Option(6, help="Start times per sequence, spread evenly."),
    past: int = typer.Option(3, help="Observed frames for the motion field (rain)."),
    threshold: list[float] = typer.Option([1.0], help="Rain: threshold (mm/h); repeatable."),
    scales_km: str = typer.Option("2,10,40", help="Rain: FSS sizes (km), comma-separated."),
    crop: str = typer.Option("", help="Rain: row0,row1,col0,col1 crop of every radar grid."),
    flow: str = typer.Option(
        "lucaskanade", help="Optical flow: lucaskanade, darts, proesmans, vet."
    ),
    dem: str = typer.Option("", help="Flood: DEM the radar is transplanted onto."),
    dem_cell: float = typer.Option(0.0, help="Flood: coarsen the DEM to this cell size (m)."),
    dem_crop: int = typer.Option(0, help="Flood: keep the central N x N cells of the DEM."),
    ensemble: int = typer.Option(5, help="Flood: STEPS members."),
    lead: float = typer.Option(60.0, help="Flood: lead (minutes)."),
    spin_up: int = typer.Option(6, help="Flood: observed frames simulated before each start."),
    seed: int = typer.Option(0, help="Flood: seed of STEPS and of the radar window."),
    margin_km: float = typer.Option(
        MARGIN_KM, help="Flood: radar margin (km) kept around the window for the rain nowcast."
    ),
    window: str = typer.Option(
        "past",
        help="Flood: where the DEM sits on the radar: past (per start, the rainiest window "
        "of the spin-up frames up to the start: what is known at issue time) or sequence "
        "(the rainiest over the whole sequence, truth included; the v1/v2 results).",
    ),
    steps_option: list[str] = typer.Option(
        [],
        help="Flood: KEY=VALUE passed to pysteps' STEPS over defaults.STEPS_OPTIONS (VALUE "
        "as JSON, else a string: conditional=true, mask_method=null); repeatable.",
    ),
    ensemble_method: str = typer.Option(
        defaults.ENSEMBLE_METHOD,
        help="Flood: ensemble rain nowcast: sseps (pysteps SSEPS: STEPS with statistics per "
        "local window, defaults.SSEPS_OPTIONS; the live nowcast's) or steps (pysteps STEPS "
        "with global statistics). --steps-option passes the chosen method's keywords.",
    ),
    blend_minutes: float = typer.Option(
        0.0,
        help="Flood: blend each STEPS member with deterministic extrapolation, the "
        "extrapolation's weight falling linearly from 1 to 0 over this lead (0: no blend).",
    ),
) -> None:
    """Verify nowcasts against what was observed: rain (CSI, FSS vs persistence) or, with
    --flood, flood depth (CSI/POD/FAR/bias, Brier skill, ROC, reliability)."""
    from floodcast.io.atomic import check_writable

    with user_errors(InputError, OSError):
        if starts < 1:
            raise InputError(f"--starts must be >= 1 (got {starts})")
        check_writable(out)
        if flood:
            from floodcast.evaluation.flood_verify import FloodVerifyRequest, run_flood_verify
            from floodcast.evaluation.flood_verify_report import write_report

            if not dem:
                raise InputError("--flood needs --dem")
            req = FloodVerifyRequest(
                radar=list(radar),
                dem=dem,
                dem_cell=dem_cell,
                dem_crop=dem_crop,
                members=ensemble,
                lead_min=lead,
                starts=starts,
                spin_frames=spin_up,
                seed=seed,
                flow=flow,
                margin_km=margin_km,
                window=window,
                steps_options=parse_steps_options(steps_option),
                blend_min=blend_minutes,
                ensemble_method=ensemble_method,
            )
            res = run_flood_verify(req, echo=typer.echo)
            write_report(out, res)
            typer.echo((out / "flood_verify.md").read_text())
            return
        from floodcast.predict.verify_run import run_verify, write_skill

        if steps < 1:
            raise InputError(f"--steps must be >= 1 (got {steps})")
        try:
            scales = tuple(float(s) for s in scales_km.split(",") if s.strip())
            region = tuple(int(v) for v in crop.split(",")) if crop else None
        except ValueError as exc:
            raise InputError(f"bad --scales-km {scales_km!r} or --crop {crop!r}") from exc
        if not scales or min(scales) <= 0 or (region is not None and len(region) != 4):
            raise InputError("--scales-km needs positive sizes; --crop needs 4 integers")
        df = run_verify(
            radar, steps, starts, past, tuple(threshold), scales, region, flow, echo=typer.echo
        )
        write_skill(out, df)
    typer.echo((out / "skill.md").read_text())


def parse_steps_options(items: list[str]) -> dict:
    """``--steps-option KEY=VALUE`` items as a dict; VALUE is JSON where it parses
    (true, null, 0.5, {...}) and a plain string otherwise (auto)."""
    out = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--steps-option needs KEY=VALUE, got {item!r}")
        try:
            out[key.strip()] = json.loads(val)
        except json.JSONDecodeError:
            out[key.strip()] = val
    return out


def register(app: typer.Typer) -> None:
    nowcast_app.command("verify")(verify_cmd)
    app.add_typer(nowcast_app, name="nowcast")
    app.command("nowcast-verify", help="Same as `floodcast nowcast verify`.")(verify_cmd)
