"""The state a demo run shares between its steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DemoContext:
    """Shared state of a demo run: output root, console and each step's results."""

    out: Path
    console: Any = None
    results: dict[str, Any] = field(default_factory=dict)

    def say(self, msg: str) -> None:
        if self.console is not None:
            self.console.print(msg, highlight=False)
