"""floodcast: rainfall radar + terrain -> flood maps, fast enough to act on."""

__version__ = "0.2.0"
