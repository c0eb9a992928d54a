"""Downscaling pairs: every event of a dataset store simulated again on a coarser grid.

The fine run (the label) is the store's own event; this module adds, beside it, the same
event simulated on a DEM ``F`` times coarser - each block's mean elevation or, with
``coarse_dem="min"``, its lowest cell (``--coarse-dem``) - under the same radar (the fine
rain block-averaged, so the rain volume is the same)::

    STORE.zarr/
      dems/<dem_id>/coarse<F>/elevation      [y/F, x/F] float32 (m), attrs: cell_size, factor,
                                             coarse_dem ("mean" or "min"; absent = "mean")
      events/<event_id>/coarse<F>/depth      [t + N, y/F, x/F] uint16 mm, at the fine run's
                                             times, then N dry-tail frames
      events/<event_id>/dry_tail/depth       [t + N, y, x] uint16 mm: the fine run again,
                                             over the rain and the dry tail

A dry tail (``dry_tail`` = N frames, default ``defaults.DOWNSCALE_DRY_TAIL_FRAMES``; 0 =
none) continues every event with N frames of zero rain, so the pairs contain recessions
and not only maps inside heavy rain: the fine event is simulated again from dry over its
rain plus the tail and stored beside the store's own event (left as it is), so the label
is one continuous run; the coarse run covers rain and tail. ``read_pair`` returns that
rerun as the fine depth and the rain with the tail's zero frames appended. The rerun reads
the store's quantised rain (0.01 mm/h), so over the rain frames it differs a little from
the stored event: at most cells by under 1 mm, at a handful of cells near a spill point by
more (measured: up to 0.11 m at one 2 m cell of 69 events). It is refused as another
solver's only when the 99.9th percentile of the difference exceeds 1 cm (``rerun_check``);
the maximum and the percentile are kept in its attributes.
A store's pairs all have the same tail: building with another N is refused.
Sub-grid runs record the sub-grid solver's version (``subgrid_version``); adding to runs
of another version is refused too (``downscale_dem.check_subgrid_version``).

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
from floodcast.data.downscale_dem import (
    check_coarse_method,
    check_subgrid_version,
    coarse_method,
    event_group_attr,
    group_name,
    read_coarse_dem,
    write_coarse_dem,
)
from floodcast.defaults import DOWNSCALE_COARSE_DEM, DOWNSCALE_DRY_TAIL_FRAMES
from floodcast.errors import InputError
from floodcast.simulation.downscale import (
    block_mean_grid,
    check_coarse_dem,
    check_factor,
    simulate_coarse,
    simulate_coarse_rule,
)

#: The coarsening factors the issue asks for (``floodcast downscale pairs`` default).
DEFAULT_FACTORS = (4, 8)
#: The fine run's dry-tail maps of an event (its group under ``events/<event_id>/``).
TAIL_GROUP = "dry_tail"
#: Largest |rerun - stored| fine depth (m) over the rain frames, at quantile
#: ``RERUN_QUANTILE`` of the cell-times, before the rerun is refused as another solver's.
#: Not the maximum: the rerun reads the store's quantised rain (0.01 mm/h), and a pond at its
#: spill point amplifies that at a few cells (measured on the 69 radar events of 128^2 2 m
#: cells: p99.9 <= 1.3 mm, max 0.11 m at one cell), while another solver or step rule moves
#: water over whole wet areas.
RERUN_TOL_M = 0.01
RERUN_QUANTILE = 0.999


@dataclass
class PairSummary:
    factors: list[int]
    built: int  # coarse runs
    skipped: int
    wall_time_s: float
    dry_tail: int = 0  # frames of zero rain after each event
    tails_built: int = 0  # fine reruns with the dry tail
    coarse_dem: str = DOWNSCALE_COARSE_DEM  # the coarse DEM rule ("mean" or "min")


def _exists(path: Path, eid: str, group: str) -> bool:
    return (path / "events" / eid / group / "zarr.json").exists()


def _check_tail(path: Path, events, facs, tail: int) -> None:
    """Refuse (before any run) a store whose finished pairs have another dry tail."""
    if int(tail) != tail or tail < 0:
        raise InputError(f"--dry-tail {tail!r}: must be an integer >= 0 (frames)")
    for e in events:
        for g in [group_name(f) for f in facs] + ([TAIL_GROUP] if tail else []):
            n = event_group_attr(path, e, g, "dry_tail_frames", 0)
            if n is not None and int(n) != tail:
                raise InputError(
                    f"{path}: event {e} {g} was built with --dry-tail {n}, not {tail}; "
                    f"pass --dry-tail {n} or delete the store's coarse<F>/ and {TAIL_GROUP}/ "
                    "groups to rebuild"
                )


def build_pairs(
    path: str | Path,
    factors: tuple[int, ...] = DEFAULT_FACTORS,
    progress=None,
    dry_tail: int = DOWNSCALE_DRY_TAIL_FRAMES,
    coarse_dem: str = DOWNSCALE_COARSE_DEM,
) -> PairSummary:
    """Add the coarse run of every finished event for every factor (resumable), each event
    continued by ``dry_tail`` frames of zero rain (the fine rerun stored once per event),
    on the coarse DEM of rule ``coarse_dem`` ("mean" or "min").

    All factors are checked against every DEM, and the tail and the coarse rule against
    the finished pairs, before anything is simulated or written.
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
    _check_tail(path, events, facs, dry_tail)
    check_coarse_method(path, dems, facs, coarse_dem)
    check_subgrid_version(path, events, facs, coarse_dem)
    for did, (z, attrs) in dems.items():
        for f in facs:
            write_coarse_dem(path, did, z, attrs, f, coarse_dem)
    tails = [e for e in events if dry_tail and not _exists(path, e, TAIL_GROUP)]
    todo = [(e, f) for e in events for f in facs if not _exists(path, e, group_name(f))]
    t0 = time.perf_counter()
    for i, eid in enumerate(tails):
        _write_tail(path, eid, _simulate_tail(path, eid, dry_tail), dry_tail)
        if progress:
            progress(i + 1, len(tails) + len(todo))
    for i, (eid, f) in enumerate(todo):
        rain, _, attrs = store.read_event(path, eid)
        did = attrs["plan"]["dem_id"]
        zc, _ = read_coarse_dem(path, did, f)
        z, zattrs = dems[did]
        out = simulate_coarse_rule(
            coarse_dem,
            z,
            float(zattrs["cell_size"]),
            f,
            block_mean_grid(with_dry_tail(rain, dry_tail), f),
            float(attrs["plan"]["interval_s"]),
            attrs["solver"],
            f"{eid}/x{f}",
            coarse=zc,
        )
        _write_coarse_event(path, eid, f, out | {"dry_tail_frames": int(dry_tail)})
        if progress:
            progress(len(tails) + i + 1, len(tails) + len(todo))
    root = zarr.open_group(str(path), mode="r+")
    done = sorted(set(root.attrs.get("downscale_factors", [])) | set(facs))
    root.attrs["downscale_factors"] = done
    root.attrs["downscale_dry_tail_frames"] = int(dry_tail)
    root.attrs["downscale_coarse_dem"] = coarse_dem
    return PairSummary(
        facs,
        len(todo),
        len(events) * len(facs) - len(todo),
        time.perf_counter() - t0,
        int(dry_tail),
        len(tails),
        coarse_dem,
    )


def with_dry_tail(rain: np.ndarray, frames: int) -> np.ndarray:
    """``rain`` [t, y, x] followed by ``frames`` frames of zero rain."""
    zeros = np.zeros((int(frames),) + rain.shape[1:], rain.dtype)
    return np.concatenate([rain, zeros]) if frames else rain


def _simulate_tail(path: Path, eid: str, tail: int) -> dict:
    """The fine event again from dry over its rain and ``tail`` dry frames (the store's
    solver settings and Manning grid); its rain frames must be near the stored run's."""
    rain, depth, attrs = store.read_event(path, eid)
    did = attrs["plan"]["dem_id"]
    z, zattrs = store.read_dem(path, did)
    out = simulate_coarse(
        z,
        float(zattrs["cell_size"]),
        with_dry_tail(rain, tail),
        float(attrs["plan"]["interval_s"]),
        attrs["solver"],
        f"{eid}/dry_tail",
        manning=store.read_dem_grid(path, did, "manning"),
    )
    return out | rerun_check(out["depth"][: len(depth)], depth, f"{path}: event {eid}")


def rerun_check(rerun: np.ndarray, stored: np.ndarray, what: str) -> dict:
    """Statistics of |rerun - stored| (m); InputError when its ``RERUN_QUANTILE`` quantile
    exceeds ``RERUN_TOL_M``: the store was built by another solver than this one."""
    d = np.abs(np.asarray(rerun, np.float64) - np.asarray(stored, np.float64))
    q = float(np.quantile(d, RERUN_QUANTILE)) if d.size else 0.0
    if q > RERUN_TOL_M:
        raise InputError(
            f"{what}: the fine rerun differs from the stored run by {q:.3f} m at the "
            f"{RERUN_QUANTILE:.1%} quantile of its cells and times (> {RERUN_TOL_M} m; max "
            f"{d.max():.3f} m): another solver built the store; rebuild it with this "
            "floodcast or use --dry-tail 0"
        )
    return {
        "rerun_max_diff_m": float(d.max()) if d.size else 0.0,
        "rerun_quantile_diff_m": q,  # at RERUN_QUANTILE
        "rerun_cells_over_1cm": int((d > 0.01).sum()),
    }


def _write_tail(path: Path, eid: str, out: dict, tail: int) -> None:
    _write_depth_group(path, eid, TAIL_GROUP, out, "dry tail", {"dry_tail_frames": tail})


def _write_coarse_event(path: Path, eid: str, f: int, out: dict) -> None:
    _write_depth_group(path, eid, group_name(f), out, f"x{f}", {"factor": f})


def _write_depth_group(path: Path, eid: str, group: str, out: dict, label: str, extra: dict):
    """One run's depth series (quantised as the store's) and its record, atomically."""
    depth = out["depth"]

    def write(g):
        g.create_array(
            "depth",
            data=store._quantise(depth, store.DEPTH_SCALE, f"{eid} {label}"),
            chunks=(1,) + depth.shape[1:],
        )
        g.attrs.update({k: v for k, v in out.items() if k != "depth"} | extra)

    store._write_group_atomically(path / "events" / eid / group, write)


def read_pair(path: str | Path, event_id: str, factor: int) -> dict:
    """One event at both resolutions: rain [t,y,x] (mm/h), fine and coarse depth (m), both
    DEMs, cell sizes, interval and the wall time of each run; with its dry tail appended
    (``rain_frames`` frames of the radar, then ``dry_tail_frames`` of zero rain)."""
    path = Path(path)
    rain, depth, attrs = store.read_event(path, event_id)
    p = path / "events" / event_id / group_name(factor)
    if not (p / "zarr.json").exists():
        raise InputError(
            f"{path}: event {event_id} has no x{factor} coarse run; run "
            f"`floodcast downscale pairs {path} --coarsen {factor}`"
        )
    g = zarr.open_group(str(p), mode="r")
    n_rain, tail = len(depth), int(g.attrs.get("dry_tail_frames", 0))
    fine_wall = float(attrs["wall_time_s"])
    if tail:
        tg = zarr.open_group(str(path / "events" / event_id / TAIL_GROUP), mode="r")
        td = np.asarray(tg["depth"][:], np.float32) / np.float32(store.DEPTH_SCALE)
        if len(td) != n_rain + tail:
            raise InputError(
                f"{path}: event {event_id}: dry-tail run has {len(td)} maps, not {n_rain} + {tail}"
            )
        rain, depth = with_dry_tail(rain, tail), td  # one continuous fine run
        fine_wall = float(tg.attrs["wall_time_s"])
    did = attrs["plan"]["dem_id"]
    z, zattrs = store.read_dem(path, did)
    zc, cattrs = read_coarse_dem(path, did, factor)
    method = coarse_method(cattrs)
    check_coarse_dem(z, zc, factor, f"{path} DEM {did}", method)
    return {
        "event_id": event_id,
        "dem_id": did,
        "rain": rain,
        "fine_depth": depth,
        "coarse_depth": np.asarray(g["depth"][:], np.float32) / np.float32(store.DEPTH_SCALE),
        "fine_dem": z,
        "coarse_dem": zc,
        "coarse_method": method,
        "cell_size": float(zattrs["cell_size"]),
        "factor": int(factor),
        "interval_s": float(attrs["plan"]["interval_s"]),
        "fine_wall_s": fine_wall,
        "coarse_wall_s": float(g.attrs["wall_time_s"]),
        "rain_frames": n_rain,
        "dry_tail_frames": tail,
    }


def event_split(path: str | Path) -> dict[str, str]:
    """event_id -> split of a finished store (whole DEMs held out with ``--test-dem``)."""
    _, attrs = store.read_index(path)
    return dict(attrs["summary"]["splits"])
