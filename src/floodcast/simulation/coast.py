"""Coasts and lakes in a simulate run: ``--nodata wall|open`` and ``--sea-level M``.

``check_coast`` validates the two options (before anything is read or computed) and
``coast_notes`` says in the run notes what was chosen and how many cells it concerns.
The solver side is ``floodcast.physics.outlets``; the sink fill takes the same outlets
(``floodcast.io.dem_tools.fill_sinks(..., nodata=, sea_level=)``).
"""

from __future__ import annotations

import math

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem

NODATA_MODES = ("wall", "open")
NODATA_DEFAULT = "wall"  # nodata cells are closed walls unless asked otherwise
SEA_LEVEL_DEFAULT = None  # no sea


def check_coast(nodata: str, sea_level: float | str | None) -> tuple[str, float | None]:
    """The validated ``(nodata, sea_level)``.

    Raises:
        InputError: ``--nodata`` other than wall/open, or a ``--sea-level`` that is not a
            finite number.
    """
    mode = str(nodata).strip().lower()
    if mode not in NODATA_MODES:
        raise InputError(f"--nodata must be one of {', '.join(NODATA_MODES)}, got {nodata!r}")
    if sea_level is None:
        return mode, None
    try:
        level = float(sea_level)
    except (TypeError, ValueError):
        raise InputError(f"--sea-level must be a number (m), got {sea_level!r}") from None
    if not math.isfinite(level):
        raise InputError(f"--sea-level must be a finite elevation (m), got {sea_level!r}")
    return mode, level


def coast_notes(dem: Dem, nodata: str, sea_level: float | None) -> list[str]:
    """Run notes: how nodata cells are treated and how many cells are sea.

    Raises:
        InputError: every valid cell is at or below the sea level (nothing to simulate).
    """
    z = np.asarray(dem.elevation, np.float64)
    valid = np.isfinite(z)
    n_nan = int((~valid).sum())
    if nodata == "open":
        notes = [
            (
                f"--nodata open: the {n_nan} nodata cells are open outlets (free outflow "
                "into them, LISFLOOD-FP's FREE edge rule), not walls"
            )
        ]
    else:
        notes = (
            [
                (
                    f"--nodata wall: the {n_nan} nodata cells ({100 * n_nan / z.size:.2f} %) "
                    "are closed walls"
                )
            ]
            if n_nan
            else []
        )
    if sea_level is not None:
        sea = valid & (np.where(valid, z, np.inf) <= sea_level)
        if int(sea.sum()) == int(valid.sum()):
            raise InputError(
                f"{dem.source}: every valid cell is at or below --sea-level "
                f"{sea_level:g} m; no land to simulate"
            )
        notes.append(
            f"--sea-level {sea_level:g} m: {int(sea.sum())} cells at or below it "
            f"are sea, held at {sea_level:g} m (water reaching them leaves the "
            "domain: boundary_out_m3, outlet_out_m3)"
        )
    return notes


def without_wall_note(notes: list[str]) -> list[str]:
    """The DEM reader's notes without its "nodata cells ... are closed walls" line: the
    coast note says what the nodata cells are (walls or open)."""
    return [n for n in notes if "are closed walls" not in n]
