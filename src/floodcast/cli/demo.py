"""``floodcast demo``: the whole pipeline on embedded data (``floodcast.demo``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from floodcast.cli.simulate import simulation_errors
from floodcast.cli.verbosity import Verbose, library_chatter
from floodcast.progress import console


def demo(
    out: Annotated[
        Path, typer.Option(help="Output folder; the simulation goes to OUT/simulate/.")
    ] = Path("floodcast-demo"),
    verbose: Verbose = False,
) -> None:
    """Run the offline demo: matplotlib's Jacksboro DEM (~83 m cells) + a synthetic 2-h storm."""
    from floodcast.demo.run import run_demo

    with simulation_errors(), library_chatter(verbose):
        run_demo(out, console=console)


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to the floodcast CLI."""
    app.command()(demo)
