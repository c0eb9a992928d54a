"""floodcast command line: one thin sub-command per stage (parse, call, print).

Each concern registers its commands from its own ``cli_*`` module so the
entry point stays small and the heavy imports (torch, pysteps …) happen only
when that command runs.
"""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="floodcast",
    help="Rainfall radar + terrain -> flood maps. Units: rain mm/h, depth and elevation m, time s.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Modules that define ``register(app)``; missing optional parts are skipped so the
# core CLI works without the heavy extras installed.
_COMMAND_MODULES = (
    "floodcast.cli.simulate",
    "floodcast.cli.demo",
    "floodcast.cli.radar",
    "floodcast.cli.dataset",
    "floodcast.cli.downscale",
    "floodcast.cli.train",
    "floodcast.cli.evaluate",
    "floodcast.cli.predict",
    "floodcast.cli.nowcast",
    "floodcast.cli.social",
    "floodcast.cli.diagnostics",
    "floodcast.cli.serve",
)

for _name in _COMMAND_MODULES:
    try:
        _mod = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # only tolerate the module itself being absent
        if exc.name != _name:
            raise
        continue
    _mod.register(app)


@app.command()
def version() -> None:
    """Print the floodcast version."""
    from floodcast import __version__

    typer.echo(__version__)


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
