"""CBAM keeps the shape and only rescales features by attention weights in (0, 1)."""

from __future__ import annotations

import torch

from floodcast.models import CBAM


def test_cbam_shape_and_range():
    torch.manual_seed(0)
    cbam = CBAM(16, reduction=4)
    x = torch.rand(2, 16, 9, 11) + 0.1
    y = cbam(x)
    assert y.shape == x.shape
    ratio = y / x  # channel weight x spatial weight, each a sigmoid
    assert ((ratio > 0) & (ratio < 1)).all()
    assert torch.equal(cbam(torch.zeros(1, 16, 4, 4)), torch.zeros(1, 16, 4, 4))


def test_cbam_channel_weights_are_per_channel():
    cbam = CBAM(8, reduction=2)
    w = cbam.channel(torch.randn(3, 8, 5, 5))
    assert w.shape == (3, 8, 1, 1)
    assert cbam.spatial(torch.randn(3, 8, 5, 5)).shape == (3, 1, 5, 5)
