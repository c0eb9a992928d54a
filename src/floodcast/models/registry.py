"""Model registry: a name -> constructor map and the ``FloodModel`` wrapper all entries share.

Every entry follows smp's split: ``encoder`` (x -> list of feature maps) -> ``decoder``
(features -> one feature map) -> optional CBAM -> ``segmentation_head`` (wet/dry logits)
and an optional ``depth_head`` (metres, softplus). The wrapper owns what is the same for
all of them: input checks with fix-it messages, input upscaling, padding to the
encoder's output stride and cropping back, and resizing head outputs to the input grid.

Adding a model is one decorated function returning ``Parts``::

    @register("my_net")
    def _my_net(cfg: ModelConfig) -> Parts: ...
"""

# size: the registry and the FloodModel wrapper every entry shares (heads, priors, input
# checks).

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from floodcast.errors import InputError
from floodcast.models.cbam import CBAM


@dataclass
class ModelConfig:
    """Everything needed to rebuild a model; saved inside every checkpoint.

    Attributes:
        name: registry key (see ``available_models()``).
        encoder: smp encoder name, e.g. ``resnet18`` or ``tu-convnext_atto``.
        in_channels: input channels, taken from the dataset.
        num_classes: wet/dry logits (2); 1 means a single wet logit.
        cbam: CBAM attention on the decoder output features.
        upscale: bilinear input upscaling factor; outputs are averaged back to the input grid.
        depth_head: add a non-negative depth regression output (metres).
        depth_residual: the depth output is a signed increment (metres, no softplus) that the
            caller adds to the previous depth (autoregressive models; implies depth_head).
        encoder_depth: encoder stages (3-5 for smp models; smaller is faster on tiny inputs).
        decoder_channels: width knob where the architecture has one (None: its default).
        patch_size: neighbourhood (odd, pixels) of the centre-pixel classifier.
        prior_channel: index of an input channel that already is a flood map in logit-like
            units (a physics depth channel): the wet logit becomes ``prior_scale *
            (x[prior_channel] - prior_offset)`` plus the network's correction, whose head
            starts at zero, so an untrained model reproduces that channel thresholded.
        prior_offset: the channel's value at the wet threshold.
    """

    name: str = "deeplabv3plus"
    encoder: str = "resnet18"
    in_channels: int = 8
    num_classes: int = 2
    cbam: bool = False
    upscale: int = 1
    depth_head: bool = False
    depth_residual: bool = False
    encoder_depth: int = 5
    decoder_channels: int | None = None
    patch_size: int = 15
    prior_channel: int | None = None
    prior_offset: float = 0.0

    @classmethod
    def from_dict(cls, d: dict[str, Any], strict: bool = True) -> ModelConfig:
        """Build from a dict; unknown keys raise (``strict``) or are dropped."""
        valid = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - valid)
        if unknown and strict:
            raise InputError(f"unknown model config key(s) {unknown}; valid are {sorted(valid)}")
        return cls(**{k: v for k, v in d.items() if k in valid})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Parts:
    """What a registry constructor returns: the architecture-specific pieces."""

    encoder: nn.Module  # x [B, C, H, W] -> list of feature maps
    decoder: nn.Module  # list of feature maps -> [B, feature_channels, h, w]
    feature_channels: int
    output_stride: int = 1  # input H, W are padded to a multiple of this
    head_kernel: int = 1
    allows_cbam: bool = True
    # > 1: the decoder's features are in space-to-depth layout by this factor (each fine
    # cell's features side by side, as PixelShuffle reads them); 1x1 heads run there
    subpixel: int = 1


MODELS: dict[str, Callable[[ModelConfig], Parts]] = {}
MIN_SIZE = 1  # any H, W >= 1 work: padding takes care of the output stride
#: initial wet-logit slope per unit of the prior channel: on log1p(depth / 5 cm) channels a
#: cell at twice (half) the threshold depth starts at p ~ 0.9 (0.1)
PRIOR_SCALE_INIT = 4.0


def register(*names: str) -> Callable:
    """Decorator adding a constructor under one or more names (aliases)."""

    def deco(fn: Callable[[ModelConfig], Parts]) -> Callable[[ModelConfig], Parts]:
        for n in names:
            if n in MODELS:
                raise ValueError(f"model name {n!r} already registered")
            MODELS[n] = fn
        return fn

    return deco


def available_models() -> list[str]:
    """Registered model names (aliases included), sorted."""
    return sorted(MODELS)


def pad_to_multiple(x: Tensor, multiple: int) -> tuple[Tensor, tuple[int, int, int, int]]:
    """Pad H, W up to a multiple, split evenly between sides; returns (padded, (l, r, t, b)).

    Reflect padding keeps edge statistics natural; it needs pad < size, so tiny inputs
    fall back to replicate.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    pads = (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2)
    if ph == 0 and pw == 0:
        return x, pads
    mode = "reflect" if max(pads[:2]) < w and max(pads[2:]) < h else "replicate"
    return F.pad(x, pads, mode=mode), pads


def crop(x: Tensor, pads: tuple[int, int, int, int]) -> Tensor:
    """Undo ``pad_to_multiple``."""
    left, right, top, bottom = pads
    return x[..., top : x.shape[-2] - bottom, left : x.shape[-1] - right]


class FloodModel(nn.Module):
    """encoder -> decoder -> [CBAM] -> heads, with the shared input handling.

    ``forward`` returns ``{"logits": [B, num_classes, H, W]}`` plus ``"depth"``
    ``[B, 1, H, W]`` (metres, >= 0) when ``config.depth_head``.
    """

    def __init__(self, config: ModelConfig, parts: Parts):
        super().__init__()
        self.config = config
        self.output_stride = int(parts.output_stride)
        self.subpixel = int(parts.subpixel)
        if self.subpixel > 1 and parts.head_kernel != 1:
            raise ValueError("sub-pixel features need 1x1 heads")
        self.encoder = parts.encoder
        self.decoder = parts.decoder
        if config.cbam and not parts.allows_cbam:
            raise InputError(
                f"model {config.name!r} does not support cbam=True "
                "(its global pooling would break the per-patch formulation)"
            )
        self.attention = CBAM(parts.feature_channels) if config.cbam else nn.Identity()
        k = parts.head_kernel
        self.segmentation_head = nn.Conv2d(
            parts.feature_channels, config.num_classes, k, padding=k // 2
        )
        self.depth_head = (
            nn.Conv2d(parts.feature_channels, 1, k, padding=k // 2)
            if config.depth_head or config.depth_residual
            else None
        )
        for head in (self.segmentation_head, self.depth_head):
            if head is not None:  # smp's head initialisation
                nn.init.xavier_uniform_(head.weight)
                nn.init.zeros_(head.bias)
        self.register_parameter("prior_scale", None)
        if config.prior_channel is not None:
            # a residual on the physics (as ReZero/ControlNet start from identity): the head
            # starts silent, so training starts from the prior's own skill, not from noise
            nn.init.zeros_(self.segmentation_head.weight)
            self.prior_scale = nn.Parameter(torch.tensor(PRIOR_SCALE_INIT))

    def check_input(self, x: Any) -> None:
        """Raise ``ValueError`` (``InputError``) saying how to fix a badly shaped input."""
        c = self.config.in_channels
        if not isinstance(x, Tensor):
            raise InputError(
                f"input must be a torch.Tensor [B, {c}, H, W]; got {type(x).__name__}"
                " - use torch.as_tensor(x, dtype=torch.float32)"
            )
        if x.ndim != 4:
            hint = ""
            if x.ndim == 3 and x.shape[0] == c:
                hint = " - a single sample [C, H, W]: use x.unsqueeze(0)"
            elif x.ndim == 3 and x.shape[-1] == c:
                hint = " - a single channels-last sample [H, W, C]: use x.permute(2, 0, 1)[None]"
            elif x.ndim == 5:
                hint = " - for a sequence [B, T, C, H, W] stack time into channels: x.flatten(1, 2)"
            raise InputError(
                f"input must be 4-D [B, C={c}, H, W]; got {x.ndim}-D {tuple(x.shape)}{hint}"
            )
        if x.shape[1] != c:
            hint = ""
            if x.shape[-1] == c:
                hint = " - it looks channels-last [B, H, W, C]: use x.permute(0, 3, 1, 2)"
            raise InputError(
                f"input has {x.shape[1]} channels at dim 1, model expects {c} "
                f"(config.in_channels){hint}; shape {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise InputError(f"input dtype {x.dtype} is not floating point - use x.float()")
        if min(x.shape[-2:]) < MIN_SIZE:
            raise InputError(f"input H, W must be >= {MIN_SIZE}; got {tuple(x.shape[-2:])}")

    def _prior(self, logits: Tensor, x: Tensor) -> Tensor:
        """Add the prior channel's wet logit (``[B, H, W]`` from ``x [B, C, H, W]``)."""
        if self.prior_scale is None:
            return logits
        p = self.prior_scale * (x[:, self.config.prior_channel] - self.config.prior_offset)
        if logits.shape[1] == 1:
            return logits + p[:, None]
        # two classes: the wet-minus-dry logit (what softmax thresholds) moves by p
        return logits + torch.stack([-p / 2, p / 2], 1)

    def _head(self, head: nn.Conv2d | tuple[Tensor, Tensor], feats: Tensor, s: int) -> Tensor:
        """A 1x1 head (the module, or its (weight, bias)) on the decoder's features. On fine
        features (``s`` = 1) a module is called as itself, so forward hooks see it
        (``diagnostics.graph``). On sub-pixel features (``s`` > 1) it is the same 1x1 conv
        for each of the s x s sub-cells (its weight Kronecker the identity), and only its
        few outputs are rearranged onto the fine grid, not all the features: more
        multiply-adds (the zeros), less memory moved, faster on a CPU (1.1x, measured)."""
        if s == 1 and isinstance(head, nn.Module):
            return head(feats)
        w, b = (head.weight, head.bias) if isinstance(head, nn.Module) else head
        if s == 1:
            return F.conv2d(feats, w, b, padding=w.shape[-1] // 2)
        w = torch.kron(w[:, :, 0, 0], torch.eye(s * s, dtype=feats.dtype))
        return F.pixel_shuffle(F.conv2d(feats, w[:, :, None, None], b.repeat_interleave(s * s)), s)

    def _features(self, x: Tensor) -> tuple[Tensor, int, Callable[[Tensor], Tensor]]:
        """(decoder features, their space-to-depth factor, a function putting a head's
        output back on the input grid)."""
        self.check_input(x)
        h, w = x.shape[-2:]
        up = self.config.upscale
        if up > 1:
            x = F.interpolate(x, scale_factor=up, mode="bilinear", align_corners=False)
        x, pads = pad_to_multiple(x, self.output_stride)
        feats = self.decoder(self.encoder(x))
        s = self.subpixel  # the features' space-to-depth factor
        if self.config.cbam and s > 1:  # attention needs the fine grid
            feats, s = F.pixel_shuffle(feats, s), 1

        def to_grid(t: Tensor) -> Tensor:
            if t.shape[-2:] != x.shape[-2:]:  # decoders end at stride 1, 4 or 8
                t = F.interpolate(t, size=x.shape[-2:], mode="bilinear", align_corners=False)
            t = crop(t, pads)
            if up > 1:  # back to the input grid: the mean over each cell (volume-preserving)
                t = F.avg_pool2d(t, up)
            assert t.shape[-2:] == (h, w), (t.shape, (h, w))
            return t

        return self.attention(feats), s, to_grid

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        feats, s, to_grid = self._features(x)
        out = {"logits": to_grid(self._head(self.segmentation_head, feats, s))}
        if self.depth_head is not None:
            out["depth"] = to_grid(self._head(self.depth_head, feats, s))
        out["logits"] = self._prior(out["logits"], x)
        if "depth" in out and not self.config.depth_residual:
            out["depth"] = F.softplus(out["depth"])
        return out

    def wet_margin(self, x: Tensor) -> Tensor:
        """[B, H, W] the wet logit minus the dry one (the single logit of a one-class
        model): ``softmax(forward(x)["logits"])[:, 1] > cut`` exactly where the margin
        exceeds log(cut / (1 - cut)). One head row and no depth head: what a caller that
        only thresholds the wet probability needs (``predict.downscale.map_fine``: 25 %
        less time per forward, measured 2026-12-07)."""
        feats, s, to_grid = self._features(x)
        w, b = self.segmentation_head.weight, self.segmentation_head.bias
        if w.shape[0] == 2:
            w, b = w[1:] - w[:1], b[1:] - b[:1]
        m = to_grid(self._head((w, b), feats, s))[:, 0]
        if self.prior_scale is None:
            return m
        return m + self.prior_scale * (x[:, self.config.prior_channel] - self.config.prior_offset)

    def forward_patches(self, patches: Tensor) -> dict[str, Tensor]:
        """Classify the centre pixel of each ``[N, C, P, P]`` patch (centre-pixel model only).

        The original formulation of the centre-pixel classifier; ``forward`` on a grid
        gives the same numbers for every pixel's neighbourhood, much faster.
        """
        if not hasattr(self.encoder, "patch_size"):
            raise InputError(
                f"forward_patches needs the centre_pixel model, not {self.config.name!r}"
            )
        p = self.encoder.patch_size
        self.check_input(patches)
        if tuple(patches.shape[-2:]) != (p, p):
            raise InputError(f"patches must be [N, C, {p}, {p}]; got {tuple(patches.shape)}")
        feats = self.attention(self.decoder(self.encoder(patches, pad=False)))
        c = p // 2
        out = {
            "logits": self._prior(
                self.segmentation_head(feats), patches[..., c : c + 1, c : c + 1]
            )[..., 0, 0]
        }
        if self.depth_head is not None:
            d = self.depth_head(feats)
            out["depth"] = (d if self.config.depth_residual else F.softplus(d))[..., 0, 0]
        return out

    @torch.no_grad()
    def predict_proba(self, x: Tensor) -> Tensor:
        """Wet probability ``[B, H, W]`` (softmax[:, 1]; sigmoid for a single logit).

        Does not switch modes: call ``model.eval()`` first for inference.
        """
        logits = self(x)["logits"]
        if logits.shape[1] == 1:
            return torch.sigmoid(logits[:, 0])
        return torch.softmax(logits, dim=1)[:, 1]

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())


def _validate(cfg: ModelConfig) -> None:
    checks = [
        (cfg.in_channels >= 1, f"in_channels must be >= 1, got {cfg.in_channels}"),
        (cfg.num_classes >= 1, f"num_classes must be >= 1, got {cfg.num_classes}"),
        (
            isinstance(cfg.upscale, int) and cfg.upscale >= 1,
            f"upscale must be an integer >= 1, got {cfg.upscale!r}",
        ),
        (1 <= cfg.encoder_depth <= 5, f"encoder_depth must be in 1..5, got {cfg.encoder_depth}"),
        (
            cfg.decoder_channels is None or cfg.decoder_channels >= 1,
            f"decoder_channels must be >= 1 or None, got {cfg.decoder_channels}",
        ),
        (
            cfg.patch_size >= 3 and cfg.patch_size % 2 == 1,
            f"patch_size must be odd and >= 3, got {cfg.patch_size}",
        ),
        (
            cfg.prior_channel is None or 0 <= cfg.prior_channel < cfg.in_channels,
            f"prior_channel must index one of the {cfg.in_channels} inputs, got {cfg.prior_channel}",
        ),
        (
            cfg.prior_channel is None or cfg.num_classes <= 2,
            f"a prior channel needs num_classes 1 or 2, got {cfg.num_classes}",
        ),
    ]
    for ok, msg in checks:
        if not ok:
            raise InputError(msg)


def build_model(
    cfg: ModelConfig | dict | str | None = None, seed: int | None = None, **overrides: Any
) -> FloodModel:
    """Build a registry model; weights are randomly initialised (no downloads, ever).

    Args:
        cfg: a ``ModelConfig``, a dict of its fields, a model name, or None (defaults).
        seed: if given, initialise under this seed without touching the global RNG, so
            the same config and seed always give the same weights.
        **overrides: config fields to replace, e.g. ``in_channels=11``.

    Raises:
        ValueError: unknown name (the message lists the valid ones) or invalid config.
    """
    if cfg is None:
        cfg = ModelConfig()
    elif isinstance(cfg, str):
        cfg = ModelConfig(name=cfg)
    elif isinstance(cfg, dict):
        cfg = ModelConfig.from_dict(cfg)
    if overrides:
        cfg = ModelConfig.from_dict({**cfg.to_dict(), **overrides})
    name = cfg.name.lower().replace("-", "_")
    if name not in MODELS:
        raise InputError(f"unknown model {cfg.name!r}; valid are: {', '.join(available_models())}")
    cfg = replace(cfg, name=name)  # a copy: the caller's config is never mutated
    _validate(cfg)
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        model = FloodModel(cfg, MODELS[name](cfg))
    # NHWC memory layout (the tensor shapes stay [B, C, H, W]): the CPU convolutions then
    # run ~1.7x faster per forward pass and ~1.3x per training step on this machine
    # (benchmarks/bench_layout.py); inputs need no conversion, the first convolution does it
    return model.to(memory_format=torch.channels_last)
