"""Solver state files for hot starts, with a fingerprint of the DEM and solver settings.

A state file is an ``.npz`` holding ``Simulation.state_dict()`` arrays (keys prefixed
``phys_``), a ``fingerprint`` string and a JSON ``meta`` string (e.g. the time of the last
observed radar frame the state has taken in). The fingerprint hashes the DEM as the solver sees
it (after sink filling), the cell size, every solver setting that changes the result, the
boundaries and :data:`STATE_VERSION`, so a state from another DEM, other settings or an
incompatible solver version is refused instead of silently mixed in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.atomic import atomic_path

#: Bump when the meaning of the solver state changes (array layout, units, scheme).
STATE_VERSION = 1


def fingerprint(
    elevation: np.ndarray, cell_size: float, config, boundaries, solver: str = ""
) -> str:
    """Hex digest identifying (DEM, cell size, solver settings, boundaries, state version);
    ``solver`` names a solver other than the main one (``"subgrid"``: its states differ)."""
    h = hashlib.sha1()
    z = np.ascontiguousarray(np.asarray(elevation, np.float32))
    h.update(str(z.shape).encode())
    h.update(np.nan_to_num(z, nan=-9999.0).tobytes())
    h.update(repr(float(cell_size)).encode())
    for f in dataclasses.fields(config):
        v = getattr(config, f.name)
        if f.name == "max_mass_error":  # a check, not a setting that changes the state
            continue
        if isinstance(v, np.ndarray):
            v = hashlib.sha1(np.ascontiguousarray(v, np.float64).tobytes()).hexdigest()
        h.update(f"{f.name}={v!r};".encode())
    h.update(str(boundaries).encode())
    h.update(f"v{STATE_VERSION}".encode())
    if solver:  # empty for the main solver: its fingerprints stay as they were
        h.update(f"solver={solver}".encode())
    return h.hexdigest()[:20]


def save_state(path: str | Path, state: dict, fp: str, meta: dict | None = None) -> Path:
    """Write ``state`` (a ``state_dict``) with its fingerprint atomically to ``path`` (.npz)."""
    arrays = {f"phys_{k}": np.asarray(v) for k, v in state.items()}
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh,
            fingerprint=np.array(fp),
            meta=np.array(json.dumps(meta or {}, default=str)),
            **arrays,
        )
    return Path(path)


def load_state(path: str | Path, expected_fp: str, option: str = "--state") -> tuple[dict, dict]:
    """(state_dict, meta) from a state file; InputError naming ``option`` when the file is
    unreadable, not a state file, or was written for another DEM / solver setup."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(f"{option} {p}: cannot read a state file ({exc})") from exc
    if "fingerprint" not in data or "phys_h" not in data:
        raise InputError(f"{option} {p}: not a floodcast state file (no fingerprint / depth)")
    fp = str(data["fingerprint"])
    if fp != expected_fp:
        raise InputError(
            f"{option} {p}: written for another DEM, solver settings or state "
            f"version (fingerprint {fp} != {expected_fp}); spin up instead"
        )
    state = {
        k[5:]: (
            np.asarray(v)
            if np.ndim(v)
            else str(v)
            if np.asarray(v).dtype.kind in "US"
            else float(v)
        )
        for k, v in data.items()
        if k.startswith("phys_")
    }
    meta = json.loads(str(data["meta"])) if "meta" in data else {}
    return state, meta
