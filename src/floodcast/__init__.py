"""floodcast: rainfall radar + terrain -> flood maps, fast enough to act on.

``floodcast.simulate(dem, rain, duration_s=...)`` and ``floodcast.predict_flood(model, dem,
...)`` (not ``predict``: that name is the ``floodcast.predict`` subpackage) return
``xarray.Dataset`` objects (see :mod:`floodcast.api`); they are imported on first use so
that ``import floodcast`` stays light.
"""

__version__ = "0.2.0"
__all__ = ["__version__", "predict_flood", "simulate"]


def __getattr__(name: str):
    # lazy: the API pulls in xarray, rasterio and the solver only when used. By name via
    # importlib, so that modules importing ``floodcast.__version__`` (models, simulation)
    # do not appear, to the layer contracts, to import the API on top of everything
    if name in ("simulate", "predict_flood"):
        import importlib

        return getattr(importlib.import_module("floodcast.api"), name)
    raise AttributeError(f"module 'floodcast' has no attribute {name!r}")
