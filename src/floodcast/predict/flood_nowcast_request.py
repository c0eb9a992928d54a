"""The options of ``floodcast nowcast`` as one request, and their option-level checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from floodcast import defaults
from floodcast.defaults import DOWNSCALE_PRECISION, NOWCAST_SCHEDULER
from floodcast.errors import InputError
from floodcast.predict.flood_nowcast import NOWCAST_LEAD_MIN, NOWCAST_MEMBERS, NOWCAST_THRESHOLDS_M
from floodcast.predict.nowcast import check_ensemble_method
from floodcast.predict.radar_nowcast import MARGIN_KM

ENGINES = ("physics", "model", "both")


@dataclass
class NowcastRequest:
    """Everything ``floodcast nowcast`` takes (see docs/guide/flood-nowcast.md)."""

    dem: str
    out: Path
    radar: str = ""
    rain: str = ""
    engine: str | None = None  # None: physics, or model when a model is given
    model: Path | None = None
    members: int | None = None  # None: NOWCAST_MEMBERS (physics) or 0 (model engine)
    lead_min: float = NOWCAST_LEAD_MIN
    thresholds: tuple[float, ...] = NOWCAST_THRESHOLDS_M
    state: str = ""
    spin_up_h: float | None = None
    seed: int = 0
    ensemble_method: str = defaults.ENSEMBLE_METHOD  # predict.nowcast.ENSEMBLE_METHODS
    flow: str = "lucaskanade"
    margin_km: float = MARGIN_KM
    alerts: list[str] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    map_url: str = ""
    cut: float | None = None
    prev_depth: str = ""  # model engine: current depth map for autoregressive models
    steps: int | None = None  # lead in radar intervals (overrides lead_min; model-engine name)
    # physics engine's land surface (simulation.landcover.land_surface): n number or raster,
    # or land cover + table; infiltration mm/h or raster
    manning: float | str | None = None
    landcover: str | Path | None = None
    manning_table: str | Path | None = None
    infiltration: float | str = 0.0
    downscale: Path | None = None  # physics members solved coarse, mapped fine by this model
    coarsen: int = 0  # factor of the coarse solve (0: the downscaler's)
    downscale_precision: str = DOWNSCALE_PRECISION  # the downscaling model's arithmetic
    scheduler: str = NOWCAST_SCHEDULER  # where the physics members run (none | local[:N] | ADDR)

    @property
    def resolved_engine(self) -> str:
        return self.engine or ("model" if self.model else "physics")

    @property
    def n_members(self) -> int:
        if self.members is not None:
            return int(self.members)
        return 0 if self.resolved_engine == "model" else NOWCAST_MEMBERS


def check(req: NowcastRequest) -> None:
    """Option-level checks (no file read yet)."""
    eng = req.resolved_engine
    if eng not in ENGINES:
        raise InputError(f"--engine must be one of {', '.join(ENGINES)}, got {eng!r}")
    if eng in ("model", "both") and req.model is None:
        raise InputError(f"--engine {eng} needs --model MODEL.pt")
    if req.n_members < 0:
        raise InputError(
            f"--ensemble must be >= 0 members (0 = deterministic), got {req.n_members}"
        )
    check_ensemble_method(req.ensemble_method)
    if req.steps is not None and req.steps < 1:
        raise InputError(f"--steps must be >= 1, got {req.steps}")
    if bool(req.rain) == bool(req.radar):
        raise InputError("give exactly one of --rain FILE or --radar [SOURCE:]PATH")
    if not req.thresholds or min(req.thresholds) <= 0:
        raise InputError(f"--threshold must be > 0 m, got {list(req.thresholds)}")
    if eng != "model":
        if req.state and req.spin_up_h is not None:
            raise InputError("give --state FILE or --spin-up HOURS, not both")
        if not req.state and req.spin_up_h is None:
            raise InputError(
                "the physics engine needs a starting state: --state FILE (from a "
                "previous nowcast) or --spin-up HOURS of the observed rain"
            )
    if req.coarsen and req.downscale is None:
        raise InputError("--coarsen needs --downscale MODEL.pt (the model that maps it fine)")
    if req.downscale_precision != DOWNSCALE_PRECISION and req.downscale is None:
        raise InputError("--downscale-precision needs --downscale MODEL.pt")
    if req.downscale is not None:
        from floodcast.predict.downscale import check_precision

        check_precision(req.downscale_precision)
    if req.downscale is not None and eng == "model":
        raise InputError("--downscale maps the physics members; --engine model has none")
    from floodcast.predict.flood_members_dask import parse_scheduler

    if parse_scheduler(req.scheduler)[0] != "none" and eng == "model":
        raise InputError("--scheduler runs the physics members; --engine model has none")
    if eng == "model" and req.infiltration != 0.0:
        # a loss is solver physics; no model channel reads it, so it would change nothing
        raise InputError("--infiltration is a loss of the physics engine; --engine model has none")
    if req.notify and not req.alerts:
        raise InputError("--notify needs at least one --alert AREA.geojson:DEPTH:PROB:LEAD")
