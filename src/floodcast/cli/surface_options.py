"""The land-surface options every solver-running command shares (one home for their help).

``simulate``, ``serve``, ``dataset build`` and ``nowcast`` take the same ``--manning``,
``--landcover``, ``--manning-table`` and ``--infiltration``; each resolves them through
``floodcast.simulation.landcover.land_surface`` (same checks, same error messages).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from floodcast.defaults import MANNING_N

Manning = Annotated[
    str | None,
    typer.Option(
        help=f"Manning roughness n (s/m^(1/3)), > 0: a number (default {MANNING_N}) or a "
        "raster file of n per cell (GeoTIFF/.asc/.npz on the DEM grid, or georeferenced: "
        "resampled nearest). Face n = mean of the two cells' n, as LISFLOOD-FP.",
        show_default=False,
    ),
]
Landcover = Annotated[
    Path | None,
    typer.Option(
        help="Land-cover class raster (instead of --manning): classes -> n through "
        "--manning-table (default: ESA WorldCover classes, Chow 1959 values)."
    ),
]
ManningTable = Annotated[
    Path | None,
    typer.Option(help="CSV class,n[,name] mapping --landcover classes to Manning n."),
]
Infiltration = Annotated[
    str,
    typer.Option(
        help="Infiltration loss (mm/h), >= 0: a number or a raster file per cell; "
        "removed only where the depth exceeds 1 mm, as LISFLOOD-FP."
    ),
]


def number_or_file(text: str) -> float | str:
    """A number given on the command line, else the text as a file path."""
    try:
        return float(text)
    except ValueError:
        return text
