"""Pushforward training of the autoregressive formulation (tiny generated store)."""

import numpy as np
import pytest
import torch

from floodcast.data.channels import PREV_DEPTH_SCALE_M
from floodcast.data.torchdata import FloodDataset, collate_checked
from floodcast.training.task import FloodTask, encode_prev_depth


def test_history_inputs_are_the_frames_before(tiny_store):
    path = tiny_store[0]
    ds = FloodDataset(path, "train", formulation="autoregressive", pushforward=2)
    plain = FloodDataset(path, "train", formulation="autoregressive")
    k_of = ds.items[:, 1]
    i = int(np.flatnonzero(k_of >= 3)[0])
    s = ds.sample(i)
    e, k, r, c = (int(v) for v in ds.items[i])
    j = int(
        np.flatnonzero(
            (plain.items[:, 0] == e)
            & (plain.items[:, 1] == k - 1)
            & (plain.items[:, 2] == r)
            & (plain.items[:, 3] == c)
        )[0]
    )
    # the last history input is frame k-1's input (its prev_depth channel is replaced later)
    np.testing.assert_array_equal(s["x_hist"][-1][:-1], plain.sample(j)["x"][:-1])
    assert s["hist_valid"].all() and s["x_hist"].shape == (2,) + s["x"].shape
    i0 = int(np.flatnonzero(k_of == 0)[0])  # before the event start: dry and flagged
    s0 = ds.sample(i0)
    assert not s0["hist_valid"].any() and not s0["depth0"].any()
    with pytest.raises(ValueError, match="autoregressive"):
        FloodDataset(path, "train", formulation="state", pushforward=2)


class AddDepth(torch.nn.Module):
    """depth = prev + 0.1 m per step (decoded from the channel), wet logits from it."""

    def forward(self, x):
        prev = torch.expm1(x[:, -1:]) * PREV_DEPTH_SCALE_M
        d = prev + 0.1
        return {"logits": torch.cat([torch.zeros_like(d), d], 1), "depth": d}


def _pushforward_chain(task, ds):
    """Pushforward a batch of samples at frames 1 and 5 (x8) through a model that adds
    0.1 m per step; returns (pushed input, the expected own-rollout channel, batch)."""
    k_of = ds.items[:, 1]
    idx = [int(np.flatnonzero(k_of == k)[0]) for k in (1, 5)]
    batch = collate_checked([ds[i] for i in idx] * 8)
    torch.manual_seed(0)
    x = task._pushforward(batch)
    # own rollout: true depth before the chain + 0.1 m per valid (post-start) step
    own = encode_prev_depth(batch["depth0"] + 0.1 * batch["hist_valid"].sum(1)[:, None, None])
    return x, own, batch


def test_pushforward_feeds_the_models_own_rollout(tiny_store):
    path = tiny_store[0]
    ds = FloodDataset(path, "train", formulation="autoregressive", pushforward=3)
    task = FloodTask(
        model={"name": "small_unet", "in_channels": ds.in_channels, "depth_head": True},
        data={"channels": ds.channels},
        pushforward=3,
    )
    task.model = AddDepth()
    x, own, batch = _pushforward_chain(task, ds)
    replaced = [torch.allclose(x[b, -1], own[b]) for b in range(16)]
    assert 0 < sum(replaced) < 16  # about half of the batch, the rest teacher-forced
    for b in range(16):
        if not replaced[b]:
            assert torch.equal(x[b], batch["x"][b])
        assert torch.equal(x[b, :-1], batch["x"][b, :-1])  # other channels untouched


class AddDelta(torch.nn.Module):
    """A residual depth head: +0.1 m per step, whatever the input."""

    def forward(self, x):
        d = torch.full_like(x[:, -1:], 0.1)
        return {"logits": torch.cat([torch.zeros_like(d), d], 1), "depth": d}


def test_residual_depth_is_previous_plus_increment(tiny_store):
    """--depth-residual: depth = max(prev + head, 0); a rollout of +0.1 m increments gives
    the same chain as the absolute AddDepth model above."""
    path = tiny_store[0]
    ds = FloodDataset(path, "train", formulation="autoregressive", pushforward=3)
    task = FloodTask(
        model={
            "name": "small_unet",
            "in_channels": ds.in_channels,
            "depth_head": True,
            "depth_residual": True,
        },
        data={"channels": ds.channels},
        pushforward=3,
    )
    # the real head is signed (no softplus): zero weights give exactly the previous depth
    x = torch.zeros(2, ds.in_channels, 16, 16)
    x[:, -1] = encode_prev_depth(torch.full((16, 16), 0.3))
    torch.nn.init.zeros_(task.model.depth_head.weight)
    torch.nn.init.constant_(task.model.depth_head.bias, -0.5)
    assert torch.allclose(task.model(x)["depth"], torch.tensor(-0.5))
    assert torch.equal(task._depth(task.model(x), x), torch.zeros(2, 16, 16))  # 0.3 - 0.5 < 0
    torch.nn.init.zeros_(task.model.depth_head.bias)
    assert torch.allclose(task._depth(task.model(x), x), torch.tensor(0.3), atol=1e-6)
    task.model = AddDelta()
    x, own, _ = _pushforward_chain(task, ds)
    replaced = [torch.allclose(x[b, -1], own[b], atol=1e-5) for b in range(16)]
    assert 0 < sum(replaced) < 16


def test_residual_depth_loss_has_gradient_below_zero(tiny_store):
    """A dry cell predicted at -0.2 m (clipped to 0, the right answer) must still pull the
    increment back up, or a cell that should later wet can never recover."""
    ds = FloodDataset(tiny_store[0], "train", formulation="autoregressive")
    task = FloodTask(
        model={"name": "small_unet", "in_channels": ds.in_channels, "depth_residual": True},
        data={"channels": ds.channels},
    )
    x = torch.zeros(1, ds.in_channels, 4, 4)  # previous depth 0
    delta = torch.full((1, 1, 4, 4), -0.2, requires_grad=True)
    loss = task._depth_loss({"depth": delta}, x, torch.zeros(1, 4, 4))
    loss.backward()
    assert loss.item() > 0 and (delta.grad < 0).all()  # descent raises the increment
