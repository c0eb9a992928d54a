"""segmentation_models_pytorch architectures in the registry.

We keep smp's encoder and decoder and replace its head by ``FloodModel``'s own heads
(same conv kernel, no built-in upsampling): smp's fixed head upsampling factors are
wrong for PSPNet and FPN when ``encoder_depth`` differs from their default, so the
wrapper resizes head outputs to the padded input instead.
"""

from __future__ import annotations

import warnings
from typing import Any

import segmentation_models_pytorch as smp
from torch import nn

from floodcast.errors import InputError
from floodcast.models.registry import ModelConfig, Parts, register

SUGGESTED_ENCODERS = (
    "resnet18",
    "resnet34",
    "resnet50",
    "tu-convnext_atto",
    "tu-convnext_femto",
    "tu-convnext_pico",
    "tu-convnext_nano",
    "tu-convnext_tiny",
)


def prune_unused_stages(encoder: nn.Module) -> nn.Module:
    """Drop ResNet stages deeper than ``encoder_depth``: smp keeps them, unused, untrained
    and counted in the parameters (resnet18 at depth 3 would carry 11 M dead weights)."""
    depth = getattr(encoder, "_depth", 5)
    for i, layer in ((4, "layer3"), (5, "layer4")):
        if depth < i and isinstance(getattr(encoder, layer, None), nn.Module):
            delattr(encoder, layer)
    return encoder


def _unknown_encoder(cfg: ModelConfig) -> InputError:
    return InputError(f"unknown encoder {cfg.encoder!r}; e.g. {', '.join(SUGGESTED_ENCODERS)}")


def _is_unknown_encoder(e: Exception) -> bool:
    """smp says KeyError for an unknown smp name, timm RuntimeError 'Unknown model'."""
    return isinstance(e, KeyError) or "Unknown model" in str(e)


def smp_encoder(cfg: ModelConfig, depth: int | None = None, **kw: Any):
    """An smp encoder with random weights; unknown names raise with suggestions."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*zero-element tensors.*")
            enc = smp.encoders.get_encoder(
                cfg.encoder,
                in_channels=cfg.in_channels,
                depth=depth or cfg.encoder_depth,
                weights=None,
                **kw,
            )
            return prune_unused_stages(enc)
    except (KeyError, RuntimeError) as e:
        if _is_unknown_encoder(e):
            raise _unknown_encoder(cfg) from e
        raise


def _create(arch: str, cfg: ModelConfig, **kw: Any) -> Parts:
    if not 3 <= cfg.encoder_depth <= 5:
        raise InputError(f"{cfg.name} needs encoder_depth 3, 4 or 5; got {cfg.encoder_depth}")
    try:
        with warnings.catch_warnings():
            # convnext encoders have an empty stride-2 feature; initialising it warns
            warnings.filterwarnings("ignore", message=".*zero-element tensors.*")
            m = smp.create_model(
                arch,
                encoder_name=cfg.encoder,
                encoder_weights=None,
                in_channels=cfg.in_channels,
                classes=cfg.num_classes,
                encoder_depth=cfg.encoder_depth,
                **kw,
            )
    except (KeyError, RuntimeError) as e:
        if _is_unknown_encoder(e):
            raise _unknown_encoder(cfg) from e
        raise
    conv = m.segmentation_head[0]
    return Parts(
        encoder=prune_unused_stages(m.encoder),
        decoder=m.decoder,
        feature_channels=conv.in_channels,
        output_stride=m.encoder.output_stride,
        head_kernel=conv.kernel_size[0],
    )


@register("deeplabv3plus", "deeplabv3+")
def deeplabv3plus(cfg: ModelConfig) -> Parts:
    """DeepLabV3+ (the default): atrous encoder (stride 16), ASPP, stride-4 skip."""
    return _create("DeepLabV3Plus", cfg, decoder_channels=cfg.decoder_channels or 256)


@register("deeplabv3")
def deeplabv3(cfg: ModelConfig) -> Parts:
    """DeepLabV3: atrous encoder (stride 8) and ASPP, no skip (smp defaults)."""
    return _create("DeepLabV3", cfg, decoder_channels=cfg.decoder_channels or 256)


@register("unet")
def unet(cfg: ModelConfig) -> Parts:
    """U-Net; ``decoder_channels`` is the widest block, halving per block (256 -> 16)."""
    top = cfg.decoder_channels or 256
    chans = tuple(max(top >> i, 8) for i in range(cfg.encoder_depth))
    return _create("Unet", cfg, decoder_channels=chans)


@register("pspnet")
def pspnet(cfg: ModelConfig) -> Parts:
    """PSPNet: pyramid pooling on the deepest features; ``decoder_channels`` = PSP width."""
    return _create("PSPNet", cfg, psp_out_channels=cfg.decoder_channels or 512)


@register("fpn")
def fpn(cfg: ModelConfig) -> Parts:
    """FPN; ``decoder_channels`` = pyramid width (segmentation width: half, a multiple of 32)."""
    if cfg.encoder.startswith("tu-convnext") and cfg.encoder_depth != 5:
        # smp's FPN reads the stride-2 feature, which convnext encoders leave empty
        raise InputError(
            f"fpn with {cfg.encoder} needs encoder_depth=5 (got "
            f"{cfg.encoder_depth}); or use a resnet encoder"
        )
    width = cfg.decoder_channels or 256
    seg = max(width // 2 // 32 * 32, 32)  # smp's GroupNorm(32, ...) needs a multiple of 32
    return _create("FPN", cfg, decoder_pyramid_channels=width, decoder_segmentation_channels=seg)
