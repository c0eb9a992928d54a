"""Segmentation losses for wet/dry maps, by name: ce, bce, dice, ce_dice (default), focal.

Every loss is called as ``loss(logits, target, valid=None)``:
    logits  [B, K, H, W]  raw scores (K = 2; ``bce`` also takes K = 1, a single wet logit)
    target  [B, H, W]     int64 class index (0 dry, 1 wet)
    valid   [B, H, W]     optional bool mask; False pixels (and ``ignore_index``) do not count
and returns a scalar. Means are over valid pixels of the whole batch; with class weights
w they are ``sum(w[t] * l) / sum(w[t])``, as ``torch.nn.CrossEntropyLoss`` does, so a
weighted loss stays on the same scale as the unweighted one. With no valid pixel the
loss is 0 (with a graph), never NaN.

The wet probability is ``softmax(logits)[:, 1]`` throughout (for K = 2 that equals
``sigmoid(logits[:, 1] - logits[:, 0])``), the same as ``FloodModel.predict_proba``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LOSSES: dict[str, type[nn.Module]] = {}


def register_loss(name: str) -> Callable:
    def deco(cls: type[nn.Module]) -> type[nn.Module]:
        LOSSES[name] = cls
        return cls

    return deco


class _PixelLoss(nn.Module):
    """Shared input checks, masking and class weighting."""

    def __init__(self, class_weights: list[float] | None = None, ignore_index: int = -100):
        super().__init__()
        w = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
        if w is not None and (w.ndim != 1 or (w < 0).any() or w.sum() <= 0):
            raise ValueError(f"class_weights must be non-negative per class, got {class_weights}")
        self.register_buffer("class_weights", w, persistent=False)
        self.ignore_index = ignore_index

    def _prepare(self, logits: Tensor, target: Tensor, valid: Tensor | None):
        """Check shapes; return (target with ignored pixels set to 0, bool mask)."""
        if logits.ndim != 4:
            raise ValueError(f"logits must be [B, K, H, W]; got {tuple(logits.shape)}")
        if target.ndim == 4 and target.shape[1] == 1:
            raise ValueError(
                f"target must be [B, H, W]; got {tuple(target.shape)} - use target.squeeze(1)"
            )
        if target.shape != logits.shape[:1] + logits.shape[2:]:
            raise ValueError(
                f"target {tuple(target.shape)} does not match logits "
                f"{tuple(logits.shape)}: expected [B, H, W] = "
                f"{tuple(logits.shape[:1] + logits.shape[2:])}"
            )
        if target.is_floating_point():
            raise ValueError(
                f"target must hold class indices (int64), got {target.dtype} - "
                "use (depth > threshold).long()"
            )
        mask = target != self.ignore_index
        if valid is not None:
            if valid.shape != target.shape:
                raise ValueError(f"valid mask {tuple(valid.shape)} != target {tuple(target.shape)}")
            mask = mask & valid.bool()
        target = torch.where(mask, target, torch.zeros_like(target)).long()
        k = max(logits.shape[1], 2)
        if self.class_weights is not None and len(self.class_weights) != k:
            raise ValueError(f"{len(self.class_weights)} class weights for {k} classes")
        return target, mask

    def _pixel_weights(self, target: Tensor, mask: Tensor) -> Tensor:
        w = mask.float()
        if self.class_weights is not None:
            w = w * self.class_weights.to(target.device)[target]
        return w

    @staticmethod
    def _weighted_mean(loss: Tensor, w: Tensor) -> Tensor:
        den = w.sum()
        if den <= 0:
            return (loss * 0.0).sum()  # keep the graph, avoid 0/0
        return (loss * w).sum() / den


@register_loss("ce")
class CrossEntropyLoss(_PixelLoss):
    """Softmax cross-entropy."""

    def forward(self, logits: Tensor, target: Tensor, valid: Tensor | None = None) -> Tensor:
        target, mask = self._prepare(logits, target, valid)
        ce = F.cross_entropy(logits, target, reduction="none")
        return self._weighted_mean(ce, self._pixel_weights(target, mask))


def wet_logit(logits: Tensor) -> Tensor:
    """``[B, H, W]`` logit of the wet class: l1 - l0 for two classes, l0 for one."""
    if logits.shape[1] == 1:
        return logits[:, 0]
    if logits.shape[1] == 2:
        return logits[:, 1] - logits[:, 0]
    raise ValueError(f"binary losses need 1 or 2 logit channels, got {logits.shape[1]}")


def wet_probability(logits: Tensor) -> Tensor:
    """``[B, H, W]`` wet probability (softmax[:, 1]; sigmoid for one channel)."""
    return torch.sigmoid(wet_logit(logits))


@register_loss("bce")
class BinaryCrossEntropyLoss(_PixelLoss):
    """Binary CE on the wet logit; class weights are (dry, wet)."""

    def forward(self, logits: Tensor, target: Tensor, valid: Tensor | None = None) -> Tensor:
        target, mask = self._prepare(logits, target, valid)
        bce = F.binary_cross_entropy_with_logits(
            wet_logit(logits), target.float(), reduction="none"
        )
        return self._weighted_mean(bce, self._pixel_weights(target, mask))


@register_loss("dice")
class DiceLoss(_PixelLoss):
    """Soft Dice on the wet probability over the whole batch: 1 - (2 I + s) / (P + T + s).

    Batch-level (not per sample) so all-dry samples do not dominate; ``smooth`` = 1 makes
    an all-dry target with an all-dry prediction a zero loss. Class weights do not apply.
    """

    def __init__(
        self,
        class_weights: list[float] | None = None,
        ignore_index: int = -100,
        smooth: float = 1.0,
    ):
        super().__init__(class_weights, ignore_index)
        self.smooth = smooth

    def forward(self, logits: Tensor, target: Tensor, valid: Tensor | None = None) -> Tensor:
        target, mask = self._prepare(logits, target, valid)
        p = wet_probability(logits) * mask
        t = target.float() * mask
        inter = (p * t).sum()
        return 1.0 - (2.0 * inter + self.smooth) / (p.sum() + t.sum() + self.smooth)


@register_loss("ce_dice")
class CEDiceLoss(nn.Module):
    """``ce_weight * CE + dice_weight * Dice`` (the default)."""

    def __init__(
        self,
        class_weights: list[float] | None = None,
        ignore_index: int = -100,
        smooth: float = 1.0,
        ce_weight: float = 1.0,
        dice_weight: float = 1.0,
    ):
        super().__init__()
        self.ce = CrossEntropyLoss(class_weights, ignore_index)
        self.dice = DiceLoss(None, ignore_index, smooth)
        self.ce_weight, self.dice_weight = ce_weight, dice_weight

    def forward(self, logits: Tensor, target: Tensor, valid: Tensor | None = None) -> Tensor:
        return self.ce_weight * self.ce(logits, target, valid) + self.dice_weight * self.dice(
            logits, target, valid
        )


@register_loss("focal")
class FocalLoss(_PixelLoss):
    """Focal loss (Lin et al., 2017): -(1 - p_t)^gamma log p_t; gamma = 0 is CE.

    Class weights play the role of alpha and are normalised like CE's.
    """

    def __init__(
        self, class_weights: list[float] | None = None, ignore_index: int = -100, gamma: float = 2.0
    ):
        super().__init__(class_weights, ignore_index)
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = gamma

    def forward(self, logits: Tensor, target: Tensor, valid: Tensor | None = None) -> Tensor:
        target, mask = self._prepare(logits, target, valid)
        logp_t = F.log_softmax(logits, dim=1).gather(1, target[:, None])[:, 0]
        if self.gamma == 0:  # skip 0 ** 0, whose gradient is NaN where p_t == 1
            focal = -logp_t
        else:
            focal = -((1.0 - logp_t.exp()).clamp(min=1e-12) ** self.gamma) * logp_t
        return self._weighted_mean(focal, self._pixel_weights(target, mask))


def build_loss(name: str = "ce_dice", class_weights: list[float] | None = None, **kw) -> nn.Module:
    """A loss by name.

    Args:
        name: one of ``LOSSES`` (ce, bce, dice, ce_dice, focal).
        class_weights: per-class weights (dry, wet), e.g. inverse frequencies.
        **kw: loss options: ``ignore_index``; ``smooth`` (dice, ce_dice); ``gamma``
            (focal); ``ce_weight``, ``dice_weight`` (ce_dice).

    Raises:
        ValueError: unknown name or option; the message lists the valid ones.
    """
    key = name.lower().replace("-", "_").replace("+", "_")
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid are: {', '.join(sorted(LOSSES))}")
    cls = LOSSES[key]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "class_weights"}
    bad = sorted(set(kw) - accepted)
    if bad:
        raise ValueError(f"loss {key!r} does not take {bad}; it takes {sorted(accepted)}")
    return cls(class_weights=class_weights, **kw)
