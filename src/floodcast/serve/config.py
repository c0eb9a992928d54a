"""What ``floodcast serve`` serves: its one configuration object (the CLI builds it).

Kept apart from the app factory so the watcher, the live ensemble and the tests can take
it without importing FastAPI; ``floodcast.serve.app.ServeConfig`` stays the public path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from floodcast.defaults import NOWCAST_LEAD_MIN, NOWCAST_MEMBERS, NOWCAST_THRESHOLDS_M
from floodcast.io.dem import Dem


@dataclass
class ServeConfig:
    """What ``floodcast serve`` serves; see ``floodcast serve --help``."""

    model: Path
    dem: Dem
    watch_dir: Path | None = None
    state_dir: Path | None = None
    max_upload_mb: float = 20.0
    n_leads: int = 6
    physics: bool = True
    poll_s: float = 1.0
    cut: float | None = None  # wet-probability cut of the live maps (None: the model's)
    reference_check: bool = False  # time a 512 x 512 live solver at startup (watch mode)
    workers: int = 2  # model calls at once (each on one torch thread)
    tile: int | None = None  # model tile (cells); None = the training patch, at least 256
    overlap: int | None = None  # tile overlap (cells); None = a quarter tile
    cache: int = 32  # responses kept for repeated identical requests (0 = off)
    read_timeout_s: float = 30.0  # a request body must arrive within this (else 408)
    posts: Path | None = None  # social-media layer (places.geojson of `social map`)
    # live physics' land surface: SolverConfig fields (LandSurface.solver_fields()); None =
    # the default uniform n, no losses
    surface: dict | None = None
    watch_source: str | None = None  # radar source of native watch files (None: guessed)
    ensemble: int = NOWCAST_MEMBERS  # live ensemble members per cycle (0 = no ensemble)
    lead_min: float = NOWCAST_LEAD_MIN  # lead of the live ensemble (minutes)
    thresholds: tuple[float, ...] = NOWCAST_THRESHOLDS_M  # depths (m) of its probabilities
    alerts: tuple[str, ...] = ()  # AREA.geojson:DEPTH:PROB:LEAD rules on the live ensemble
    notify: tuple[str, ...] = ()  # apprise URLs the alerts go to
    map_url: str = ""  # named in alert messages
