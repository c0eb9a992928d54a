"""CLI: `floodcast dataset build` (alias: `build-dataset`) and `floodcast dataset info`."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from floodcast.defaults import MANNING_N, MAX_STEP_S, WET_THRESHOLD_M
from floodcast.errors import InputError, user_errors
from floodcast.io.named_inputs import load_dems, load_radars

from . import surface_options
from .surface_options import number_or_file


def register(app: typer.Typer) -> None:
    dataset_app = typer.Typer(help="Build and inspect dataset stores (zarr).", no_args_is_help=True)
    app.add_typer(dataset_app, name="dataset")

    @dataset_app.command("build")
    def build_dataset_cmd(
        dem: list[str] = typer.Option(
            ...,
            "--dem",
            help="DEM file (GeoTIFF/.asc/.npz, metres) or "
            "'sample' (matplotlib's Jacksboro DEM); repeatable.",
        ),
        radar: list[str] = typer.Option(
            ...,
            "--radar",
            help="[SOURCE:]PATH of radar frames "
            "(folder or files; e.g. fmi:DIR, mch:DIR, bom:DIR); repeatable.",
        ),
        out: Path = typer.Option(..., "--out", help="Output zarr store (folder)."),
        events: int = typer.Option(20, help="Number of events to cut."),
        event_frames: int = typer.Option(24, help="Radar frames per event (24 x 5 min = 2 h)."),
        min_rain: float = typer.Option(
            0.5, help="Minimum window-mean rain rate of an event (mm/h)."
        ),
        seed: int = typer.Option(0, help="Seed for event placement and splits."),
        history: int = typer.Option(7, help="K: rain frames per model input."),
        threshold: float = typer.Option(
            WET_THRESHOLD_M, help="Wet/dry depth threshold (m), 0 < t < 10."
        ),
        patch: int = typer.Option(128, help="Tile size (cells)."),
        overlap: int = typer.Option(0, help="Tile overlap (cells)."),
        extra: str = typer.Option(
            "", help="Extra channels, comma-separated: rain_accum,time_since_start,prev_depth."
        ),
        dem_cell_size: float = typer.Option(
            0.0, help="Block-mean DEMs finer than this (m); 0 = keep."
        ),
        fill_sinks: bool = typer.Option(
            False, help="Fill DEM sinks (scikit-image, as simulate) before simulating."
        ),
        manning: str = typer.Option(
            str(MANNING_N),
            help="Manning n (s m^-1/3): a number, or a "
            "raster file resampled (nearest) onto each DEM and stored "
            "once per DEM in the store.",
        ),
        landcover: surface_options.Landcover = None,
        manning_table: surface_options.ManningTable = None,
        max_step: float = typer.Option(MAX_STEP_S, help="Solver step cap (s)."),
        scheduler: str = typer.Option(
            "local",
            help="'local' (Dask LocalCluster), 'sync', or a "
            "Dask scheduler address (tcp://host:8786).",
        ),
        workers: int = typer.Option(2, help="LocalCluster worker processes."),
        test_dem: list[str] = typer.Option(
            [],
            "--test-dem",
            help="Hold out this DEM (its id: the "
            "file stem, 'jacksboro' for 'sample'): all its events "
            "are test, the rest train/val; repeatable.",
        ),
        strict: bool = typer.Option(
            False,
            "--strict/--no-strict",
            help="Abort on an unreadable radar "
            "frame (default: skip it as a time gap and report it).",
        ),
    ) -> None:
        """Cut events from radar over DEMs, simulate each (Dask), store everything in one zarr."""
        from rich.progress import Progress

        from floodcast.data.build import BuildConfig, SolverSettings, build_dataset
        from floodcast.data.events import EventConfig
        from floodcast.data.samples import SampleSpec

        logging.basicConfig(level=logging.WARNING)
        with user_errors(ValueError, FileNotFoundError):
            cfg = BuildConfig(
                events=EventConfig(
                    count=events, frames=event_frames, min_rain_mmh=min_rain, seed=seed
                ),
                spec=SampleSpec(
                    frames=history,
                    threshold=threshold,
                    patch=patch,
                    overlap=overlap,
                    extra_channels=[e for e in extra.split(",") if e],
                ),
                solver=SolverSettings(
                    manning=number_or_file(manning),
                    landcover=None if landcover is None else str(landcover),
                    manning_table=None if manning_table is None else str(manning_table),
                    max_step=max_step,
                ),
                split_seed=seed,
                test_dems=list(test_dem),
            )
            dems = load_dems(dem, dem_cell_size or None, fill_sinks)
            radars = load_radars(radar, echo=typer.echo, strict=strict)
            with Progress() as bar:
                task = bar.add_task("simulating events", total=events)
                summary = build_dataset(
                    out,
                    dems,
                    radars,
                    cfg,
                    scheduler=scheduler,
                    workers=workers,
                    progress=lambda d, t: bar.update(task, completed=d, total=t),
                )
        _print_summary(out, summary)

    # the old name stays, so scripts and Makefiles that call it keep working
    app.command(
        "build-dataset",
        help="Alias of `floodcast dataset build`: " + (build_dataset_cmd.__doc__ or ""),
    )(build_dataset_cmd)

    @dataset_app.command("info")
    def info_cmd(
        store_path: Path = typer.Argument(..., help="Dataset store (zarr folder)."),
        as_json: bool = typer.Option(False, "--json/--no-json", help="Print JSON."),
    ) -> None:
        """Events, samples, dedup counts, wet fraction per split, size on disk vs one record per window."""
        from floodcast.data import store

        with user_errors(InputError):
            _, attrs = store.read_index(store_path)
        summary = attrs["summary"]
        if as_json:
            from floodcast.data.store import store_info

            typer.echo(json.dumps(store_info(store_path, summary), indent=2, default=str))
        else:
            _print_summary(store_path, summary)


def _print_summary(path: Path, summary: dict) -> None:
    from floodcast.data.store import store_info
    from floodcast.display import rounded

    d = store_info(path, summary)
    typer.echo(f"store: {path}")
    typer.echo(f"events: {d['events']}  per split: {d['events_per_split']}")
    if d["test_dems"]:
        typer.echo(f"split by terrain: every event on {', '.join(d['test_dems'])} is test")
    typer.echo(f"channels: {', '.join(d['channels'])}  (threshold {d['threshold_m']} m)")
    for s in ("train", "val", "test"):
        typer.echo(
            f"  {s:5s}: {d['samples_kept'][s]} samples kept of {d['samples_total'][s]} "
            f"({d['duplicates_removed'][s]} duplicates removed), wet fraction "
            f"{rounded(d['wet_fraction'][s])}"
        )
    mb = 1024 * 1024
    typer.echo(
        f"size on disk: {d['size_on_disk_bytes'] / mb:.1f} MiB; one record per window: "
        f"{d['one_record_per_window_bytes']['raw'] / mb:.1f} MiB raw "
        f"({d['ratio_vs_records_raw']:.1f}x larger), "
        f"~{d['one_record_per_window_bytes']['gzip_estimate'] / mb:.1f} MiB gzip "
        f"({d['ratio_vs_records_gzip']:.1f}x larger)"
    )
    for w in d["warnings"]:
        typer.echo(f"warning: {w}")
