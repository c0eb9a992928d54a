"""The land-surface options every solver-running command shares (one home for their help).

``simulate``, ``serve``, ``dataset build`` and ``nowcast`` take the same ``--manning``,
``--landcover``, ``--manning-table`` and ``--infiltration``; each resolves them through
``floodcast.simulation.landcover.land_surface`` (same checks, same error messages).
``predict`` takes the Manning ones only (it runs no solver: they feed a model's ``manning``
input channel, as ``serve`` does).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from floodcast.defaults import MANNING_N

if TYPE_CHECKING:
    from floodcast.io.dem import Dem
    from floodcast.simulation.landcover import LandSurface

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


def resolve_surface(
    dem: Dem,
    manning: str | None,
    landcover: Path | None,
    manning_table: Path | None,
    infiltration: str = "0",
) -> LandSurface:
    """The land surface these options give on ``dem`` (``serve`` and ``predict``: the
    Manning n they set on the model's ``manning`` channel comes from here).

    Raises:
        InputError: naming the option/file and the first offending cell or class.
    """
    from floodcast.simulation.landcover import land_surface

    return land_surface(
        dem,
        manning=None if manning is None else number_or_file(manning),
        infiltration=number_or_file(infiltration),
        landcover=landcover,
        manning_table=manning_table,
    )
