"""Generate one reference page per CLI command from the CLI's own help (mkdocs-gen-files).

Walks the Typer app ``floodcast.cli:app`` as a click command tree (``typer.main.get_command``),
sub-groups included, and writes each command's ``--help`` text as rendered by click with a
fixed terminal width, plus a literate-nav ``SUMMARY.md``. The pages are rebuilt on every
``mkdocs build``, so they cannot drift from the code.
"""

from __future__ import annotations

import os
from pathlib import Path

import click
import mkdocs_gen_files
import typer.main

# Plain help text: no rich boxes or colours, and the same wrapping on every machine.
os.environ.setdefault("TERM", "dumb")
os.environ["NO_COLOR"] = "1"
os.environ["COLUMNS"] = "100"

from floodcast.cli import app  # noqa: E402  (after the environment is set)

OUT = Path("reference/commands")


def _help(command: click.Command, path: list[str], parent: click.Context | None) -> str:
    """The ``--help`` text of ``command`` as click prints it (no rich formatting)."""
    ctx = click.Context(command, info_name=path[-1], parent=parent, terminal_width=100,
                        max_content_width=100)
    formatter = ctx.make_formatter()
    click.Command.format_help(command, ctx, formatter)  # click's plain renderer
    return formatter.getvalue().rstrip()


def _summary(command: click.Command) -> str:
    text = (command.short_help or command.help or "").strip().splitlines()
    return text[0].rstrip(".") if text else ""


def _walk(command: click.Command, path: list[str], parent: click.Context | None,
          nav: mkdocs_gen_files.Nav) -> None:
    ctx = click.Context(command, info_name=path[-1], parent=parent)
    name = " ".join(path)
    is_group = isinstance(command, click.Group)
    doc = Path(*path[1:], "index.md") if is_group else Path(*path[1:]).with_suffix(".md")
    if len(path) == 1:
        doc = Path("index.md")
    nav[tuple(path[1:]) or ("floodcast",)] = doc.as_posix()
    with mkdocs_gen_files.open(OUT / doc, "w") as fd:
        fd.write(f"# `{name}`\n\n")
        if command.help:
            fd.write(_summary(command) + ".\n\n")
        fd.write("Generated from the command's own `--help` at build time.\n\n")
        fd.write("```text\n" + _help(command, path, parent) + "\n```\n")
        if is_group:
            fd.write("\n## Commands\n\n| command | what it does |\n|---|---|\n")
            for sub_name in sorted(command.commands):
                sub = command.commands[sub_name]
                if sub.hidden:
                    continue
                link = f"{sub_name}/index.md" if isinstance(sub, click.Group) else f"{sub_name}.md"
                if len(path) > 1:
                    link = f"{path[-1]}/{link}" if False else link
                fd.write(f"| [`{name} {sub_name}`]({link}) | {_summary(sub)} |\n")
    if is_group:
        for sub_name in sorted(command.commands):
            sub = command.commands[sub_name]
            if not sub.hidden:
                _walk(sub, [*path, sub_name], ctx, nav)


nav = mkdocs_gen_files.Nav()
_walk(typer.main.get_command(app), ["floodcast"], None, nav)
with mkdocs_gen_files.open(OUT / "SUMMARY.md", "w") as nav_file:
    nav_file.writelines(nav.build_literate_nav())
