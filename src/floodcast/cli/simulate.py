"""``floodcast simulate``: a thin wrapper over floodcast.simulation."""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from floodcast.cli.verbosity import Quiet
from floodcast.defaults import (
    DOWNSCALE_PRECISION,
    SAVE_EVERY_S,
    SIMULATE_MAX_STEP_S,
    WET_THRESHOLD_M,
)
from floodcast.progress import console, sim_progress

from . import surface_options
from .surface_options import number_or_file


@contextmanager
def simulation_errors():
    """Print user-facing errors (bad input, failed writes, a failed simulation) in rich
    markup without a traceback and exit with code 1 (the generic form is
    ``floodcast.errors.user_errors``)."""
    from floodcast.errors import InputError, InputWarning

    try:
        with warnings.catch_warnings():
            # readers record these as notes, which are printed in one place
            warnings.simplefilter("ignore", InputWarning)
            yield
    except InputError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    except OSError as exc:  # e.g. disk full while writing: the job removed its partial output
        console.print(f"[bold red]error writing outputs:[/] {escape(str(exc))}", highlight=False)
        console.print("nothing was written.", highlight=False)
        raise typer.Exit(1) from None
    except Exception as exc:
        # the solver module is imported lazily (numba start-up), so match by name
        if type(exc).__name__ != "SimulationError":
            raise
        console.print(f"[bold red]simulation failed:[/] {escape(str(exc))}", highlight=False)
        console.print("nothing was written.", highlight=False)
        raise typer.Exit(1) from None


def print_summary(result: Any) -> None:
    s = result.stats
    console.print(
        f"[green]done:[/] {s['steps']} steps, dt {s['dt_min_s']:.3g}-{s['dt_max_s']:.3g} s, "
        f"wall {s['wall_time_s']:.1f} s, {s['cell_updates_per_s']:.3g} cell updates/s; "
        f"max depth {s['max_depth_m']:.3f} m; {s['wet_cells_max']} cells "
        f"({s['wet_area_max_m2'] / 1e6:.4g} km²) wetter than {s['threshold_m']:g} m",
        highlight=False,
    )
    if s.get("mass"):
        console.print(
            f"mass balance: relative error {s['mass']['relative_error']:.2e}", highlight=False
        )
    console.print(
        f"outputs in [bold]{escape(str(result.out))}[/]: " + ", ".join(result.files),
        highlight=False,
    )


def simulate(
    dem: Annotated[
        str,
        typer.Option(
            help="DEM: any raster GDAL reads (GeoTIFF/COG, VRT, SRTM .hgt or .hgt.zip, "
            "/vsi... paths), ESRI ASCII .asc, .npz ('elevation' (y, x) in m, 'cell_size' "
            "in m), or 'sample'. Chosen by content. NaN/nodata cells: see --nodata."
        ),
    ],
    rain: Annotated[
        str,
        typer.Option(
            help="Rain in mm/h: NetCDF/zarr with rain(time, y, x), "
            ".npz with rain_mmh (t, y, x) and times_s (t), native radar as "
            "SOURCE:PATH (e.g. fmi:DIR, mch:DIR; reprojected onto the DEM), or a "
            "uniform hyetograph such as 50mm/h:600s."
        ),
    ],
    duration: Annotated[float, typer.Option(help="Simulated time (s).")],
    out: Annotated[
        Path,
        typer.Option(
            help="Output folder: depth.nc, max_depth.tif, "
            "mass_balance.csv, max_depth.png, run.json."
        ),
    ],
    manning: surface_options.Manning = None,
    landcover: surface_options.Landcover = None,
    manning_table: surface_options.ManningTable = None,
    boundary: Annotated[
        str,
        typer.Option(
            help="Edges: free | closed | level:<m>, or per side "
            "N=free,S=closed,E=level:12.5 (unnamed sides closed)."
        ),
    ] = "free",
    save_every: Annotated[
        float, typer.Option(help="Interval between saved depth maps (s).")
    ] = SAVE_EVERY_S,
    max_step: Annotated[
        float,
        typer.Option(
            help="Maximum solver time step (s); longer steps "
            "are faster but lose accuracy on steep terrain."
        ),
    ] = SIMULATE_MAX_STEP_S,
    threshold: Annotated[
        float, typer.Option(help="Wet/dry depth for reporting the wet area (m), 0 < t < 10.")
    ] = WET_THRESHOLD_M,
    pad_zero: Annotated[
        bool,
        typer.Option(
            "--pad-zero/--no-pad-zero",
            help="Assume no rain where the rain series does not cover the run (else an error).",
        ),
    ] = False,
    infiltration: surface_options.Infiltration = "0",
    drainage: Annotated[
        str,
        typer.Option(
            help="Urban drainage (sewer) loss (mm/h), >= 0: a number (e.g. 12) or a raster "
            "file per cell; removed from ponded water (> 1 mm) after infiltration."
        ),
    ] = "0",
    soil: Annotated[
        str | None,
        typer.Option(
            help="Green-Ampt infiltration instead of --infiltration: KS_MMH,PSI_MM,DEFICIT "
            "(e.g. 6.5,166.8,0.34), a CSV class,ks_mmh,psi_mm,deficit for the --landcover "
            "classes, or an .npz with ks_mmh, psi_mm, deficit grids."
        ),
    ] = None,
    inflow: Annotated[
        list[str] | None,
        typer.Option(help="Point inflow ROW,COL,FILE.csv (CSV: time_s, q_m3s); repeatable."),
    ] = None,
    threads: Annotated[
        int,
        typer.Option(
            help="Solver threads. Default 1: on a busy shared machine the parallel kernels "
            "can be 10x slower than one thread; use 2+ on an idle multi-core machine."
        ),
    ] = 1,
    fill_sinks: Annotated[
        bool,
        typer.Option(
            "--fill-sinks/--no-fill-sinks",
            help="Fill closed depressions (spurious SRTM pits) to their spill level first.",
        ),
    ] = False,
    allow_empty_rain: Annotated[
        bool,
        typer.Option(
            "--allow-empty-rain/--no-allow-empty-rain",
            help="Run rain that is NaN everywhere (no coverage) as no rain (else an error).",
        ),
    ] = False,
    elevation_units: Annotated[
        str,
        typer.Option(help="Unit of the DEM's elevations: m, ft or ftUS (US survey feet)."),
    ] = "m",
    nodata: Annotated[
        str,
        typer.Option(
            help="Nodata cells: wall (closed walls, the default) or open (free outflow into "
            "them, as a free edge: a coast or lake masked as nodata drains)."
        ),
    ] = "wall",
    sea_level: Annotated[
        float | None,
        typer.Option(
            help="Sea level (m): valid cells at or below it are sea, held at this level "
            "(water reaching them leaves the domain). Default: no sea.",
            show_default=False,
        ),
    ] = None,
    downscale: Annotated[
        Path | None,
        typer.Option(
            help="Downscaling model.pt (floodcast downscale train): run the solver on the "
            "DEM --coarsen times coarser (the model's coarse rule) and let the model draw the "
            "fine map; or 'volume-fill' (no model: the sub-grid solver, each block's water "
            "poured into its lowest fine cells). Outputs flagged emulated.",
        ),
    ] = None,
    coarsen: Annotated[
        int,
        typer.Option(
            help="Coarsening factor F of --downscale; must divide the DEM grid (refused, "
            "not padded) and match the model's. 0 = the model's factor (required with "
            "volume-fill).",
        ),
    ] = 0,
    downscale_precision: Annotated[
        str,
        typer.Option(
            help="The --downscale model's arithmetic: float32, or bfloat16 (CPU autocast: "
            "about 20 % less model time on a CPU with AVX512-BF16, slower without; maps "
            "differ from float32 in a few cells at the wet cut).",
        ),
    ] = DOWNSCALE_PRECISION,
    quiet: Quiet = False,
) -> None:
    """Simulate surface water depth (m) from a DEM and rain (mm/h) with the local-inertial solver."""
    from floodcast.simulation.job import SimulateRequest, execute, prepare

    req = SimulateRequest(
        dem=dem,
        rain=rain,
        duration_s=duration,
        out=out,
        manning=None if manning is None else number_or_file(manning),
        boundary=boundary,
        save_every_s=save_every,
        max_step_s=max_step,
        threshold_m=threshold,
        pad_zero=pad_zero,
        infiltration_mmh=number_or_file(infiltration),
        drainage_mmh=number_or_file(drainage),
        landcover=landcover,
        manning_table=manning_table,
        soil=soil,
        inflows=tuple(inflow or ()),
        threads=threads,
        fill_sinks=fill_sinks,
        allow_empty_rain=allow_empty_rain,
        elevation_units=elevation_units,
        nodata=nodata,
        sea_level=sea_level,
    )
    with simulation_errors():
        if downscale is None and downscale_precision != DOWNSCALE_PRECISION:
            from floodcast.errors import InputError

            raise InputError("--downscale-precision needs --downscale MODEL.pt")
        job = prepare(req)
        ds = None
        if downscale is not None or coarsen:
            from floodcast.predict.downscale import execute_downscaled, prepare_downscaled

            ds = prepare_downscaled(job, downscale, coarsen or None, downscale_precision)
        for note in job.notes:
            console.print(f"[cyan]note:[/] {escape(note)}", highlight=False)
        with sim_progress(duration, enabled=not quiet) as cb:
            result = execute_downscaled(ds, cb) if ds else execute(job, progress=cb)
    print_summary(result)


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to the floodcast CLI."""
    app.command()(simulate)
