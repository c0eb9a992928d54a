"""Every ``floodcast.x.y`` name the docs write (modules, functions, classes) exists.

The lead moves modules; the API reference follows by itself, but prose and examples name
modules by hand, and this catches the ones left behind.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bfloodcast(?:\.[A-Za-z_][A-Za-z0-9_]*)+")


def _names() -> dict[str, str]:
    found: dict[str, str] = {}
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        for name in NAME.findall(md.read_text(encoding="utf-8")):
            found.setdefault(name.rstrip("."), str(md.relative_to(ROOT)))
    return found


def _resolves(name: str) -> bool:
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


@pytest.mark.parametrize(("name", "page"), sorted(_names().items()))
def test_name_exists(name: str, page: str):
    assert _resolves(name), f"{page} names {name}, which does not exist"
