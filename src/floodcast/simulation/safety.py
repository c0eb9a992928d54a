"""Guards of the simulate job: memory checked up front, stale staging folders cleaned,
and the outputs committed with one rename.

* :func:`check_memory` estimates what a run keeps in memory (every saved depth grid,
  the save and mass-balance records) before it starts, and refuses a run that cannot
  fit with the figure and what to change;
* :func:`clean_stale` removes staging folders left by killed runs (their process is
  gone);
* :func:`commit` puts a finished staging folder in place of the output folder in one
  step: an atomic exchange of the two folders (Linux ``renameat2``), so a reader or a
  kill sees either the previous outputs or the new set, never a mix.
"""

from __future__ import annotations

import ctypes
import math
import os
import re
import shutil
from pathlib import Path

from floodcast.errors import InputError

STAGE_PREFIX = ".simulate-tmp-"
SAVE_RECORD_BYTES = 200  # a save time in the list, the set and the result (measured ~170)
MASS_RECORD_BYTES = 450  # one MassRecord dataclass in the result's list
MEMORY_FRACTION = 0.5  # refuse runs needing more than this share of the available memory
_RENAME_EXCHANGE = 2


def estimate_bytes(
    duration_s: float, save_every_s: float, cells: int, mass_every_s: float = 60.0
) -> int:
    """Bytes a run keeps until it is written: saved float32 depth grids (the solver's
    array and the masked copy written out) and the per-save and mass records."""
    saves = math.floor(duration_s / save_every_s + 1e-9) + 1
    masses = math.floor(duration_s / min(save_every_s, mass_every_s)) + 1
    return saves * (cells * 4 * 2 + SAVE_RECORD_BYTES) + masses * MASS_RECORD_BYTES


def available_bytes() -> int | None:
    """Memory available to a new allocation (``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def check_memory(
    duration_s: float, save_every_s: float, shape: tuple[int, ...], available: int | None = None
) -> int:
    """The estimate; InputError if it exceeds ``MEMORY_FRACTION`` of the available memory."""
    cells = int(math.prod(shape))
    need = estimate_bytes(duration_s, save_every_s, cells)
    avail = available_bytes() if available is None else available
    if avail is not None and need > MEMORY_FRACTION * avail:
        saves = math.floor(duration_s / save_every_s + 1e-9) + 1
        raise InputError(
            f"this run would keep {saves:,} saves of {shape[0]} x {shape[1]} cells in memory: "
            f"{need / 2**30:.2f} GiB, more than half of the {avail / 2**30:.2f} GiB "
            "available; use a larger --save-every or a shorter --duration"
        )
    return need


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stage_name(out: Path) -> Path:
    """The staging folder of this process for ``out`` (beside it, hidden)."""
    return out.parent / f".{out.name}{STAGE_PREFIX}{os.getpid()}"


def clean_stale(out: Path) -> list[Path]:
    """Remove staging folders of ``out`` whose process is gone; returns what was removed.

    Covers both layouts: ``.OUT.simulate-tmp-PID`` beside the folder and the older
    ``OUT/.simulate-tmp-*`` inside it (no PID: always stale once no run holds it)."""
    removed = []
    pat = re.compile(re.escape(f".{out.name}{STAGE_PREFIX}") + r"(\d+)$")
    for p in out.parent.glob(f".{out.name}{STAGE_PREFIX}*") if out.parent.is_dir() else []:
        m = pat.match(p.name)
        if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    for p in out.glob(f"{STAGE_PREFIX}*") if out.is_dir() else []:
        m = re.search(r"-(\d+)$", p.name)
        if not (m and _pid_alive(int(m.group(1)))):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if rc != 0:
        err = ctypes.get_errno()
        if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this filesystem cannot
            return False
        raise OSError(err, os.strerror(err), str(b))
    return True


def commit(stage: Path, out: Path) -> None:
    """Put the folder ``stage`` in place of ``out`` in one step; ``stage`` is gone after."""
    if not out.exists():
        os.replace(stage, out)
        return
    if _exchange(stage, out):  # stage now holds the previous outputs
        shutil.rmtree(stage, ignore_errors=True)
        return
    old = out.with_name(f".{out.name}.simulate-old-{os.getpid()}")
    os.replace(out, old)  # fallback: two renames (a kill between leaves OUT missing)
    os.replace(stage, out)
    shutil.rmtree(old, ignore_errors=True)
