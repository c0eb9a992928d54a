"""Losses: values pinned by hand on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch

from floodcast.training.losses import LOSSES, build_loss


def _logits(p_wet: float, shape=(1, 2, 2)) -> torch.Tensor:
    """Two-class logits whose softmax gives wet probability ``p_wet`` everywhere."""
    z = math.log(p_wet / (1 - p_wet))
    out = torch.zeros(shape[0], 2, *shape[1:])
    out[:, 1] = z
    return out


def test_registry():
    assert set(LOSSES) == {"ce", "bce", "dice", "ce_dice", "focal"}
    with pytest.raises(ValueError, match="valid are: bce, ce, ce_dice, dice, focal"):
        build_loss("lovasz")
    with pytest.raises(ValueError, match="does not take.*'gamma'"):
        build_loss("ce", gamma=2.0)


@pytest.mark.parametrize("name", ["ce", "bce"])
def test_uniform_logits_cost_ln2(name):
    target = torch.tensor([[[0, 1], [1, 1]]])
    assert build_loss(name)(torch.zeros(1, 2, 2, 2), target).item() == pytest.approx(math.log(2))


def test_ce_hand_value_and_class_weights():
    # p_wet = 3/4 everywhere; one dry and one wet pixel
    logits, target = _logits(0.75, (1, 1, 2)), torch.tensor([[[0, 1]]])
    dry, wet = math.log(4), math.log(4 / 3)
    assert build_loss("ce")(logits, target).item() == pytest.approx((dry + wet) / 2)
    weighted = build_loss("ce", class_weights=[1.0, 3.0])(logits, target).item()
    assert weighted == pytest.approx((dry + 3 * wet) / 4)  # torch's weighted mean
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 3.0]))(logits, target)
    assert weighted == pytest.approx(ref.item())


def test_bce_two_logits_equals_one_logit_difference():
    torch.manual_seed(0)
    logits, target = torch.randn(2, 2, 5, 5), torch.randint(0, 2, (2, 5, 5))
    one = (logits[:, 1] - logits[:, 0])[:, None]
    loss = build_loss("bce", class_weights=[1.0, 2.0])
    assert loss(logits, target).item() == pytest.approx(loss(one, target).item(), rel=1e-6)
    # with two logits BCE on the wet logit is CE
    assert build_loss("bce")(logits, target).item() == pytest.approx(
        build_loss("ce")(logits, target).item(), rel=1e-5
    )


def test_dice_values():
    target = torch.tensor([[[1, 1], [0, 0]]])
    dice = build_loss("dice")
    perfect = (
        torch.where(target.bool(), 20.0, -20.0)[:, None] * torch.tensor([-1.0, 1.0])[:, None, None]
    )
    assert dice(perfect.reshape(1, 2, 2, 2), target).item() == pytest.approx(0.0, abs=1e-6)
    # p = 1/2: I = 1, P = 2, T = 2 -> 1 - (2 + 1) / (2 + 2 + 1) = 0.4
    assert dice(torch.zeros(1, 2, 2, 2), target).item() == pytest.approx(0.4)
    # all dry, predicted all dry: 0 with smooth = 1 (no 0/0)
    dry = torch.zeros(1, 2, 2, dtype=torch.long)
    assert dice(_logits(1e-9), dry).item() == pytest.approx(0.0, abs=1e-6)


def test_ce_dice_is_the_sum():
    torch.manual_seed(1)
    logits, target = torch.randn(2, 2, 4, 4), torch.randint(0, 2, (2, 4, 4))
    total = build_loss()(logits, target)
    parts = build_loss("ce")(logits, target) + build_loss("dice")(logits, target)
    assert total.item() == pytest.approx(parts.item())
    half = build_loss("ce_dice", dice_weight=0.5)(logits, target)
    assert half.item() == pytest.approx(
        (build_loss("ce")(logits, target) + 0.5 * build_loss("dice")(logits, target)).item()
    )


def test_focal():
    torch.manual_seed(2)
    logits, target = torch.randn(2, 2, 4, 4) * 3, torch.randint(0, 2, (2, 4, 4))
    for w in (None, [0.3, 0.7]):
        ce = build_loss("ce", class_weights=w)(logits, target)
        assert build_loss("focal", class_weights=w, gamma=0.0)(
            logits, target
        ).item() == pytest.approx(ce.item(), rel=1e-6)
    # p_t = 3/4: (1/4)^2 * ln(4/3)
    value = build_loss("focal", gamma=2.0)(_logits(0.75, (1, 1, 1)), torch.ones(1, 1, 1).long())
    assert value.item() == pytest.approx(0.0625 * math.log(4 / 3))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_valid_mask_and_ignore_index(name):
    torch.manual_seed(3)
    logits = torch.randn(2, 2, 6, 6, requires_grad=True)
    target = torch.randint(0, 2, (2, 6, 6))
    valid = torch.ones(2, 6, 6, dtype=torch.bool)
    valid[:, :3] = False
    loss = build_loss(name)
    base = loss(logits, target, valid)
    changed = logits.detach().clone()
    changed[:, :, :3] = 100.0  # masked pixels must not matter
    assert loss(changed, target, valid).item() == pytest.approx(base.item(), rel=1e-6)
    ignored = target.clone()
    ignored[:, :3] = -100
    assert loss(logits, ignored).item() == pytest.approx(base.item(), rel=1e-6)
    empty = loss(logits, target, torch.zeros_like(valid))
    assert torch.isfinite(empty)
    empty.backward()
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradients_are_finite_even_for_confident_logits(name):
    logits = (torch.randn(1, 2, 4, 4) * 50).requires_grad_()
    build_loss(name, class_weights=[1.0, 2.0])(logits, torch.randint(0, 2, (1, 4, 4))).backward()
    assert torch.isfinite(logits.grad).all()


def test_target_errors_say_how_to_fix():
    loss, logits = build_loss(), torch.zeros(2, 2, 4, 4)
    with pytest.raises(ValueError, match=r"squeeze\(1\)"):
        loss(logits, torch.zeros(2, 1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\.long\(\)"):
        loss(logits, torch.zeros(2, 4, 4))
    with pytest.raises(ValueError, match="does not match logits"):
        loss(logits, torch.zeros(2, 4, 5, dtype=torch.long))
    with pytest.raises(ValueError, match="3 class weights for 2 classes"):
        build_loss("ce", class_weights=[1, 1, 1])(logits, torch.zeros(2, 4, 4, dtype=torch.long))
