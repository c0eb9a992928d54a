"""CLI conventions hold for every command: boolean flags come as --x/--no-x, renamed
options and commands keep their old names as aliases."""

from __future__ import annotations

import click
import typer
from typer.testing import CliRunner

from floodcast.cli import app


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


def test_every_boolean_flag_has_a_no_form():
    root = typer.main.get_command(app)
    missing = []
    for path, cmd in _commands(root):
        for p in cmd.params:
            if (
                isinstance(p, click.Option)
                and p.is_flag
                and p.name != "help"
                and not p.secondary_opts
            ):
                missing.append(f"floodcast {' '.join(path)} {p.opts[0]}")
    assert not missing, "flags without a --no- form: " + ", ".join(missing)


def test_groups_and_aliases():
    runner = CliRunner()
    for args in (["dataset", "build", "--help"], ["build-dataset", "--help"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 0 and "--test-dem" in r.output, args
    r = runner.invoke(app, ["serve", "--help"])
    assert "--steps" in r.output and "--leads" in r.output
    r = runner.invoke(app, ["pretrain", "--help"])
    assert "--width" in r.output and "--decoder-channels" in r.output
