"""Downscaled physics flood nowcast: every member solved on the DEM ``F`` times coarser, each
member's depth at each lead mapped to the DEM grid by a trained downscaler, and the
probabilities computed from the fine maps.

``floodcast nowcast --engine physics --downscale MODEL.pt --coarsen F``. The coarse run is
the ordinary ensemble (:func:`~floodcast.predict.flood_nowcast.run_ensemble`) on the block
mean of the (sink-filled) DEM under the block-mean rain; the model maps each member at each
lead (one pass per member and lead, M x K maps), and the start depth once. Differences from
a fine nowcast, stated in the outputs' ``downscale`` attribute: ``probability_within`` is
over the leads (the fine maps exist at the leads only, not at every solver step), the state
file is the coarse run's (a hot start needs the same model factor), and the model's
"rain since the start" counts the frames simulated in this run (spin-up or the frames
newer than the state) plus the forecast, its "rain now" every observed frame and the
forecast.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from floodcast.defaults import DOWNSCALE_PRECISION, WET_THRESHOLD_M
from floodcast.errors import InputError
from floodcast.models.downscale_head import model_depth_source
from floodcast.predict.downscale import (
    VOLUME_FILL,
    load_downscaler,
    map_fine,
    model_coarse_dem,
)
from floodcast.predict.flood_nowcast import FloodNowcast, lead_rain_mean, leads_nowcast
from floodcast.simulation.downscale import SUBGRID, FineGrid, block_mean_grid, check_factor
from floodcast.simulation.downscale_rain import lead_rain_inputs


@dataclass
class NowcastDownscaler:
    """A checked downscaler for one DEM: the model, its record, the factor, the fine grid."""

    model: object
    info: dict
    factor: int
    grid: FineGrid
    path: str
    terrain: object = None  # the sub-grid terrain, built once (flood_members_subgrid)
    precision: str = DOWNSCALE_PRECISION  # the model's arithmetic (defaults.DOWNSCALE_PRECISIONS)

    @property
    def cut(self) -> float:
        return float(self.info.get("cut", 0.5))

    def coarse_dem(self, dem):
        """The DEM the members are solved on: the model's coarse rule (block mean or
        minimum), ``F`` times the cell size."""
        return replace(dem, elevation=self.grid.zc, cell_size=dem.cell_size * self.factor)

    def coarse_rain(self, rain_mmh: np.ndarray) -> np.ndarray:
        """Rain [..., y, x] on the DEM grid -> the block mean on the coarse grid (same volume)."""
        return block_mean_grid(np.asarray(rain_mmh, np.float32), self.factor)

    def record(self) -> dict:
        """What the outputs say about the emulation (nowcast.json and NetCDF attributes)."""
        return {
            "model": self.path,
            "model_name": self.model.config.name if self.model is not None else "volume_fill",
            "factor": self.factor,
            "coarse_cell_size_m": self.grid.cell_size * self.factor,
            "coarse_dem": self.grid.coarse_dem,
            "depth_source": model_depth_source(self.info) if self.model else "volume_fill",
            "fine_cell_size_m": self.grid.cell_size,
            "cut": self.cut if self.model is not None else None,
            "precision": self.precision if self.model is not None else None,
            "probability_within": "over the leads (fine maps exist at the leads only)",
            "state": "of the coarse run",
            "rain_since_start": "frames simulated in this run plus the forecast",
            "rain_recent": "every observed frame plus the forecast",
            "trained_on": self.info.get("train_dems", []),
        }


def load_nowcast_downscaler(
    path: Path, factor: int | None, dem, precision: str = DOWNSCALE_PRECISION
) -> NowcastDownscaler:
    """Check the model against the DEM (factor, cell size, divisibility) before any run;
    ``precision``: the model's arithmetic (``defaults.DOWNSCALE_PRECISIONS``)."""
    if str(path) == VOLUME_FILL:  # no model: the sub-grid members' volumes poured per block
        if not factor:
            raise InputError(
                f"--downscale {VOLUME_FILL} needs --coarsen F (no model to take it from)"
            )
        model, info = None, {"factor": int(factor), "coarse_dem": SUBGRID}
        info["threshold_m"] = WET_THRESHOLD_M
    elif not Path(path).is_file():
        raise InputError(f"--downscale {path}: no such model file")
    else:
        model, info = load_downscaler(path, factor or None, dem.cell_size)
        model = model.eval()
    f = check_factor(dem.shape, int(info["factor"]), f"DEM {dem.source}")
    grid = FineGrid(
        dem.elevation,
        dem.cell_size,
        f,
        float(info["threshold_m"]),
        dem.source,
        coarse_dem=model_coarse_dem(info),
    )
    return NowcastDownscaler(model, info, f, grid, str(path), precision=precision)


def _mapped(
    ds: NowcastDownscaler, depth_c: np.ndarray, rain_mm: np.ndarray, recent_mmh: np.ndarray
) -> np.ndarray:
    if ds.model is None:  # volume fill
        d = np.stack([ds.grid.volume_fill(h) for h in depth_c]) if len(depth_c) else depth_c
        return np.where(ds.grid.valid, d, 0.0).astype(np.float32)
    return map_fine(
        ds.model,
        ds.grid,
        depth_c,
        rain_mm,
        recent_mmh,
        float(ds.info["threshold_m"]),
        ds.cut,
        depth_source=model_depth_source(ds.info),
        precision=ds.precision,
    )


def downscale_members(
    ds: NowcastDownscaler,
    coarse: FloodNowcast,
    forecast_mmh: np.ndarray,
    observed_mmh: np.ndarray,
    interval_s: float,
    n_simulated: int | None = None,
) -> FloodNowcast:
    """The fine-grid nowcast from a coarse one run with ``keep_members=True``.

    ``forecast_mmh`` [M, K, y, x] is the members' rain on the DEM grid (NaN -> 0) and
    ``observed_mmh`` [n, y, x] the observed frames before the forecast (n may be 0). The
    model's rain since the start counts the last ``n_simulated`` of them (the frames this
    run simulated; None: all) and the forecast; its recent rain reads all of them, as the
    rain that fell whether or not this run simulated it (``simulation.downscale_rain``)."""
    if coarse.member_depths is None:
        raise ValueError("the coarse ensemble must keep its members (keep_members=True)")
    t0 = time.perf_counter()
    fc = np.nan_to_num(np.asarray(forecast_mmh, np.float64))
    k_n = coarse.member_depths.shape[1]
    n_sim = len(observed_mmh) if n_simulated is None else n_simulated
    acc0, rec0, acc, rec = lead_rain_inputs(observed_mmh, n_sim, fc, interval_s)
    depth0 = _mapped(ds, coarse.depth0[None], acc0[None], rec0[None])[0]
    maps = (
        _mapped(ds, coarse.member_depths[:, k], acc[:, k], rec[:, k]) for k in range(k_n)
    )  # one pass each
    return leads_nowcast(
        maps,
        depth0,
        coarse.thresholds,
        coarse.lead_s,
        rain_mean_mmh=lead_rain_mean(fc, ds.grid.valid),
        members=coarse.members,
        state=coarse.state,
        wall_s=coarse.wall_s + time.perf_counter() - t0,
    )


def solver_dem(ds: NowcastDownscaler | None, dem):
    """The DEM the members are solved on: the model's coarse DEM with a downscaler."""
    return dem if ds is None else ds.coarse_dem(dem)


def solver_rain(ds: NowcastDownscaler | None, obs: np.ndarray, fc: np.ndarray):
    """(observed rain, forecast) the members are solved on: coarse with a downscaler."""
    if ds is None:
        return obs, fc
    return ds.coarse_rain(obs), ds.coarse_rain(fc)


def finish(
    ds: NowcastDownscaler, res: FloodNowcast, fc, observed, n_sim: int, interval_s: float, meta
):
    """Map the coarse nowcast fine and flag the outputs as emulated (``meta`` updated).

    ``observed`` [n, y, x]: the observed frames (DEM grid) before the forecast; the last
    ``n_sim`` of them this run simulated (spin-up, or those newer than the hot-start state)."""
    solver = "sub-grid local-inertial" if ds.grid.coarse_dem == SUBGRID else "local-inertial"
    mapper = "a learned downscaler" if ds.model is not None else "volume fill (no model)"
    meta.update(
        emulated=True,
        downscale=ds.record(),
        source=f"floodcast {solver} solver on {ds.factor}x coarser cells, each member "
        f"mapped to the DEM grid by {mapper} (emulated), driven by pysteps rain nowcasts",
    )
    return downscale_members(ds, res, fc, observed, interval_s, n_sim)


def check_subgrid_nowcast(req, config, boundaries) -> None:
    """Refuse, before any run, what the sub-grid members cannot do: the settings the sub-grid
    solver does not model, and Dask (its members run one after another here)."""
    from floodcast.physics.subgrid_run import check_subgrid
    from floodcast.predict.flood_members_dask import parse_scheduler

    check_subgrid(config, boundaries, f"--downscale {req.downscale} (sub-grid members)")
    if parse_scheduler(req.scheduler)[0] != "none":
        raise InputError(
            f"--scheduler {req.scheduler}: the sub-grid members of --downscale "
            f"{req.downscale} run in this process only (--scheduler none)"
        )
