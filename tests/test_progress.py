"""Progress bars (floodcast/progress.py): drawn on a terminal only, never when piped or --quiet."""

from __future__ import annotations

import io

from rich.console import Console

from floodcast.progress import count_progress, sim_progress, tile_progress


def _drawn(terminal: bool, enabled: bool = True, what=count_progress) -> str:
    buf = io.StringIO()
    out = Console(file=buf, force_terminal=terminal, width=100)
    args = ("nowcast", "leads") if what is count_progress else ("predicting",)
    with what(*args, enabled=enabled, out=out) as bar:
        for k in range(1, 4):
            bar(k, 3)
    return buf.getvalue()


def test_bar_on_a_terminal_counts_to_the_total():
    assert "3 / 3 leads" in _drawn(terminal=True)
    assert "3 / 3 tiles" in _drawn(terminal=True, what=tile_progress)


def test_no_bar_when_piped_or_quiet():
    assert _drawn(terminal=False) == ""  # not even rich's one final line
    assert _drawn(terminal=True, enabled=False) == ""


def _sim_drawn(terminal: bool, enabled: bool = True) -> str:
    from types import SimpleNamespace

    buf = io.StringIO()
    out = Console(file=buf, force_terminal=terminal, width=100)
    with sim_progress(600.0, out=out, enabled=enabled) as update:
        update(SimpleNamespace(t=600.0, steps=42))
    return buf.getvalue()


def test_simulation_bar_on_a_terminal_only():
    assert "600 / 600 s" in _sim_drawn(terminal=True) and "42 steps" in _sim_drawn(True)
    assert _sim_drawn(terminal=False) == ""  # simulate | tee: no bar on stderr
    assert _sim_drawn(terminal=True, enabled=False) == ""  # simulate --quiet
