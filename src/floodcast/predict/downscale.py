"""Downscaled simulate: the solver on a grid F times coarser, a trained model draws the fine map.

``floodcast simulate --downscale MODEL.pt --coarsen F`` runs :func:`prepare_downscaled`
(every check, before any computing: the factor divides the DEM, the model was trained
for this factor and cell size, no inflows) and :func:`execute_downscaled` (coarse solve,
one model pass per saved time, the simulate outputs written atomically by
``simulation.job.write_outputs``, flagged ``emulated`` in run.json and depth.nc).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.defaults import DOWNSCALE_BATCH_CELLS, DOWNSCALE_PRECISION
from floodcast.defaults import DOWNSCALE_PRECISIONS as PRECISIONS
from floodcast.errors import InputError
from floodcast.models.downscale_head import combine, fine_depth, model_depth_source
from floodcast.simulation.downscale import (
    CHANNELS,
    SUBGRID,
    FineGrid,
    block_mean_grid,
    check_factor,
    coarse_config,
    coarse_grid,
    coarse_rule,
)
from floodcast.simulation.downscale_rain import rain_inputs
from floodcast.simulation.volume_fill import VolumeFill

CELL_TOL = 0.01  # relative cell-size difference accepted between the run and the model
#: ``--downscale`` without a model: the sub-grid coarse run's volume poured into each block.
VOLUME_FILL = "volume-fill"


def load_downscaler(path: str | Path, factor: int | None, cell_size: float | None):
    """The model and its ``extra["downscale"]``; InputError if it is not a downscaler or was
    trained for another factor, cell size or channel set. ``factor`` None: the model's."""
    from floodcast.models.checkpoint import load_model

    model, extra = load_model(path)
    info = extra.get("downscale")
    if info and "cut" in extra:
        info = {**info, "cut": float(extra["cut"])}
    if not info:
        raise InputError(
            f"{path}: not a downscaling model (no extra['downscale']); train one "
            "with `floodcast downscale train`"
        )
    f = int(info["factor"]) if not factor else int(factor)
    if f != int(info["factor"]):
        raise InputError(f"{path}: trained for --coarsen {info['factor']}, not {f}")
    if cell_size is not None:
        check_cell(path, info, cell_size)
    if list(info["channels"]) != list(CHANNELS):
        raise InputError(
            f"{path}: model inputs {info['channels']} are not this floodcast's {list(CHANNELS)}"
        )
    coarse_rule(model_coarse_dem(info), f"{path}: trained on the coarse DEM rule")
    model_depth_source(info)
    return model, info


def model_coarse_dem(info: dict) -> str:
    """The coarse DEM rule a downscaler was trained on (models before the rule: block mean)."""
    return str(info.get("coarse_dem", "mean"))


def check_precision(precision: str, what: str = "--downscale-precision") -> str:
    """``precision`` if it is one of ``PRECISIONS``, else an InputError naming ``what``."""
    if precision not in PRECISIONS:
        raise InputError(f"{what} {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return precision


def check_cell(path: str | Path, info: dict, cell_size: float) -> None:
    fine = float(info["fine_cell_size_m"])
    if abs(cell_size - fine) > CELL_TOL * fine:
        raise InputError(
            f"{path}: trained on {fine:g} m cells; this DEM has {cell_size:g} m "
            f"(block-mean or resample the DEM to {fine:g} m)"
        )


def model_method(path: str | Path, factor: int, precision: str = DOWNSCALE_PRECISION):
    """A ``evaluation.downscale`` method (pair, FineGrid) -> fine depth [t, y, x] of a model
    (its arithmetic ``precision``, ``PRECISIONS``)."""
    check_precision(precision, "--precision")
    model, info = load_downscaler(path, factor, None)

    def method(pair: dict, grid: FineGrid) -> np.ndarray:
        check_cell(path, info, pair["cell_size"])
        if grid.coarse_dem != model_coarse_dem(info):
            raise InputError(
                f"{path}: trained on coarse runs over the block {model_coarse_dem(info)} DEM; "
                f"these pairs are on the block {grid.coarse_dem} DEM"
            )
        return map_fine(
            model,
            grid,
            pair["coarse_depth"],
            pair["rain_mm"],
            pair["rain_recent_mmh"],
            float(info["threshold_m"]),
            float(info.get("cut", 0.5)),
            depth_source=model_depth_source(info),
            precision=precision,
        )

    return method


def map_fine(
    model,
    grid: FineGrid,
    coarse_depth: np.ndarray,
    rain_mm: np.ndarray,
    recent_mmh: np.ndarray,
    threshold_m: float,
    cut: float = 0.5,
    batch: int | None = None,
    depth_source: str = "head",
    precision: str = DOWNSCALE_PRECISION,
) -> np.ndarray:
    """Fine depth [t, y, x] (m) from coarse depth [t, y/F, x/F], the rain since the start and
    the recent rain rate [t, ...] (``simulation.downscale_rain.rain_inputs``);
    wet where the wet probability exceeds ``cut`` (the model's validation-fitted cut), the
    depth of wet cells from ``depth_source`` (``DEPTH_SOURCES``: the model's depth head or
    the volume-fill channel).

    Each map given once (the caller passes the saved times only), ``batch`` maps per model
    pass (None: as many as fit ``defaults.DOWNSCALE_BATCH_CELLS``), under
    ``torch.inference_mode`` (no autograd records) and, for ``precision`` "bfloat16", CPU
    autocast (``defaults.DOWNSCALE_PRECISION``); ``grid`` holds the static channels."""
    import contextlib

    import torch

    bf16 = check_precision(precision) == "bfloat16"
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    batch = batch or max(1, DOWNSCALE_BATCH_CELLS // grid.z.size)
    # softmax[:, 1] > cut where the wet-minus-dry logit exceeds log(cut / (1 - cut))
    margin = -math.inf if cut <= 0.0 else math.inf if cut >= 1.0 else math.log(cut / (1 - cut))
    buf = np.empty((min(batch, len(coarse_depth)), len(CHANNELS)) + grid.z.shape, np.float32)
    out = []
    with torch.inference_mode(), autocast:
        for i in range(0, len(coarse_depth), batch):
            n = min(batch, len(coarse_depth) - i)
            for k in range(n):  # into one buffer, reused: no new input array per pass
                grid.channels(coarse_depth[i + k], rain_mm[i + k], recent_mmh[i + k], buf[k])
            x = buf[:n]
            if depth_source == "head":
                o = {k: v.float() for k, v in model(torch.from_numpy(x)).items()}
                wet = (torch.softmax(o["logits"], 1)[:, 1] > cut).numpy()
            else:  # the wet test only: one head row, no depth head (Model.wet_margin)
                o, wet = {}, (model.wet_margin(torch.from_numpy(x)).float() > margin).numpy()
            out.append(combine(wet, fine_depth(o, x, depth_source), threshold_m))
    if not out:
        return np.zeros((0,) + grid.z.shape, np.float32)
    d = np.concatenate(out)
    return np.where(grid.valid, d, 0.0).astype(np.float32)


@dataclass
class DownscaledJob:
    job: Any  # simulation.job.PreparedJob of the fine run
    model: Any
    info: dict
    factor: int
    model_path: str
    precision: str = DOWNSCALE_PRECISION  # the model's arithmetic (PRECISIONS)

    @property
    def mapper(self) -> str:
        """What draws the fine map: the model's registry name, or ``volume_fill``."""
        return self.model.config.name if self.model is not None else "volume_fill"


def prepare_downscaled(
    job, model_path: str | Path | None, factor: int | None, precision: str = DOWNSCALE_PRECISION
) -> DownscaledJob:
    """Check everything about a downscaled run of a prepared simulate job (nothing computed)."""
    dem = job.dem
    check_precision(precision)
    if model_path is None:
        raise InputError("--coarsen needs --downscale MODEL.pt (the model that draws the fine map)")
    if job.inflows:
        raise InputError(
            "--inflow is not supported with --downscale (a point inflow has no "
            "single cell on the coarse grid)"
        )
    if str(model_path) == VOLUME_FILL:
        if not factor:
            raise InputError(
                f"--downscale {VOLUME_FILL} needs --coarsen F (no model to take it from)"
            )
        model, info = None, {"factor": int(factor), "coarse_dem": SUBGRID}
    else:
        model, info = load_downscaler(model_path, factor, dem.cell_size)
    f = check_factor(dem.shape, int(info["factor"]), f"DEM {dem.source}")
    config = coarse_config(job.config, dem.shape, f)  # refuses what cannot be coarsened
    if model_coarse_dem(info) == SUBGRID:
        from floodcast.physics.subgrid_run import check_subgrid

        check_subgrid(config, job.boundaries, f"{model_path} (sub-grid coarse runs)")
    ds = DownscaledJob(job, model, info, f, str(model_path), precision)
    how = "sub-grid" if model_coarse_dem(info) == SUBGRID else f"block {model_coarse_dem(info)}"
    job.notes.append(
        f"downscaled run: solver on {dem.shape[0] // f} x {dem.shape[1] // f} cells of "
        f"{dem.cell_size * f:g} m ({how} DEM), fine map by {Path(model_path).name} "
        f"({ds.mapper}); outputs are emulated, not solved at {dem.cell_size:g} m"
    )
    return ds


def execute_downscaled(ds: DownscaledJob, progress=None):
    """Coarse solve + model, then write the usual outputs; returns a ``JobResult``."""
    import torch

    from floodcast.physics.solver import Simulation, keep_torch_threads, set_threads
    from floodcast.simulation.job import run_request
    from floodcast.simulation.outputs import run_stats, write_outputs
    from floodcast.simulation.request import JobResult

    job, f = ds.job, ds.factor
    req, dem = job.request, job.dem
    set_threads(int(req.threads or 1))
    torch.set_num_threads(int(req.threads or 1))
    rule = model_coarse_dem(ds.info)
    rain = job.rain
    rain_c = rain if rain.uniform else replace(rain, rates_mmh=block_mean_grid(rain.rates_mmh, f))
    config = coarse_config(job.config, dem.shape, f)
    # the model's fine grid first: its storage pits (one priority flood per DEM) are the
    # sub-grid terrain's too; its set-up counts as model time
    t1 = time.perf_counter()
    grid = None
    if ds.model is not None:
        grid = FineGrid(dem.elevation, dem.cell_size, f, req.threshold_m, f"DEM {dem.source}", rule)
    t_grid = time.perf_counter() - t1
    pits = grid.pits if grid is not None else None
    t0 = time.perf_counter()
    with keep_torch_threads():
        if rule == SUBGRID:
            from floodcast.physics.subgrid import subgrid_terrain
            from floodcast.physics.subgrid_pits import leaky_pits
            from floodcast.physics.subgrid_run import run_subgrid

            if pits is None:  # volume fill: the fill and the terrain share these
                pits = leaky_pits(dem.elevation, f)
            terrain = subgrid_terrain(dem.elevation, f, dem.cell_size, pits=pits)
            res = run_subgrid(
                terrain, rain_c, config, job.boundaries, float(req.duration_s),
                float(req.save_every_s), progress,
            )  # fmt: skip
        else:
            zc = coarse_grid(np.asarray(dem.elevation, np.float32), f, rule)
            sim = Simulation(zc, dem.cell_size * f, rain_c, config, job.boundaries)
            res = run_request(sim, req, progress)
    t_solve = time.perf_counter() - t0
    t1 = time.perf_counter()
    if grid is None:  # volume fill: no model, no fine-grid channels
        fill = VolumeFill(dem.elevation, f, pits)
        depth = np.stack([fill(h) for h in res.depth]).astype(np.float32)
    else:
        depth = map_fine(
            ds.model,
            grid,
            res.depth,
            *rain_inputs(rain.rates_mmh, rain.times_s, rain.end_s, res.times_s),
            req.threshold_m,
            float(ds.info.get("cut", 0.5)),
            depth_source=model_depth_source(ds.info),
            precision=ds.precision,
        )
    t_model = t_grid + time.perf_counter() - t1
    max_depth = depth.max(0) if len(depth) else np.zeros(dem.shape, np.float32)
    res = replace(res, depth=depth, max_depth=max_depth, wall_time_s=t_solve + t_model)
    stats = {**run_stats(job, res, max_depth, depth), "coarse_solve_s": t_solve, "model_s": t_model}
    meta = {
        "emulated": True,
        "downscale": {
            "model": ds.model_path,
            "model_name": ds.mapper,
            "factor": f,
            "coarse_cell_size_m": dem.cell_size * f,
            "coarse_dem": rule,
            "depth_source": model_depth_source(ds.info) if ds.model else "volume_fill",
            "precision": ds.precision if ds.model else None,
            "fine_cell_size_m": dem.cell_size,
            "max_depth": "maximum over the saved times (the model maps saved times only)",
            "mass_balance": "of the coarse run",
            "trained_on": ds.info.get("train_dems", []),
        },
    }
    files = write_outputs(job, res, depth, max_depth, stats, meta=meta)
    return JobResult(Path(req.out), files, stats)
