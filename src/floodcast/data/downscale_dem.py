"""The coarse DEMs of a store's downscaling pairs: ``dems/<dem_id>/coarse<F>/elevation``,
made once per DEM and factor by the block rule ``--coarse-dem`` ("mean" or "min"), and the
check that a store's pairs all use one rule (see ``floodcast.data.downscale``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zarr

from floodcast.data import store
from floodcast.errors import InputError
from floodcast.simulation.downscale import coarse_dem, coarse_rule


def group_name(factor: int) -> str:
    return f"coarse{int(factor)}"


def coarse_method(attrs: dict) -> str:
    """The coarse DEM rule of a coarse grid's attributes (stores before it: block mean)."""
    return str(attrs.get("coarse_dem", "mean"))


def check_coarse_method(path: Path, dems, facs, method: str) -> None:
    """Refuse (before any run) a store whose coarse grids were made by another rule."""
    coarse_rule(method)
    for did in dems:
        for f in facs:
            if (path / "dems" / did / group_name(f) / "zarr.json").exists():
                have = coarse_method(read_coarse_dem(path, did, f)[1])
                if have != method:
                    raise InputError(
                        f"{path}: DEM {did} x{f} pairs were built with --coarse-dem {have}, "
                        f"not {method}; pass --coarse-dem {have} to add to them, or delete "
                        f"its coarse{f}/ groups (dems/ and events/) to rebuild"
                    )


def event_group_attr(path: Path, eid: str, group: str, key: str, default):
    """Attribute ``key`` of ``events/<eid>/<group>`` (``default`` where it is unset); None
    where the group does not exist (not built yet)."""
    g = path / "events" / eid / group
    if not (g / "zarr.json").exists():
        return None
    return zarr.open_group(str(g), mode="r").attrs.get(key, default)


def check_subgrid_version(path: Path, events, facs, method: str) -> None:
    """Refuse (before any run) sub-grid pairs of another sub-grid solver version than this
    floodcast's (``physics.subgrid_run.SUBGRID_VERSION``; runs before the record: 1)."""
    from floodcast.physics.subgrid_run import SUBGRID_VERSION

    if method != "subgrid":
        return
    for e in events:
        for f in facs:
            have = event_group_attr(path, e, group_name(f), "subgrid_version", 1)
            if have is not None and int(have) != SUBGRID_VERSION:
                raise InputError(
                    f"{path}: event {e} x{f} was run by sub-grid solver version {have}, this "
                    f"floodcast's is {SUBGRID_VERSION}; delete the store's coarse{f}/ groups "
                    "(dems/ and events/) to rebuild them"
                )


def write_coarse_dem(path: Path, did: str, z: np.ndarray, attrs: dict, f: int, method: str) -> None:
    final = path / "dems" / did / group_name(f)
    if final.exists():
        return
    zc = coarse_dem(z, f, f"DEM {did}", method)

    def write(g):
        g.create_array("elevation", data=zc, chunks=zc.shape)
        g.attrs.update(
            {
                "cell_size": float(attrs["cell_size"]) * f,
                "factor": f,
                "fine_cell_size": float(attrs["cell_size"]),
                "method": f"block {method}",
                "coarse_dem": method,
            }
        )

    store._write_group_atomically(final, write)


def read_coarse_dem(path: str | Path, dem_id: str, factor: int) -> tuple[np.ndarray, dict]:
    p = Path(path) / "dems" / dem_id / group_name(factor)
    if not (p / "zarr.json").exists():
        raise InputError(
            f"{path}: DEM {dem_id} has no x{factor} coarse grid; run "
            f"`floodcast downscale pairs {path} --coarsen {factor}`"
        )
    g = zarr.open_group(str(p), mode="r")
    return np.asarray(g["elevation"][:]), dict(g.attrs)
