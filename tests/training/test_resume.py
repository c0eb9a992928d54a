"""train --resume: changed settings refused, a missing checkpoint said, and a killed and
resumed run bit-identical (CPU) to one that never stopped."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch

from floodcast.errors import InputError
from floodcast.training.train import TrainConfig, train


class Kill(Exception):
    """Stands for a kill in the middle of an epoch (after the last checkpoint)."""


def _kill_at(epoch: int, batch: int):
    from lightning.pytorch.callbacks import Callback

    class KillAt(Callback):
        def on_train_batch_start(self, trainer, pl_module, b, batch_idx):
            if trainer.current_epoch == epoch and batch_idx == batch:
                raise Kill

    return KillAt()


def _cfg(data, out, **kw) -> TrainConfig:
    base = {
        "data": str(data),
        "out": str(out),
        "model": "small_unet",
        "epochs": 2,
        "batch_size": 8,
        "lr": 3e-3,
        "formulation": "state",
        "depth_head": True,
        "augment": True,
        "wet_oversample": 1.0,
        "patience": 10,
        "seed": 3,
        "calibrate": False,
        "limit_batches": 0.2,
        "val_fraction": 0.2,
    }
    base.update(kw)
    return TrainConfig(**base)


def _weights(out) -> dict:
    ck = torch.load(out / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    return ck["state_dict"]


@pytest.mark.slow  # ~65 s on 2 busy cores: three short trainings
def test_kill_and_resume_equals_uninterrupted(tiny_store, tmp_path):
    data = tiny_store[0]
    ref = tmp_path / "ref"
    train(_cfg(data, ref), progress=False)
    run = tmp_path / "run"
    with pytest.raises(Kill):
        train(_cfg(data, run), progress=False, extra_callbacks=[_kill_at(1, 1)])
    train(_cfg(data, run, resume=True), progress=False)
    a, b = _weights(ref), _weights(run)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    res = json.loads((run / "train_result.json").read_text())
    assert res["epochs_run"] == 2


def test_resume_refuses_changed_hyperparameters(tiny_store, tmp_path):
    data, out = tiny_store[0], tmp_path / "run"
    cfg = _cfg(data, out, epochs=1)
    train(cfg, progress=False)
    with pytest.raises(InputError, match=r"lr: 0\.003 -> 0\.0001"):
        train(replace(cfg, resume=True, lr=1e-4, epochs=2), progress=False)
    assert json.loads((out / "train_config.json").read_text())["lr"] == 3e-3  # unchanged


def test_resume_without_checkpoint_says_so(tiny_store, tmp_path):
    from floodcast.training.resume import check_resume

    with pytest.warns(UserWarning, match="no checkpoint.*starting afresh"):
        assert check_resume({}, tmp_path) is None
