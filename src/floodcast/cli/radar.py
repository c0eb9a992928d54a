"""``floodcast radar …``: summarise radar sequences (and draw a PNG strip of frames)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from floodcast.errors import user_errors

radar_app = typer.Typer(
    help="Radar rain sequences (pysteps importers, NetCDF/zarr/GeoTIFF).", no_args_is_help=True
)


@radar_app.command("info")
def info(
    paths: Annotated[list[Path], typer.Argument(help="Radar files or a folder of them.")],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            help="Source name (fmi, fmi_geotiff, mch, bom, opera, "
            "netcdf, zarr, geotiff, ...); guessed from file names if omitted.",
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="First time to keep, e.g. 2016-09-28T15:00.")
    ] = None,
    end: Annotated[str | None, typer.Option(help="Last time to keep.")] = None,
    max_rate: Annotated[
        float, typer.Option(help="Rates above this (mm/h) are set to NaN.")
    ] = 300.0,
    png: Annotated[
        Path | None, typer.Option("--png", help="Write a PNG strip of frames here.")
    ] = None,
    frames: Annotated[int, typer.Option(help="Frames in the PNG strip.")] = 6,
    as_json: Annotated[bool, typer.Option("--json/--no-json", help="Print the summary as JSON.")] = False,
) -> None:
    """Summarise a radar sequence: source, frames, interval, grid, coverage, max rate, gaps."""
    import warnings

    from floodcast.io.radar import read_radar
    from floodcast.io.radar_summary import summarize

    with user_errors(ValueError, FileNotFoundError), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the summary reports clipping
        seq = read_radar(
            paths if len(paths) > 1 else paths[0],
            source,
            start=start,
            end=end,
            max_rate_mmh=max_rate,
        )
    s = summarize(seq)
    if as_json:
        typer.echo(json.dumps(s, indent=2, default=str))
    else:
        typer.echo(_format(s))
    if png is not None:
        from floodcast.io.radar_plot import plot_strip

        typer.echo(f"png: {plot_strip(seq, png, frames)}")


def _format(s: dict) -> str:
    crs = s["crs"] or "-"
    flip = ", flipped south-up rows" if s["flipped"] else ""
    lines = [
        f"source:     {s['source']} (input unit: {s['units_in']}{flip})",
        f"frames:     {s['frames']}  {s['start']} .. {s['end']}",
        f"interval:   {s['interval_s'] / 60:g} min",
        f"grid:       {s['grid']}, cell {s['cell_size_m']:.6g} m",
        f"extent:     {s['extent']} (left, bottom, right, top)",
        f"crs:        {crs if len(crs) < 100 else crs[:97] + '...'}",
        f"coverage:   {100 * s['coverage']:.1f} % of cells x frames (NaN = no coverage)",
        f"max rate:   {s['max_rate_mmh']:.2f} mm/h (mean {s['mean_rate_mmh']:.3f} mm/h)",
        f"clipped:    {s['n_clipped']} values above the limit set to NaN",
        f"gaps:       {len(s['gaps'])}" + "".join(f"\n  {a} -> {b}" for a, b in s["gaps"]),
    ]
    if s["skipped"]:
        lines.append(f"skipped:    {len(s['skipped'])}")
        lines += [f"  {f}: {why}" for f, why in s["skipped"]]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add the ``radar`` sub-app to the main CLI."""
    app.add_typer(radar_app, name="radar")
