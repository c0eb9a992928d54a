"""The dataset store: one zarr folder holding each DEM once and each event's frames once.

Layout::

    STORE.zarr/
      dems/<dem_id>/elevation        [y, x] float32 (m), attrs: cell_size, crs, source
      events/<event_id>/rain         [t, y, x] uint16, 0.01 mm/h units; frame k holds over interval k
      events/<event_id>/depth        [t, y, x] uint16, mm; depth at the END of interval k
      index/{event,frame,row,col,split,keep}   one entry per (event, frame, tile) sample
      zarr.json attrs: spec, stats, splits, counts, complete=True once finalised

Rain and depth are quantised (0.01 mm/h, 1 mm) to 16-bit integers: far below the
data's own accuracy, and films thinner than 0.5 mm become exact zeros that compress
away (float32 noise does not). ``read_event`` returns float32 in mm/h and m.

Events are written under a hidden temporary name and renamed into place, so a reader
never sees a half-written event and a killed build resumes by skipping finished ones.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path

import numpy as np
import zarr

from floodcast.errors import InputError

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")
STORE_VERSION = 1


RAIN_SCALE = 100.0  # stored units per mm/h
DEPTH_SCALE = 1000.0  # stored units per m
_U16 = np.iinfo(np.uint16).max


def _compressor_kwargs() -> dict:
    # zstd via zarr's default codec pipeline; chunks of one frame keep windows cheap to read
    return {}


def _quantise(a: np.ndarray, scale: float, what: str) -> np.ndarray:
    q = np.rint(np.nan_to_num(np.asarray(a, np.float64), nan=0.0) * scale)
    if q.min() < 0 or q.max() > _U16:
        raise ValueError(f"{what} outside the storable range [0, {_U16 / scale}]")
    return q.astype(np.uint16)


def open_root(path: str | Path, mode: str = "r") -> zarr.Group:
    path = Path(path)
    if mode == "r" and not (path / "zarr.json").exists():
        raise InputError(f"{path}: not a floodcast dataset store (no zarr.json)")
    return zarr.open_group(str(path), mode=mode)


def create(path: str | Path, attrs: dict) -> None:
    """Create the store skeleton (or check an existing one was built with the same settings)."""
    path = Path(path)
    if (path / "zarr.json").exists():
        old = dict(open_root(path).attrs)
        if _settings(old.get("build")) != _settings(attrs.get("build")):
            raise InputError(
                f"{path} exists and was built with other settings; remove it or use another --out"
            )
        # same settings, other event count: plans are drawn in a fixed seeded order, so a
        # store can grow (or be finalised early) by re-running with another --events
        root = zarr.open_group(str(path), mode="r+")
        root.attrs.update({"build": attrs.get("build"), "complete": False})
        clean_stale_tmp(path)
        return
    root = zarr.open_group(str(path), mode="w")
    root.attrs.update({"floodcast_store_version": STORE_VERSION, "complete": False, **attrs})
    for sub in ("dems", "events"):
        (path / sub).mkdir(exist_ok=True)


def _write_group_atomically(final: Path, write) -> None:
    tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        g = zarr.open_group(str(tmp), mode="w")
        write(g)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def clean_stale_tmp(path: str | Path) -> list[Path]:
    """Remove ``.tmp-NAME-PID`` folders of killed writers (their process is gone) from
    ``dems/`` and ``events/``; returns what was removed."""
    removed = []
    for sub in ("dems", "events"):
        d = Path(path) / sub
        for p in d.glob(".tmp-*") if d.is_dir() else []:
            m = re.search(r"-(\d+)$", p.name)
            if m and not _pid_alive(int(m.group(1))):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
    if removed:
        log.warning(
            "removed %d folders left by killed writers: %s",
            len(removed),
            ", ".join(p.name for p in removed),
        )
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _settings(build: dict | None) -> dict:
    """Build settings that must match for a store to be resumed: not the event count, and not
    the split (it only shapes the index, which every build writes again), so a copy of a store
    can be split another way (e.g. ``--test-dem``) without simulating anything again."""
    if not build:
        return {}
    b = json.loads(json.dumps(build))
    for key in ("plans", "split", "split_seed", "test_dems"):
        b.pop(key, None)
    b.get("events", {}).pop("count", None)
    return b


def write_dem(
    path: str | Path,
    dem_id: str,
    elevation: np.ndarray,
    attrs: dict,
    grids: dict[str, np.ndarray] | None = None,
) -> None:
    """Write a DEM group once; ``grids`` are extra per-cell arrays on its grid (e.g. the
    Manning n raster, ``manning``), stored beside ``elevation``."""
    final = Path(path) / "dems" / dem_id
    if final.exists():
        return

    def write(g):
        g.create_array(
            "elevation",
            data=np.asarray(elevation, np.float32),
            chunks=elevation.shape,
            **_compressor_kwargs(),
        )
        for name, grid in (grids or {}).items():
            g.create_array(
                name,
                data=np.asarray(grid, np.float32),
                chunks=elevation.shape,
                **_compressor_kwargs(),
            )
        g.attrs.update(attrs)

    _write_group_atomically(final, write)


def write_event(
    path: str | Path, event_id: str, rain: np.ndarray, depth: np.ndarray, attrs: dict
) -> None:
    """Write one event atomically; rain and depth are [t, y, x] on the DEM grid."""
    if rain.shape != depth.shape:
        raise ValueError(f"event {event_id}: rain {rain.shape} and depth {depth.shape} differ")
    final = Path(path) / "events" / event_id

    def write(g):
        chunks = (1,) + rain.shape[1:]
        g.create_array(
            "rain", data=_quantise(rain, RAIN_SCALE, f"event {event_id} rain"), chunks=chunks
        )
        g.create_array(
            "depth", data=_quantise(depth, DEPTH_SCALE, f"event {event_id} depth"), chunks=chunks
        )
        g.attrs.update(json.loads(json.dumps(attrs, default=str)))

    _write_group_atomically(final, write)


def finished_events(path: str | Path) -> dict[str, dict]:
    """event_id -> attrs of the events fully written (temporary folders are ignored)."""
    ev_dir = Path(path) / "events"
    if not ev_dir.is_dir():
        return {}
    out = {}
    for name in sorted(os.listdir(ev_dir)):
        if name.startswith("."):
            continue
        out[name] = dict(zarr.open_group(str(ev_dir / name), mode="r").attrs)
    return out


def dem_ids(path: str | Path) -> list[str]:
    d = Path(path) / "dems"
    return sorted(n for n in os.listdir(d) if not n.startswith("."))


def read_dem_grid(path: str | Path, dem_id: str, name: str) -> np.ndarray | None:
    """An extra per-cell array of a DEM group (e.g. ``manning``), or None if absent."""
    g = zarr.open_group(str(Path(path) / "dems" / dem_id), mode="r")
    return np.asarray(g[name][:]) if name in g else None


def read_dem(path: str | Path, dem_id: str) -> tuple[np.ndarray, dict]:
    g = zarr.open_group(str(Path(path) / "dems" / dem_id), mode="r")
    return np.asarray(g["elevation"][:]), dict(g.attrs)


def read_event(path: str | Path, event_id: str) -> tuple[np.ndarray, np.ndarray, dict]:
    g = zarr.open_group(str(Path(path) / "events" / event_id), mode="r")
    rain = np.asarray(g["rain"][:], np.float32) / np.float32(RAIN_SCALE)
    depth = np.asarray(g["depth"][:], np.float32) / np.float32(DEPTH_SCALE)
    return rain, depth, dict(g.attrs)


def read_event_attrs(path: str | Path, event_id: str) -> dict:
    return dict(zarr.open_group(str(Path(path) / "events" / event_id), mode="r").attrs)


def write_index(path: str | Path, index: dict[str, np.ndarray], attrs: dict) -> None:
    """Write the sample index and final attributes, then mark the store complete."""
    path = Path(path)
    final = path / "index"
    if final.exists():
        shutil.rmtree(final)

    def write(g):
        for k, v in index.items():
            g.create_array(k, data=np.asarray(v), chunks=(max(len(v), 1),))

    _write_group_atomically(final, write)
    root = zarr.open_group(str(path), mode="r+")
    root.attrs.update(json.loads(json.dumps({**attrs, "complete": True}, default=float)))


def read_index(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    root = open_root(path)
    attrs = dict(root.attrs)
    if not attrs.get("complete"):
        raise InputError(f"{path}: the build did not finish; run the same build command again")
    g = zarr.open_group(str(Path(path) / "index"), mode="r")
    return {k: np.asarray(g[k][:]) for k in g.array_keys()}, attrs


def size_on_disk(path: str | Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def grid_info(path: str | Path) -> dict:
    """Cell sizes (m) of the stored DEMs and radar intervals (s) of the events."""
    cells = sorted({float(read_dem_attrs(path, d)["cell_size"]) for d in dem_ids(path)})
    intervals = sorted({float(a["plan"]["interval_s"]) for a in finished_events(path).values()})
    return {"cell_sizes_m": cells, "intervals_s": intervals}


def read_dem_attrs(path: str | Path, dem_id: str) -> dict:
    return dict(zarr.open_group(str(Path(path) / "dems" / dem_id), mode="r").attrs)


def store_info(path: str | Path, summary: dict) -> dict:
    """What ``floodcast dataset info`` reports of a store: events and samples per split,
    duplicates removed, wet fraction, channels, size on disk against one record per window."""
    size = size_on_disk(path)
    rec = summary["record_per_window_bytes"]
    return {
        "events": summary["events"],
        "events_per_split": {
            s: list(summary["splits"].values()).count(s) for s in ("train", "val", "test")
        },
        "test_dems": summary.get("test_dems", []),
        "samples_total": summary["samples_total"],
        "samples_kept": summary["samples_kept"],
        "duplicates_removed": summary["duplicates_removed"],
        "wet_fraction": summary["wet_fraction"],
        "channels": summary["channels"],
        "threshold_m": summary["spec"]["threshold"],
        "size_on_disk_bytes": size,
        "one_record_per_window_bytes": rec,
        "ratio_vs_records_raw": rec["raw"] / size if size else None,
        "ratio_vs_records_gzip": rec["gzip_estimate"] / size if size else None,
        "warnings": summary.get("warnings", []),
    }
