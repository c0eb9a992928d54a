"""Generate one API reference page per module of the floodcast package (mkdocs-gen-files).

The mkdocstrings "automatic code reference pages" recipe: walk ``src/floodcast``, write a
page holding ``::: floodcast.x.y`` for every module and a literate-nav ``SUMMARY.md`` for
the section, so the reference follows the package's files without edits.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
OUT = Path("reference/api")

# Modules that only re-register commands or ship data are still listed: every module has a page.
nav = mkdocs_gen_files.Nav()

for path in sorted((SRC / "floodcast").rglob("*.py")):
    module_path = path.relative_to(SRC).with_suffix("")
    parts = tuple(module_path.parts)
    if parts[-1] == "__main__":
        continue
    doc_path = Path(*parts).with_suffix(".md")
    if parts[-1] == "__init__":
        parts = parts[:-1]
        doc_path = Path(*parts, "index.md")
    if any(p.startswith("_") for p in parts):  # private modules (none today)
        continue
    full_doc_path = OUT / doc_path
    nav[parts] = doc_path.as_posix()
    with mkdocs_gen_files.open(full_doc_path, "w") as fd:
        fd.write(f"# `{'.'.join(parts)}`\n\n::: {'.'.join(parts)}\n")
    mkdocs_gen_files.set_edit_path(full_doc_path, path.relative_to(ROOT))


def _first_line(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


# an overview page: every subpackage and top-level module with its one-line docstring
rows = []
for path in sorted((SRC / "floodcast").iterdir()):
    init = path / "__init__.py" if path.is_dir() else path
    if path.name.startswith(("_", ".")) or not init.is_file() or init.suffix != ".py":
        continue
    name = path.stem if path.is_file() else path.name
    link = f"floodcast/{name}/index.md" if path.is_dir() else f"floodcast/{name}.md"
    rows.append(f"| [`floodcast.{name}`]({link}) | {_first_line(init)} |\n")
with mkdocs_gen_files.open(OUT / "index.md", "w") as fd:
    fd.write(
        "# API reference\n\nGenerated from the docstrings of the package, one page per "
        "module, each time the site is built.\n\n| module | what it holds |\n|---|---|\n"
    )
    fd.writelines(rows)

with mkdocs_gen_files.open(OUT / "SUMMARY.md", "w") as nav_file:
    nav_file.write("* [Overview](index.md)\n")
    nav_file.writelines(nav.build_literate_nav())
