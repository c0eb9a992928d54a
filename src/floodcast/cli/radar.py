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
    paths: Annotated[
        list[str],
        typer.Argument(help="Radar files or a folder of them, optionally as SOURCE:PATH."),
    ],
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            help="Source name (fmi, fmi_geotiff, mch, bom, opera, knmi, mrms, dwd, "
            "netcdf, zarr, geotiff, ...), or give PATH as SOURCE:PATH; guessed from "
            "file names if omitted.",
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
    as_json: Annotated[
        bool, typer.Option("--json/--no-json", help="Print the summary as JSON.")
    ] = False,
) -> None:
    """Summarise a radar sequence: source, frames, interval, grid, coverage, max rate, gaps."""
    import warnings

    from floodcast.io.radar import read_radar
    from floodcast.io.radar_summary import summarize

    with user_errors(ValueError, FileNotFoundError), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the summary reports clipping
        named, files = _split_specs(paths)
        seq = read_radar(
            files if len(files) > 1 else files[0],
            source or named,
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


def _split_specs(specs: list[str]) -> tuple[str | None, list[Path]]:
    """``SOURCE:PATH`` specs -> (the one source named, or None; the paths)."""
    from floodcast.errors import InputError
    from floodcast.io.radar_sources import parse_radar_spec

    parsed = [parse_radar_spec(s) for s in specs]
    names = {src for src, _ in parsed if src}
    if len(names) > 1:
        raise InputError(f"radar paths name different sources: {sorted(names)}")
    return (names.pop() if names else None), [Path(p) for _, p in parsed]


@radar_app.command("convert")
def convert(
    path: Annotated[str, typer.Argument(help="Radar files' folder or file, as [SOURCE:]PATH.")],
    to: Annotated[Path, typer.Option("--to", help="Output CF NetCDF file (e.g. rain.nc).")],
    start: Annotated[str | None, typer.Option(help="First time to keep.")] = None,
    end: Annotated[str | None, typer.Option(help="Last time to keep.")] = None,
    max_rate: Annotated[
        float, typer.Option(help="Rates above this (mm/h) are set to NaN.")
    ] = 300.0,
) -> None:
    """Convert native radar to one CF-1.8 NetCDF rain file (mm/h) that GDAL and simulate read."""
    import warnings

    from floodcast.io.radar import read_radar

    with user_errors(ValueError, FileNotFoundError), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        source, files = _split_specs([path])
        seq = read_radar(files[0], source, start=start, end=end, max_rate_mmh=max_rate)
        out = seq.to_netcdf(to)
    typer.echo(
        f"{out}: {seq.shape[0]} frames {seq.times[0]} .. {seq.times[-1]} of {seq.source} "
        f"on {seq.shape[1]} x {seq.shape[2]} cells of {seq.cell_size:.0f} m (mm/h, CF-1.8)"
    )


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
