"""The house's shape: no import loops between modules, layers kept (import-linter's
contracts in pyproject.toml), every module short or carrying a reason."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "floodcast"
MAX_LINES = 330  # "about 300"
#: A module longer than MAX_LINES states why in a comment starting with this marker.
REASON = "# size:"


def _cycles(graph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph.find_modules_directly_imported_by(nxt)))))
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        m = stack.pop()
                        on.discard(m)
                        comp.append(m)
                        if m == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_loops():
    graph = grimp.build_graph("floodcast", include_external_packages=False)
    # a package's __init__ importing its own submodules is not a loop between concerns
    for m in list(graph.modules):
        for sub in graph.find_modules_directly_imported_by(m):
            if sub.startswith(m + "."):
                graph.remove_import(importer=m, imported=sub)
    loops = _cycles(graph)
    assert not loops, "import loops: " + "; ".join(" <-> ".join(c) for c in loops)


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_module_is_short_or_says_why(path: Path):
    text = path.read_text()
    n = text.count("\n")
    if n > MAX_LINES and REASON not in text:
        pytest.fail(
            f"{path.relative_to(SRC)} has {n} lines (> {MAX_LINES}): split it, or say "
            f"why in a '{REASON} ...' comment"
        )
