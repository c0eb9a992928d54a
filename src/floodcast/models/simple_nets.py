"""Baseline architectures: the author's two other candidates and a tiny CPU U-Net.

- ``autoencoder``: an smp/timm encoder (ConvNeXt in the original: ``tu-convnext_atto``)
  -> 1x1 bottleneck -> upsampling blocks, with NO skip connections: only the deepest
  feature map reaches the decoder, so fine detail must pass through the bottleneck.
- ``centre_pixel``: a classifier of a P x P patch's centre pixel, written fully
  convolutionally: valid (unpadded) 3x3 convs whose dilations sum to (P - 1) / 2 shrink
  a P x P patch to one pixel, so running them over a grid padded by (P - 1) / 2 gives
  every pixel's patch classification in one pass (no unfolding, no recomputation of
  shared neighbourhoods). ``FloodModel.forward_patches`` is the patch form.
- ``small_unet`` (alias ``tiny``): plain conv U-Net, 16 channels wide, fast on CPU,
  for tests, demos and serving on small machines.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from floodcast.errors import InputError
from floodcast.models.registry import ModelConfig, Parts, register
from floodcast.models.smp_models import smp_encoder


def conv_bn_relu(cin: int, cout: int, k: int = 3, dilation: int = 1, pad: bool = True):
    padding = dilation * (k // 2) if pad else 0
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=padding, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


# --- autoencoder -------------------------------------------------------------------


class DeepestFeature(nn.Module):
    """Runs an encoder and keeps only its last feature map (this is what drops the skips)."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        self.encoder = encoder

    def forward(self, x: Tensor) -> list[Tensor]:
        return [self.encoder(x)[-1]]


class UpsamplingDecoder(nn.Module):
    """1x1 bottleneck, then ``n_up`` x (bilinear x2 -> conv-BN-ReLU), halving width."""

    def __init__(self, in_channels: int, bottleneck: int, n_up: int, min_channels: int = 16):
        super().__init__()
        self.bottleneck = conv_bn_relu(in_channels, bottleneck, k=1)
        blocks, c = [], bottleneck
        for _ in range(n_up):
            nxt = max(c // 2, min_channels)
            blocks.append(
                nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                    conv_bn_relu(c, nxt),
                )
            )
            c = nxt
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = c

    def forward(self, features: list[Tensor]) -> Tensor:
        return self.blocks(self.bottleneck(features[-1]))


@register("autoencoder")
def autoencoder(cfg: ModelConfig) -> Parts:
    """Encoder-decoder without skip connections; ``decoder_channels`` = bottleneck width."""
    enc = smp_encoder(cfg)
    deepest = enc.out_channels[-1]
    if deepest == 0:  # convnext encoders have no stride-2 stage
        raise InputError(
            f"encoder {cfg.encoder} at encoder_depth={cfg.encoder_depth} has no "
            "features; use encoder_depth >= 2"
        )
    stride = enc.output_stride
    dec = UpsamplingDecoder(deepest, cfg.decoder_channels or 256, n_up=stride.bit_length() - 1)
    return Parts(
        encoder=DeepestFeature(enc),
        decoder=dec,
        feature_channels=dec.out_channels,
        output_stride=stride,
        head_kernel=1,
    )


# --- centre-pixel classifier ----------------------------------------------------------


def patch_dilations(patch_size: int) -> list[int]:
    """Dilations 1, 2, 4, ... (last one trimmed) summing to (patch_size - 1) / 2."""
    remaining, d, out = (patch_size - 1) // 2, 1, []
    while remaining > 0:
        out.append(min(d, remaining))
        remaining -= out[-1]
        d *= 2
    return out


class PatchEncoder(nn.Module):
    """Valid dilated 3x3 convs: a P x P patch -> 1 x 1; a padded grid -> the grid."""

    def __init__(self, in_channels: int, width: int, patch_size: int):
        super().__init__()
        self.patch_size = patch_size
        self.radius = (patch_size - 1) // 2
        layers, c = [], in_channels
        for d in patch_dilations(patch_size):
            layers.append(conv_bn_relu(c, width, dilation=d, pad=False))
            c = width
        self.body = nn.Sequential(*layers)
        self.out_channels = width

    def forward(self, x: Tensor, pad: bool = True) -> list[Tensor]:
        if pad:
            r = self.radius
            mode = "reflect" if r < min(x.shape[-2:]) else "replicate"
            x = F.pad(x, (r, r, r, r), mode=mode)
        return [self.body(x)]


class PixelMLP(nn.Module):
    """The classifier's fully-connected layers, as 1x1 convs (one MLP per pixel)."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.mlp = conv_bn_relu(channels, hidden, k=1)
        self.out_channels = hidden

    def forward(self, features: list[Tensor]) -> Tensor:
        return self.mlp(features[-1])


@register("centre_pixel", "center_pixel")
def centre_pixel(cfg: ModelConfig) -> Parts:
    """Centre-pixel classifier over ``patch_size`` neighbourhoods; width ``decoder_channels``."""
    width = cfg.decoder_channels or 32
    enc = PatchEncoder(cfg.in_channels, width, cfg.patch_size)
    dec = PixelMLP(width, 2 * width)
    return Parts(
        encoder=enc,
        decoder=dec,
        feature_channels=dec.out_channels,
        output_stride=1,
        head_kernel=1,
        allows_cbam=False,
    )


# --- small U-Net ------------------------------------------------------------------------


class SmallUNetEncoder(nn.Module):
    """Double-conv stages, max-pooling between them; returns every stage's output."""

    def __init__(self, in_channels: int, widths: list[int]):
        super().__init__()
        stages, c = [], in_channels
        for i, w in enumerate(widths):
            pool = [nn.MaxPool2d(2)] if i > 0 else []
            stages.append(nn.Sequential(*pool, conv_bn_relu(c, w), conv_bn_relu(w, w)))
            c = w
        self.stages = nn.ModuleList(stages)

    def forward(self, x: Tensor) -> list[Tensor]:
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


class SmallUNetDecoder(nn.Module):
    """Upsample, concatenate the skip, double-conv; ends at full resolution."""

    def __init__(self, widths: list[int]):
        super().__init__()
        self.blocks = nn.ModuleList(
            nn.Sequential(
                conv_bn_relu(widths[i] + widths[i - 1], widths[i - 1]),
                conv_bn_relu(widths[i - 1], widths[i - 1]),
            )
            for i in range(len(widths) - 1, 0, -1)
        )

    def forward(self, features: list[Tensor]) -> Tensor:
        x = features[-1]
        for block, skip in zip(self.blocks, features[-2::-1], strict=False):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        return x


@register("small_unet", "tiny")
def small_unet(cfg: ModelConfig) -> Parts:
    """Small U-Net: min(encoder_depth, 4) poolings, widths ``decoder_channels`` (16) x 2^i."""
    levels = min(cfg.encoder_depth, 4)
    base = cfg.decoder_channels or 16
    widths = [base * 2**i for i in range(levels + 1)]
    return Parts(
        encoder=SmallUNetEncoder(cfg.in_channels, widths),
        decoder=SmallUNetDecoder(widths),
        feature_channels=base,
        output_stride=2**levels,
        head_kernel=1,
    )
