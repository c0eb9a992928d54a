"""CLI: `floodcast predict` -> GeoTIFF, PNG overlay and GeoJSON of flooded areas."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import typer

from floodcast.cli.verbosity import Quiet, Verbose, library_chatter
from floodcast.errors import InputError, user_errors

from . import surface_options


def register(app: typer.Typer) -> None:
    @app.command("predict")
    def predict_cmd(
        model: Path = typer.Option(
            ..., help="Trained model (OUT/model.pt from `floodcast train`)."
        ),
        dem: str = typer.Option(..., help="DEM (GeoTIFF/.asc/.npz, metres) or 'sample'."),
        out: Path = typer.Option(..., help="Output folder."),
        rain: str = typer.Option(
            "",
            help="Rain frames on/regriddable to the DEM (NetCDF/zarr/npz, mm/h), "
            "oldest first, since the event began.",
        ),
        radar: str = typer.Option(
            "",
            help="[SOURCE:]PATH of radar frames in their own projection "
            "(reprojected onto a georeferenced DEM).",
        ),
        prev_depth: str = typer.Option(
            "",
            help="GeoTIFF/npz of the current depth (m) for autoregressive models (default: dry).",
        ),
        cut: float | None = typer.Option(
            None,
            help="Wet-probability cut (0-1); default the model's, fitted on validation at training (else 0.5).",
        ),
        overlap: int = typer.Option(-1, help="Tile overlap in cells (-1 = a quarter patch)."),
        quiet: Quiet = False,
        # the n of a model's ``manning`` input channel, as `serve` (uniform default otherwise)
        manning: surface_options.Manning = None,
        landcover: surface_options.Landcover = None,
        manning_table: surface_options.ManningTable = None,
        verbose: Verbose = False,
    ) -> None:
        """Map flooding from the latest radar frames + a DEM with a trained model."""
        from floodcast.io.named_inputs import load_dems
        from floodcast.predict.inputs import radar_on_dem, rain_from_file, read_depth_map
        from floodcast.predict.mapper import FloodMapper
        from floodcast.predict.outputs import write_outputs

        with user_errors(InputError, FileNotFoundError), library_chatter(verbose):
            if bool(rain) == bool(radar):
                raise InputError("give exactly one of --rain FILE or --radar [SOURCE:]PATH")
            ((_dem_id, d),) = load_dems([dem], None, False).items()
            # checked before the model loads: a bad raster fails fast, naming the file
            surface = surface_options.resolve_surface(d, manning, landcover, manning_table)
            mapper = FloodMapper.load(model, overlap=None if overlap < 0 else overlap)
            given = manning is not None or landcover is not None
            note = mapper.take_manning(surface.manning, given, model)  # as serve sets it
            if note:
                typer.echo(note, err=True)
            if rain:
                frames, interval = rain_from_file(rain, d)
            else:
                from floodcast.io.named_inputs import load_radars

                seqs = load_radars([radar])
                seq = list(seqs.values())[-1]  # the latest gap-free piece
                frames, interval = radar_on_dem(seq, d), seq.interval_s
                frames = np.nan_to_num(frames, nan=0.0)
            prev = read_depth_map(prev_depth, d) if prev_depth else None
            from floodcast.progress import tile_progress

            with tile_progress("predicting", not quiet) as bar:  # on stderr: stdout stays JSON
                fmap = mapper.predict(
                    frames,
                    d.elevation,
                    d.cell_size,
                    interval,
                    prev_depth=prev,
                    cut=cut,
                    progress=bar,
                )
            meta = {
                "model": str(model),
                "dem": d.source,
                "frames": int(frames.shape[0]),
                "interval_s": interval,
                "cut": fmap.cut,
                "threshold_m": mapper.threshold,
                "manning": _manning_source(manning, landcover, mapper.extras),
                "title": f"floodcast: wet (> {mapper.threshold} m) probability",
            }
            files = write_outputs(out, fmap, d, meta)
        typer.echo(
            json.dumps(
                {
                    "out": str(out),
                    "files": [f.name for f in files],
                    "wet_cells": int(fmap.wet.sum()),
                },
                indent=2,
            )
        )


def _manning_source(manning: str | None, landcover: Path | None, extras: list[str]) -> str:
    """What the model's ``manning`` channel was set from, for the outputs' metadata."""
    from floodcast.defaults import MANNING_N

    if "manning" not in extras:
        return "not a model input"
    if landcover is not None:
        return f"landcover {landcover}"
    return str(manning if manning is not None else f"{MANNING_N} (default)")
