"""Append the package's layers to architecture.md, read from the import-linter contracts.

The contracts in ``pyproject.toml`` ([tool.importlinter]) are what ``make lint`` enforces, so
the picture drawn from them at build time is the layering the code actually has.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"


def _summary(module: str) -> str:
    """First docstring line of a module or package (empty when it has none)."""
    base = SRC / Path(*module.split("."))
    path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
    if not path.is_file():
        return ""
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return doc.strip().splitlines()[0].replace("|", "/") if doc.strip() else ""


def _node(module: str) -> str:
    return module.replace(".", "_")


contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"][
    "contracts"
]
layers = next((c for c in contracts if c.get("type") == "layers"), None)
lines = ["\n## Layers, as enforced\n\n"]
if layers is None:
    lines.append("No layers contract is defined in `pyproject.toml`.\n")
else:
    groups = [[m.strip() for m in layer.split("|")] for layer in layers["layers"]]
    lines.append(
        "Drawn at build time from the import-linter contracts in `pyproject.toml`, which\n"
        "`make lint` checks: a module may import from the layers below its own, never from a\n"
        "layer above. Modules in one box are independent of each other.\n\n"
        "```mermaid\nflowchart TD\n"
    )
    for i, group in enumerate(groups):
        lines.append(f'    subgraph L{i}[" "]\n        direction LR\n')
        lines.extend(f'        {_node(m)}["{m}"]\n' for m in group)
        lines.append("    end\n")
    lines.extend(f"    L{i} --> L{i + 1}\n" for i in range(len(groups) - 1))
    lines.append("```\n\n| layer (top to bottom) | module | what it holds |\n|---|---|---|\n")
    for i, group in enumerate(groups, 1):
        lines.extend(f"| {i} | `{m}` | {_summary(m)} |\n" for m in group)
for c in contracts:
    if c.get("type") == "forbidden":
        src = ", ".join(f"`{m}`" for m in c["source_modules"])
        bad = ", ".join(f"`{m}`" for m in c["forbidden_modules"])
        lines.append(f"\n**{c['name']}**: {src} may not import {bad}.\n")

with mkdocs_gen_files.open("architecture.md", "a") as fd:
    fd.writelines(lines)
