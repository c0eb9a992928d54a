"""Inputs named on the command line: DEMs by path (or 'sample') and radar by [SOURCE:]PATH.

Shared by build-dataset, predict, nowcast and serve.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def load_dems(specs: list[str], cell_size: float | None, fill: bool) -> dict:
    """DEMs by path (or ``sample`` for matplotlib's Jacksboro DEM), optionally coarsened/filled."""
    from floodcast.io.dem import read_dem, sample_dem

    out = {}
    for spec in specs:
        dem = sample_dem() if spec in ("sample", "jacksboro") else read_dem(spec)
        if cell_size and dem.cell_size < cell_size * 0.99:
            from floodcast.io.dem_tools import block_mean

            dem = block_mean(dem, cell_size)
        if fill:
            from floodcast.io.dem_tools import fill_sinks

            dem = fill_sinks(dem)
        name = "jacksboro" if spec in ("sample", "jacksboro") else Path(spec).stem
        did = name
        i = 1
        while did in out:
            i += 1
            did = f"{name}{i}"
        out[did] = dem
    return out


def load_radars(specs: list[str], echo: Callable[[str], None] = print, strict: bool = True) -> dict:
    """Radar sequences from ``[SOURCE:]PATH`` specs, split at time gaps (reported); with
    ``strict`` False an unreadable frame is skipped as a gap (reported) instead of fatal."""
    from floodcast.io.radar import read_radar
    from floodcast.io.radar_sources import parse_radar_spec

    out = {}
    for spec in specs:
        source, path = parse_radar_spec(spec)
        seq = read_radar(path, source, strict=strict)
        for name, why in seq.attrs.get("skipped", []):
            if why != "all NaN":
                echo(f"{name}: skipped, {why}")
        pieces = seq.split_at_gaps()
        if len(pieces) > 1:
            echo(f"{path}: {len(seq.gaps())} time gap(s); split into {len(pieces)} sequences")
        if seq.n_clipped:
            echo(f"{path}: {seq.n_clipped} values above the clip limit set to no-data")
        for j, piece in enumerate(pieces):
            rid = f"{seq.source}{'' if len(pieces) == 1 else f'-{j}'}"
            while rid in out:
                rid += "+"
            out[rid] = piece
    return out
