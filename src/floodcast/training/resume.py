"""``train --resume``: the same run continued, or a clear refusal.

* :func:`check_resume` compares the settings given now with the run's
  ``train_config.json``: only settings that do not change what is learned (more
  ``--epochs``, time limit, workers, devices, notifications) may differ; anything else
  is refused, listing each difference, so ``train_config.json`` always records what
  really ran. ``--resume`` with no checkpoint says so and starts afresh.
* :class:`RngState` stores the torch, numpy and Python RNG states in every checkpoint
  and puts them back at the start of the next epoch after a resume; with the
  sampler's epoch restored from the trainer (``EventBlockSampler.set_epoch``), a
  killed and resumed run trains exactly as one that never stopped (bit-identical
  weights on CPU, tested).
"""

from __future__ import annotations

import json
import logging
import random
import warnings
from pathlib import Path

import numpy as np
import torch

from floodcast.errors import InputError

log = logging.getLogger(__name__)
# settings that may change on --resume: how long or where it runs, not what it learns
MAY_CHANGE = {
    "resume",
    "epochs",
    "max_minutes",
    "notify",
    "workers",
    "accelerator",
    "devices",
    "num_nodes",
    "strategy",
}


def check_resume(settings: dict, out: Path) -> Path | None:
    """The checkpoint to resume from, or None (fresh start, said with a warning).

    Raises:
        InputError: a setting that shapes the model differs from the resumed run's.
    """
    last = Path(out) / "checkpoints" / "last.ckpt"
    if not last.exists():
        msg = (
            f"--resume: no checkpoint {last} (the run stopped before its first epoch "
            "ended, or never ran); starting afresh"
        )
        log.warning(msg)
        warnings.warn(msg, UserWarning, stacklevel=2)
        return None
    saved_path = Path(out) / "train_config.json"
    try:
        saved = json.loads(saved_path.read_text()) if saved_path.exists() else None
    except ValueError:  # written atomically now; an older run may have left it cut short
        log.warning("--resume: %s is unreadable; settings not compared", saved_path)
        saved = None
    if saved is not None:
        now = json.loads(json.dumps(settings, default=str))
        diff = [
            f"{k}: {saved.get(k)!r} -> {now.get(k)!r}"
            for k in sorted(set(saved) | set(now))
            if k not in MAY_CHANGE and saved.get(k) != now.get(k)
        ]
        if diff:
            raise InputError(
                f"--resume: these settings differ from the run in {out} "
                f"({saved_path.name}): {'; '.join(diff)}. Resume with the same options "
                f"(e.g. --config {saved_path} --resume; only --epochs, --max-minutes, "
                "--workers, devices and --notify may change), or train into a new --out"
            )
    return last


def _np_state() -> dict:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "name": name,
        "keys": torch.from_numpy(np.asarray(keys, np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached": float(cached),
    }


def _set_np_state(s: dict) -> None:
    np.random.set_state(
        (s["name"], s["keys"].numpy().astype(np.uint32), s["pos"], s["has_gauss"], s["cached"])
    )


try:
    from lightning.pytorch.callbacks import Callback
    from lightning.pytorch.plugins.io import TorchCheckpointIO
except ImportError:  # pragma: no cover  (Lightning is optional for plain-torch users)
    Callback = TorchCheckpointIO = object


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file, fsynced, then renamed: a kill while
    saving leaves the previous ``last.ckpt`` whole (Lightning writes in place)."""

    def save_checkpoint(self, checkpoint, path, storage_options=None) -> None:
        from floodcast.io.atomic import atomic_path

        with atomic_path(path, durable=True) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


class RngState(Callback):
    """Checkpoint the RNG states; restore them when the resumed run's next epoch starts
    (not at load: Lightning's sanity validation may run in between)."""

    def __init__(self):
        self._pending: dict | None = None

    def state_dict(self) -> dict:
        return {
            "torch": torch.get_rng_state(),
            "numpy": _np_state(),
            "python": list(random.getstate()[1]),
            "python_version": random.getstate()[0],
            "python_gauss": random.getstate()[2],
        }

    def load_state_dict(self, state: dict) -> None:
        self._pending = state

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        s, self._pending = self._pending, None
        if s is None:
            return
        torch.set_rng_state(s["torch"])
        _set_np_state(s["numpy"])
        random.setstate((s["python_version"], tuple(s["python"]), s["python_gauss"]))
