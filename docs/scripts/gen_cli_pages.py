"""Generate one reference page per CLI command from the CLI's own help (mkdocs-gen-files).

Walks the Typer app ``floodcast.cli:app`` as a click command tree (``typer.main.get_command``),
sub-groups included, and writes each command's ``--help`` text as rendered by click with a
fixed terminal width, plus a literate-nav ``SUMMARY.md``. The pages are rebuilt on every
``mkdocs build``, so they cannot drift from the code.
"""

from __future__ import annotations

import os
from pathlib import Path

import mkdocs_gen_files
import typer.main

try:  # recent typer vendors its own copy of click
    from typer._click import core as click_core
except ImportError:  # older typer: the click package
    from click import core as click_core

# Plain help text: no rich boxes or colours, and the same wrapping on every machine.
os.environ.setdefault("TERM", "dumb")
os.environ["NO_COLOR"] = "1"
os.environ["COLUMNS"] = "100"

from floodcast.cli import app

Command = click_core.Command


def _is_group(command: Command) -> bool:
    return hasattr(command, "commands")


OUT = Path("reference/commands")


def _context(command: Command, name: str, parent: click_core.Context | None) -> click_core.Context:
    return command.context_class(
        command, info_name=name, parent=parent, terminal_width=100, max_content_width=100
    )


def _help(command: Command, path: list[str], parent: click_core.Context | None) -> str:
    """The ``--help`` text of ``command`` as click prints it (click's plain renderer, not rich)."""
    ctx = _context(command, path[-1], parent)
    formatter = ctx.make_formatter()
    Command.format_help(command, ctx, formatter)
    return formatter.getvalue().rstrip()


def _summary(command: Command) -> str:
    text = (command.short_help or command.help or "").strip().splitlines()
    return text[0].rstrip(".") if text else ""


def _walk(
    command: Command, path: list[str], parent: click_core.Context | None, nav: mkdocs_gen_files.Nav
) -> None:
    ctx = _context(command, path[-1], parent)
    name = " ".join(path)
    is_group = _is_group(command)
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
                link = f"{sub_name}/index.md" if _is_group(sub) else f"{sub_name}.md"
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
