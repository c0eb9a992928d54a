"""HTTP serving: prediction API, web map, watch mode with live physics, metrics.

``create_app(ServeConfig(...))`` builds the FastAPI app; ``floodcast serve`` runs it
with uvicorn. See the README.
"""

from floodcast.serve.app import ServeConfig, create_app

__all__ = ["ServeConfig", "create_app"]
