"""The shell command that serves a model (printed by ``make demo`` as its closing hint)."""

from __future__ import annotations

from pathlib import Path


def serve_command(model: str | Path, dem: str = "sample", watch: str | Path | None = None) -> str:
    """The shell command that serves ``model`` (for ``make demo``'s closing hint)."""
    cmd = f"floodcast serve --model {model} --dem {dem} --host 127.0.0.1 --port 8000"
    return cmd + (f" --watch {watch}" if watch else "")
