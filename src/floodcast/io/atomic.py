"""Atomic writes: build under a temporary name beside the target, then rename.

Readers never see a half-written file or folder, and a failed run leaves nothing.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(
    target: str | os.PathLike, suffix: str | None = None, durable: bool = False
) -> Iterator[Path]:
    """Yield a temporary file path in the target's folder; rename onto target on success.

    The temporary name keeps the target's suffix (``suffix`` overrides it) so writers
    that pick a format by extension (rasterio, xarray) still work. With ``durable`` the
    file and the folder are fsynced, so after a power cut the target is either the old
    or the new content, never empty (state files).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.",
        suffix=suffix if suffix is not None else target.suffix,
        dir=target.parent,
    )
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes 0600 files; outputs should get the usual permissions (umask)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        if durable:
            _fsync(tmp_path)
        os.replace(tmp_path, target)
        if durable:
            _fsync(target.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def set_aside(path: str | os.PathLike) -> Path:
    """Rename a damaged file to ``NAME.damaged-N`` (first free N) and return the new path,
    so a fresh start never destroys what might be recovered by hand."""
    path = Path(path)
    n = 1
    while (kept := path.with_name(f"{path.name}.damaged-{n}")).exists():
        n += 1
    os.replace(path, kept)
    return kept


@contextmanager
def atomic_dir(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success it replaces ``target``.

    An existing ``target`` is removed only after the new content is complete.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_writable(folder: str | os.PathLike) -> Path:
    """Fail early (before any computing) when ``folder`` cannot be created or written."""
    folder = Path(folder)
    probe_parent = (
        folder if folder.exists() else next((p for p in folder.parents if p.exists()), Path("."))
    )
    if folder.exists() and not folder.is_dir():
        raise OSError(f"output path {folder} exists and is not a folder")
    if not os.access(probe_parent, os.W_OK | os.X_OK):
        raise OSError(
            f"output folder {folder} cannot be written (no write permission on {probe_parent})"
        )
    return folder
