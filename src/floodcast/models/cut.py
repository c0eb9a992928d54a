"""A model's calibrated wet-probability cut: it travels in ``model.pt`` (``extra["cut"]``)
and is the default of every command that maps (fitted by ``floodcast evaluate --calibrate``).
"""

from __future__ import annotations

from floodcast.defaults import PROB_CUT


def model_cut(extra: dict) -> float:
    """The cut a model file carries (``extra["cut"]``), else 0.5."""
    return float(extra.get("cut", PROB_CUT))
