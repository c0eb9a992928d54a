"""The simulate job's outputs: run statistics, settings records, and the five files
(``depth.nc``, ``max_depth.tif``, ``mass_balance.csv``, ``max_depth.png``, ``run.json``)
written into a staging folder and moved into place at once."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from floodcast.simulation.request import OUTPUT_FILES, PreparedJob
from floodcast.simulation.surface import describe


def run_stats(job: PreparedJob, result: Any, max_depth: np.ndarray, depth: np.ndarray) -> dict:
    thr, area = job.request.threshold_m, job.dem.cell_size**2
    wet = int((max_depth > thr).sum())
    last = result.mass[-1] if result.mass else None
    valid = int((~np.isnan(job.dem.elevation)).sum())
    return {
        "steps": int(result.steps),
        "dt_min_s": float(result.dt_min),
        "dt_max_s": float(result.dt_max),
        "wall_time_s": float(result.wall_time_s),
        "cell_updates_per_s": float(result.cell_updates_per_s),
        "threshold_m": thr,
        "wet_cells_max": wet,
        "wet_area_max_m2": wet * area,
        "wet_fraction_max": wet / max(valid, 1),
        "wet_cells_end": int((depth[-1] > thr).sum()) if len(depth) else 0,
        "max_depth_m": float(max_depth.max()),
        "cells": int(max_depth.size),
        "wall_cells": int(max_depth.size - valid),
        "saves": len(result.times_s),
        "mass": asdict(last) if last is not None else None,
    }


def run_settings(job: PreparedJob) -> dict[str, Any]:
    """The settings of a run as recorded in run.json and depth.nc."""
    dem = job.dem
    return {
        **job.request.settings(),
        "boundary": str(job.boundaries),
        "solver": solver_settings(job.config),
        "dem_cell_size_m": dem.cell_size,
        "dem_crs": dem.crs,
        "rain_frames": len(job.rain.times_s),
    }


def depth_attrs(job: PreparedJob, settings: dict[str, Any]) -> dict[str, Any]:
    """Global attributes of depth.nc (the Python API's Dataset has the same)."""
    from floodcast import __version__

    return {
        "title": "floodcast simulate: water depth",
        "floodcast_version": __version__,
        "dem_source": job.dem.source,
        "rain_source": job.rain.source,
        "manning_n": manning_attr(job.config.manning),
        "settings": settings,
    }


def write_outputs(
    job: PreparedJob,
    result: Any,
    depth: np.ndarray,
    max_depth: np.ndarray,
    stats: dict,
    meta: dict | None = None,
) -> dict[str, Path]:
    """Write the five outputs into a staging folder inside ``out``, then rename them in.

    ``meta`` (e.g. ``{"emulated": True, "downscale": {...}}`` from a downscaled run) is
    added to the NetCDF attributes and to run.json.

    On any failure the staging folder is removed, and so is ``out`` if this call
    created it, so the folder never holds a partial result of this run.
    """
    from floodcast import __version__
    from floodcast.io.geotiff import write_geotiff
    from floodcast.io.plotting import plot_depth_map
    from floodcast.io.writers import write_depth_netcdf, write_json, write_mass_csv
    from floodcast.simulation import safety

    req, dem = job.request, job.dem
    out = Path(req.out)
    created = not out.exists()
    out.parent.mkdir(parents=True, exist_ok=True)
    safety.clean_stale(out)
    # a folder of ours (absent, or only our outputs): stage beside it and swap in one
    # rename; a folder holding other files too: stage inside and move file by file
    whole = created or not any(
        not p.name.startswith(".") and p.name not in OUTPUT_FILES for p in out.iterdir()
    )
    if whole:
        stage = safety.stage_name(out)
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
    else:
        stage = Path(tempfile.mkdtemp(prefix=f"{safety.STAGE_PREFIX}{os.getpid()}-", dir=out))
    try:
        settings = run_settings(job)
        write_depth_netcdf(
            stage / "depth.nc",
            result.times_s,
            depth,
            max_depth,
            dem,
            attrs={**depth_attrs(job, settings), **(meta or {})},
            start_time=job.rain.attrs.get("start_time"),
        )
        write_geotiff(
            stage / "max_depth.tif",
            max_depth,
            dem,
            tags={"units": "m", "long_name": "maximum water depth"},
            description="maximum water depth (m)",
            units="m",
        )
        write_mass_csv(stage / "mass_balance.csv", result.mass)
        plot_depth_map(
            stage / "max_depth.png",
            max_depth,
            dem.elevation,
            dem.cell_size,
            threshold=req.threshold_m,
            title=f"Maximum water depth, {req.duration_s / 3600:g} h",
            transform=dem.transform,
            crs=dem.crs,
        )
        write_json(
            stage / "run.json",
            {
                "floodcast_version": __version__,
                "command": "simulate",
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "settings": settings,
                "notes": job.notes,
                "stats": stats,
                "outputs": list(OUTPUT_FILES),
                **(meta or {}),
            },
        )
        if whole:
            stage.chmod(0o777 & ~_umask())
            safety.commit(stage, out)
        else:
            for name in OUTPUT_FILES:  # run.json last: it says the set is complete
                os.replace(stage / name, out / name)
        return {name: out / name for name in OUTPUT_FILES}
    except Exception as exc:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        if isinstance(exc, OSError):
            raise
        # netCDF4/HDF5 report a full disk as RuntimeError("NetCDF: HDF error")
        raise OSError(
            f"cannot write the outputs into {out}: {type(exc).__name__}: {exc} (disk full?)"
        ) from exc
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def solver_settings(config: Any) -> dict[str, Any]:
    """``asdict(config)`` with per-cell grids summarised (min/max/mean), for run.json."""
    d = asdict(config)
    for k in ("manning", "infiltration_mmh", "drainage_mmh"):
        if k in d:
            d[k] = describe(d[k])
    if d.get("soil") is not None:
        d["soil"] = {k: describe(v) for k, v in d["soil"].items()}
    return d


def manning_attr(manning: Any) -> float | str:
    """The depth.nc ``manning_n`` attribute: the number, or a summary of the grid."""
    d = describe(manning)
    if isinstance(d, float):
        return d
    return f"per-cell grid: min {d['min']:g}, max {d['max']:g}, mean {d['mean']:.4g}"
