"""Downscaling pairs: every event of a dataset store simulated again on a coarser grid.

The fine run (the label) is the store's own event; this module adds, beside it, the same
event simulated on the block-mean DEM ``F`` times coarser under the same radar (the fine
rain block-averaged, so the rain volume is the same)::

    STORE.zarr/
      dems/<dem_id>/coarse<F>/elevation      [y/F, x/F] float32 (m), attrs: cell_size, factor
      events/<event_id>/coarse<F>/depth      [t, y/F, x/F] uint16 mm, at the fine run's times

Each coarse run is written atomically (hidden temporary name, then renamed), so a killed
``floodcast downscale pairs`` resumes by skipping the finished ones. A grid that ``F``
does not divide is refused, never padded or cropped silently (see ``check_factor``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zarr

from floodcast.data import store
from floodcast.errors import InputError
from floodcast.simulation.downscale import (
    block_mean_grid,
    check_coarse_dem,
    check_factor,
    coarse_dem,
    simulate_coarse,
)

#: The coarsening factors the issue asks for (``floodcast downscale pairs`` default).
DEFAULT_FACTORS = (4, 8)


def group_name(factor: int) -> str:
    return f"coarse{int(factor)}"


@dataclass
class PairSummary:
    factors: list[int]
    built: int
    skipped: int
    wall_time_s: float


def build_pairs(
    path: str | Path, factors: tuple[int, ...] = DEFAULT_FACTORS, progress=None
) -> PairSummary:
    """Add the coarse run of every finished event for every factor (resumable).

    All factors are checked against every DEM before anything is simulated or written.
    """
    path = Path(path)
    store.open_root(path)  # a clear error if this is not a store
    events = store.finished_events(path)
    if not events:
        raise InputError(f"{path}: no finished event; run `floodcast dataset build` first")
    dems = {d: store.read_dem(path, d) for d in store.dem_ids(path)}
    facs = sorted({int(f) for f in factors})
    for did, (z, _) in dems.items():
        for f in facs:
            check_factor(z.shape, f, f"{path} DEM {did}")
    for did, (z, attrs) in dems.items():
        for f in facs:
            _write_coarse_dem(path, did, z, attrs, f)
    todo = [
        (e, f)
        for e in events
        for f in facs
        if not (path / "events" / e / group_name(f) / "zarr.json").exists()
    ]
    t0 = time.perf_counter()
    for i, (eid, f) in enumerate(todo):
        rain, _, attrs = store.read_event(path, eid)
        did = attrs["plan"]["dem_id"]
        zc, cattrs = read_coarse_dem(path, did, f)
        out = simulate_coarse(
            zc,
            float(cattrs["cell_size"]),
            block_mean_grid(rain, f),
            float(attrs["plan"]["interval_s"]),
            attrs["solver"],
            f"{eid}/x{f}",
        )
        _write_coarse_event(path, eid, f, out)
        if progress:
            progress(i + 1, len(todo))
    root = zarr.open_group(str(path), mode="r+")
    done = sorted(set(root.attrs.get("downscale_factors", [])) | set(facs))
    root.attrs["downscale_factors"] = done
    return PairSummary(
        facs, len(todo), len(events) * len(facs) - len(todo), time.perf_counter() - t0
    )


def _write_coarse_dem(path: Path, did: str, z: np.ndarray, attrs: dict, f: int) -> None:
    final = path / "dems" / did / group_name(f)
    if final.exists():
        return
    zc = coarse_dem(z, f, f"DEM {did}")

    def write(g):
        g.create_array("elevation", data=zc, chunks=zc.shape)
        g.attrs.update(
            {
                "cell_size": float(attrs["cell_size"]) * f,
                "factor": f,
                "fine_cell_size": float(attrs["cell_size"]),
                "method": "block mean",
            }
        )

    store._write_group_atomically(final, write)


def _write_coarse_event(path: Path, eid: str, f: int, out: dict) -> None:
    depth = out["depth"]

    def write(g):
        g.create_array(
            "depth",
            data=store._quantise(depth, store.DEPTH_SCALE, f"{eid} x{f}"),
            chunks=(1,) + depth.shape[1:],
        )
        g.attrs.update({k: v for k, v in out.items() if k != "depth"} | {"factor": f})

    store._write_group_atomically(path / "events" / eid / group_name(f), write)


def read_coarse_dem(path: str | Path, dem_id: str, factor: int) -> tuple[np.ndarray, dict]:
    p = Path(path) / "dems" / dem_id / group_name(factor)
    if not (p / "zarr.json").exists():
        raise InputError(
            f"{path}: DEM {dem_id} has no x{factor} coarse grid; run "
            f"`floodcast downscale pairs {path} --coarsen {factor}`"
        )
    g = zarr.open_group(str(p), mode="r")
    return np.asarray(g["elevation"][:]), dict(g.attrs)


def read_pair(path: str | Path, event_id: str, factor: int) -> dict:
    """One event at both resolutions: rain [t,y,x] (mm/h), fine and coarse depth (m), both
    DEMs, cell sizes, interval and the wall time of each run."""
    path = Path(path)
    rain, depth, attrs = store.read_event(path, event_id)
    p = path / "events" / event_id / group_name(factor)
    if not (p / "zarr.json").exists():
        raise InputError(
            f"{path}: event {event_id} has no x{factor} coarse run; run "
            f"`floodcast downscale pairs {path} --coarsen {factor}`"
        )
    g = zarr.open_group(str(p), mode="r")
    did = attrs["plan"]["dem_id"]
    z, zattrs = store.read_dem(path, did)
    zc, _ = read_coarse_dem(path, did, factor)
    check_coarse_dem(z, zc, factor, f"{path} DEM {did}")
    return {
        "event_id": event_id,
        "dem_id": did,
        "rain": rain,
        "fine_depth": depth,
        "coarse_depth": np.asarray(g["depth"][:], np.float32) / np.float32(store.DEPTH_SCALE),
        "fine_dem": z,
        "coarse_dem": zc,
        "cell_size": float(zattrs["cell_size"]),
        "factor": int(factor),
        "interval_s": float(attrs["plan"]["interval_s"]),
        "fine_wall_s": float(attrs["wall_time_s"]),
        "coarse_wall_s": float(g.attrs["wall_time_s"]),
    }


def event_split(path: str | Path) -> dict[str, str]:
    """event_id -> split of a finished store (whole DEMs held out with ``--test-dem``)."""
    _, attrs = store.read_index(path)
    return dict(attrs["summary"]["splits"])
