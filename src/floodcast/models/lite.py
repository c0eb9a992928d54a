"""``lite_unet``: the small U-Net run at half resolution between a full-resolution stem
and a full-resolution fusion, for serving many maps per second on a CPU.

Rain fields are smooth at the scale of a few cells (radar pixels are ~1 km, DEM cells tens
of metres), and the fine detail a flood map needs (channels, hollows) is in the per-cell
terrain channels. So the per-cell features are mixed once at full resolution (1x1 stem),
the U-Net works on a 2x-downsampled grid (a quarter of the pixels), and its output is
upsampled and fused with the stem's per-cell features (3x3) before the head.
Measured on 256 x 256 with 11 input channels, 1 thread: ~3x fewer multiply-adds than
``small_unet`` of the same width (see benchmarks/bench_serve.py for latency).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from floodcast.models.registry import ModelConfig, Parts, register
from floodcast.models.simple_nets import SmallUNetDecoder, SmallUNetEncoder, conv_bn_relu


class LiteEncoder(nn.Module):
    """1x1 stem at full resolution, stride-2 3x3 down, then small U-Net stages."""

    def __init__(self, in_channels: int, widths: list[int]):
        super().__init__()
        w = widths[0]
        self.stem = conv_bn_relu(in_channels, w, k=1)
        self.down = nn.Sequential(
            nn.Conv2d(w, w, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(inplace=True),
        )
        self.core = SmallUNetEncoder(w, widths)

    def forward(self, x: Tensor) -> list[Tensor]:
        s = self.stem(x)
        return [s, *self.core(self.down(s))]


class LiteDecoder(nn.Module):
    """Small U-Net decoder at half resolution, upsampled and fused with the stem (3x3)."""

    def __init__(self, widths: list[int]):
        super().__init__()
        self.core = SmallUNetDecoder(widths)
        self.fuse = conv_bn_relu(2 * widths[0], widths[0])

    def forward(self, features: list[Tensor]) -> Tensor:
        stem, core = features[0], features[1:]
        x = F.interpolate(
            self.core(core), size=stem.shape[-2:], mode="bilinear", align_corners=False
        )
        return self.fuse(torch.cat([x, stem], dim=1))


@register("lite_unet")
def lite_unet(cfg: ModelConfig) -> Parts:
    """Lite U-Net: 1x1 full-resolution stem, small U-Net (min(encoder_depth, 4) poolings,
    widths ``decoder_channels`` (16) x 2^i) at half resolution, 3x3 full-resolution fusion."""
    levels = min(cfg.encoder_depth, 4)
    base = cfg.decoder_channels or 16
    widths = [base * 2**i for i in range(levels + 1)]
    return Parts(
        encoder=LiteEncoder(cfg.in_channels, widths),
        decoder=LiteDecoder(widths),
        feature_channels=base,
        output_stride=2 ** (levels + 1),
        head_kernel=1,
    )


# --- sub-pixel U-Net ----------------------------------------------------------------------

#: The sub-pixel models' space-to-depth factors: ``subpixel_unet`` runs its whole network on
#: cells of 4 x 4, ``subpixel8_unet`` on cells of 8 x 8 (for x8 downscaling, where the coarse
#: inputs are constant over 8 x 8 anyway: a quarter of the network's grid).
SUBPIXEL_FACTOR = 4
SUBPIXEL8_FACTOR = 8


class SubpixelEncoder(nn.Module):
    """Space-to-depth by ``s`` (each s x s patch's channels side by side), a 1x1 stem, then
    small U-Net stages, all on the s^2 times smaller grid."""

    def __init__(self, in_channels: int, widths: list[int], s: int = SUBPIXEL_FACTOR):
        super().__init__()
        self.s = s
        self.stem = conv_bn_relu(in_channels * s * s, widths[0], k=1)
        self.core = SmallUNetEncoder(widths[0], widths)

    def forward(self, x: Tensor) -> list[Tensor]:
        # PixelUnshuffle then a 1x1 conv is an s x s conv of stride s with the same weights
        # (unshuffled channel c*s^2 + s*i + j is pixel (i, j) of channel c): one call, and no
        # copy of the input into the unshuffled layout (the costliest op of the model)
        conv, s = self.stem[0], self.s
        w = conv.weight.view(conv.out_channels, -1, s, s)
        return self.core(self.stem[1:](F.conv2d(x, w, conv.bias, stride=s)))


class SubpixelDecoder(nn.Module):
    """Small U-Net decoder on the s times smaller grid, then a 1x1 conv to ``out`` x s^2
    channels: every fine cell its own features, left in space-to-depth layout
    (``Parts.subpixel``: the model's heads run there and only their outputs go onto the
    fine grid)."""

    def __init__(self, widths: list[int], out: int, s: int = SUBPIXEL_FACTOR):
        super().__init__()
        self.core = SmallUNetDecoder(widths)
        self.expand = nn.Conv2d(widths[0], out * s * s, 1)

    def forward(self, features: list[Tensor]) -> Tensor:
        return torch.relu_(self.expand(self.core(features)))


def _subpixel(cfg: ModelConfig, s: int) -> Parts:
    levels = max(min(cfg.encoder_depth, 6) - s.bit_length() + 1, 0)  # s counts as log2(s)
    out = cfg.decoder_channels or 8
    widths = [2 * out * 2**i for i in range(levels + 1)]
    return Parts(
        encoder=SubpixelEncoder(cfg.in_channels, widths, s),
        decoder=SubpixelDecoder(widths, out, s),
        feature_channels=out,
        output_stride=s * 2**levels,
        head_kernel=1,
        subpixel=s,
    )


@register("subpixel_unet")
def subpixel_unet(cfg: ModelConfig) -> Parts:
    """Sub-pixel U-Net (ESPCN's space-to-depth and PixelShuffle, Shi et al. 2016, around a
    small U-Net): every convolution runs on the grid 4x coarser, so on a CPU it costs a
    fraction of ``small_unet`` at full resolution; made for downscaling, where the fine-cell
    detail comes from the per-cell inputs (a prior channel, the fine DEM) and the network
    corrects it. Poolings max(encoder_depth - 2, 0) (the 4x counts as two), core widths
    2 x ``decoder_channels`` (8) x 2^i, ``decoder_channels`` features per fine cell."""
    return _subpixel(cfg, SUBPIXEL_FACTOR)


@register("subpixel8_unet")
def subpixel8_unet(cfg: ModelConfig) -> Parts:
    """``subpixel_unet`` on the grid 8x coarser (the 8x counts as three poolings, so
    max(encoder_depth - 3, 0)): a quarter of its cells, for x8 downscaling."""
    return _subpixel(cfg, SUBPIXEL8_FACTOR)
