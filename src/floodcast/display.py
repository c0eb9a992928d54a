"""How numbers are printed for people: 3 significant digits (files keep full precision).

``wet fraction {'train': 0.009634496466431096}`` becomes ``{'train': 0.00963}``. Only what a
command prints is rounded; JSON files it writes (``train_result.json``, ``scores.json``...)
and ``--json`` machine output keep every digit.
"""

from __future__ import annotations

import json
import math
import numbers
from typing import Any

#: significant digits of every number a command prints
DIGITS = 3


def rounded(value: Any, digits: int = DIGITS) -> Any:
    """``value`` with its floats (also inside dicts, lists, tuples) to ``digits`` significant
    digits. The integer part is never cut (1234.5 -> 1234.0, not 1230.0); ints, bools,
    strings, NaN and infinities are left as they are."""
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v, digits) for v in value]
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        x = float(value)
        if x == 0.0 or not math.isfinite(x):
            return x
        magnitude = math.floor(math.log10(abs(x)))
        return round(x, max(0, digits - 1 - magnitude))
    return value


def dumps(value: Any, digits: int = DIGITS) -> str:
    """Indented JSON of ``value`` for the terminal, numbers :func:`rounded`."""
    return json.dumps(rounded(value, digits), indent=2, default=str)
