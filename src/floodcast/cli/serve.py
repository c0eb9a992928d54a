"""CLI: `floodcast serve` -> HTTP API, web map and (with --watch) live flood maps."""

from __future__ import annotations

from pathlib import Path

import typer

from floodcast.defaults import NOWCAST_LEAD_MIN, NOWCAST_MEMBERS, NOWCAST_THRESHOLDS_M
from floodcast.errors import InputError, user_errors

from . import surface_options

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_cmd(
        model: Path = typer.Option(..., help="Trained model (OUT/model.pt of `floodcast train`)."),
        dem: str = typer.Option(..., help="DEM of the area (GeoTIFF/.asc/.npz) or 'sample'."),
        host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
        port: int = typer.Option(8000, help="TCP port."),
        watch: Path = typer.Option(
            None,
            help="Folder to watch for new radar files "
            "(npz/NetCDF/GeoTIFF on the DEM grid, one or more frames).",
        ),
        state: Path = typer.Option(
            None,
            help="State folder (live solver, maps); default "
            "WATCH/../floodcast-state, or a temporary folder.",
        ),
        max_upload_mb: float = typer.Option(20.0, help="Largest accepted upload (MB)."),
        leads: int = typer.Option(
            6,
            "--steps",
            "--leads",
            help="Nowcast lead times (radar intervals) in watch mode, as `nowcast --steps` (--leads: the old name).",
        ),
        physics: bool = typer.Option(True, help="Run the live physics solver in watch mode."),
        poll: float = typer.Option(1.0, help="Seconds between scans of the watch folder."),
        realtime_check: bool = typer.Option(
            True,
            help="Time a 512x512 live solver at startup (watch mode) and report it on /metrics.",
        ),
        workers: int = typer.Option(2, help="Model calls run at once (one torch thread each)."),
        tile: int = typer.Option(
            0, help="Model tile size in cells (0 = the training patch, at least 256)."
        ),
        overlap: int = typer.Option(
            -1,
            help="Tile overlap in cells, blended (-1 = a quarter "
            "tile; 0 = none: fastest, seams possible).",
        ),
        cache: int = typer.Option(32, help="Responses kept for repeated identical requests."),
        posts: Path = typer.Option(
            None,
            help="Social-media layer: places.geojson written by "
            "`floodcast social map`, drawn beside the flood extent.",
        ),
        log_level: str = typer.Option("info", help="uvicorn log level."),
        # live physics' land surface (watch mode), as `floodcast simulate`
        manning: surface_options.Manning = None,
        landcover: surface_options.Landcover = None,
        manning_table: surface_options.ManningTable = None,
        infiltration: surface_options.Infiltration = "0",
        # live ensemble flood nowcast (watch mode)
        watch_source: str = typer.Option(
            None,
            help="Radar source of native files in --watch (fmi, mch, opera, bom, "
            "fmi_geotiff, knmi, ...); default guessed from each file name.",
        ),
        ensemble: int = typer.Option(
            NOWCAST_MEMBERS,
            help="Watch mode: STEPS members of the live flood ensemble run after each "
            "radar file, fewer when a cycle cannot keep up (0 = no ensemble).",
        ),
        lead: float = typer.Option(
            NOWCAST_LEAD_MIN,
            help="Lead of the live ensemble (minutes, a multiple of the interval).",
        ),
        threshold: list[float] = typer.Option(
            list(NOWCAST_THRESHOLDS_M),
            help="Depth (m) of the live probability maps P(depth > m); repeatable.",
        ),
        alert: list[str] = typer.Option(
            [], help="Watch mode: AREA.geojson:DEPTH_M:PROB:LEAD_MIN alert rule; repeatable."
        ),
        notify: list[str] = typer.Option([], help="apprise URL alerts go to; repeatable."),
    ) -> None:
        """Serve flood maps over HTTP: POST /predict, GET /maps/latest, /metrics, web map at /."""
        import uvicorn

        from floodcast.io.named_inputs import load_dems
        from floodcast.serve.app import ServeConfig, create_app

        if host not in LOOPBACK:
            typer.echo(f"warning: listening on {host}: the API has no authentication", err=True)
        with user_errors(InputError, FileNotFoundError):
            ((_, d),) = load_dems([dem], None, False).items()
            surface = surface_options.resolve_surface(
                d, manning, landcover, manning_table, infiltration
            )
            if watch is not None and not watch.is_dir():
                raise InputError(f"--watch {watch}: not a folder")
            state_dir = state or (watch.parent / "floodcast-state" if watch else None)
            _check_live(watch_source, ensemble, threshold)
            if (alert or notify) and (watch is None or ensemble == 0 or not physics):
                # the alerts read the live ensemble, which runs on the live physics' state
                raise InputError(
                    "--alert/--notify need --watch, the live physics (not --no-physics) "
                    "and --ensemble > 0"
                )
            if watch is not None and not physics and ensemble > 0:
                typer.echo(
                    "note: --no-physics: no live flood ensemble (it runs on the live "
                    "physics' state); maps are the model's only",
                    err=True,
                )
            cfg = ServeConfig(
                model=model,
                dem=d,
                watch_dir=watch,
                state_dir=state_dir,
                max_upload_mb=max_upload_mb,
                n_leads=leads,
                physics=physics,
                poll_s=poll,
                reference_check=realtime_check,
                workers=workers,
                tile=tile or None,
                overlap=None if overlap < 0 else overlap,
                cache=cache,
                posts=posts,
                surface=surface.solver_fields(),
                watch_source=watch_source,
                ensemble=ensemble,
                lead_min=lead,
                thresholds=tuple(sorted(set(threshold))),
                alerts=tuple(alert),
                notify=tuple(notify),
                map_url=f"http://{host}:{port}/",
            )
            api = create_app(cfg)
        srv = api.state.server
        typer.echo(
            f"floodcast serve: model {model} ({srv.version}), DEM {d.source} {d.shape}, "
            f"state {srv.state_dir}" + (f", watching {watch}" if watch else "")
        )
        typer.echo(f"  web map http://{host}:{port}/  API docs http://{host}:{port}/docs")
        uvicorn.run(api, host=host, port=port, log_level=log_level)


def _check_live(source: str | None, members: int, thresholds: list[float]) -> None:
    """Refuse bad live-ensemble options by name before the model loads."""
    if source is not None:
        from floodcast.io.radar_sources import get_source

        try:
            get_source(source)
        except InputError as exc:
            raise InputError(f"--watch-source: {exc}") from None
    if members < 0:
        raise InputError(f"--ensemble must be >= 0 members, got {members}")
    if not thresholds or any(not t > 0 for t in thresholds):
        raise InputError(f"--threshold must be depths > 0 m, got {list(thresholds)}")
