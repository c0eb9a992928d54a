"""CLIP-style dual encoder: rain (+DEM) windows against water-depth maps.

The rain tower is the *same encoder module* a registry segmentation model builds for a
given name / encoder / in_channels (``build_model(cfg).encoder``), followed by global
average pooling and a projection head; so its ``encoder.*`` weights load one to one into
that segmentation model (``load_encoder_into``). The depth tower is the same family with
``in_channels=1`` reading ``log1p(10 * depth_m)``: depths span millimetres to metres and
the log keeps shallow films from vanishing next to a deep channel.

The loss is the symmetric InfoNCE of CLIP (Radford et al. 2021): cross-entropy of the
cosine-similarity matrix scaled by a learnable temperature, rain->depth and depth->rain,
with the matching pair on the diagonal.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from floodcast.models import ModelConfig, build_model
from floodcast.models.registry import pad_to_multiple


@dataclass
class DualEncoderConfig:
    """What rebuilds a dual encoder; stored in every pretrain checkpoint.

    Attributes:
        model: registry model whose encoder is used (see ``available_models()``).
        encoder: smp encoder name (``resnet18``, ``tu-convnext_atto`` ...).
        in_channels: rain-side input channels (K rain frames + DEM [+ extras]).
        encoder_depth: encoder stages, as in ``ModelConfig``.
        decoder_channels: only for models whose encoder width depends on it (small_unet).
        embed_dim: size of the shared embedding space.
        init_temperature: CLIP's 0.07; the logit scale 1/T is learned, clamped at 100.
    """

    model: str = "deeplabv3plus"
    encoder: str = "resnet18"
    in_channels: int = 4
    encoder_depth: int = 5
    decoder_channels: int | None = None
    embed_dim: int = 64
    init_temperature: float = 0.07

    def model_config(self, in_channels: int | None = None) -> ModelConfig:
        """The segmentation-model config whose encoder this tower reuses."""
        return ModelConfig(
            name=self.model,
            encoder=self.encoder,
            in_channels=in_channels or self.in_channels,
            encoder_depth=self.encoder_depth,
            decoder_channels=self.decoder_channels,
        )

    def to_dict(self) -> dict:
        return asdict(self)


def depth_transform(depth_m: Tensor) -> Tensor:
    """Depth map(s) [B, H, W] in metres -> depth-tower input [B, 1, H, W]."""
    if depth_m.ndim == 3:
        depth_m = depth_m[:, None]
    return torch.log1p(10.0 * depth_m.clamp_min(0).float())


class Tower(nn.Module):
    """Registry encoder -> deepest feature -> global average pool -> MLP projection."""

    def __init__(self, model_cfg: ModelConfig, embed_dim: int):
        super().__init__()
        seg = build_model(model_cfg)
        self.encoder = seg.encoder  # same class and key names as the segmentation model's
        self.output_stride = seg.output_stride
        with torch.no_grad():  # the deepest feature's width, from a tiny dry run
            probe = torch.zeros(1, model_cfg.in_channels, *(2 * [max(self.output_stride, 8)]))
            self.encoder.eval()
            width = self._features(probe).shape[1]
            self.encoder.train()
        self.feature_channels = int(width)
        self.head = nn.Sequential(
            nn.Linear(width, width), nn.ReLU(inplace=True), nn.Linear(width, embed_dim)
        )

    def _features(self, x: Tensor) -> Tensor:
        x, _ = pad_to_multiple(x, self.output_stride)
        return self.encoder(x)[-1]

    def pooled(self, x: Tensor) -> Tensor:
        """Encoder features before the projection head: [B, feature_channels]."""
        return self._features(x).mean(dim=(-2, -1))

    def forward(self, x: Tensor) -> Tensor:
        """Unit-norm embeddings [B, embed_dim]."""
        return F.normalize(self.head(self.pooled(x)), dim=-1)


class DualEncoder(nn.Module):
    """Rain tower + depth tower + learnable logit scale (CLIP)."""

    def __init__(self, cfg: DualEncoderConfig):
        super().__init__()
        self.config = cfg
        self.rain = Tower(cfg.model_config(), cfg.embed_dim)
        self.depth = Tower(cfg.model_config(in_channels=1), cfg.embed_dim)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.init_temperature)))

    def embed_rain(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != self.config.in_channels:
            raise ValueError(
                f"rain input must be [B, {self.config.in_channels}, H, W]; got {tuple(x.shape)}"
            )
        return self.rain(x)

    def embed_depth(self, depth_m: Tensor) -> Tensor:
        return self.depth(depth_transform(depth_m))

    def temperature(self) -> float:
        return float(1.0 / self.logit_scale.detach().clamp(max=math.log(100.0)).exp())

    def forward(self, x: Tensor, depth_m: Tensor) -> tuple[Tensor, Tensor]:
        """Logits rain->depth [B, B] and depth->rain [B, B]; targets are the diagonal."""
        zr, zd = self.embed_rain(x), self.embed_depth(depth_m)
        scale = self.logit_scale.clamp(max=math.log(100.0)).exp()
        logits = scale * zr @ zd.t()
        return logits, logits.t()


def same_map_groups(depth_m: Tensor) -> Tensor:
    """Group id per sample; samples with identical depth maps (e.g. all dry) share one."""
    return torch.unique(depth_m.flatten(1), dim=0, return_inverse=True)[1]


def clip_loss(logits_rd: Tensor, logits_dr: Tensor, groups: Tensor | None = None) -> Tensor:
    """Symmetric InfoNCE: mean of the two cross-entropies against the diagonal.

    Args:
        groups: optional group id per sample (``same_map_groups``). Pairs whose depth maps
            are identical are all positives (uniform soft target); otherwise a batch with
            several all-dry tiles would be asked to tell identical maps apart.
    """
    n = logits_rd.shape[0]
    if groups is None:
        target = torch.arange(n, device=logits_rd.device)
    else:
        same = (groups[:, None] == groups[None, :]).float()
        target = same / same.sum(1, keepdim=True)
    return 0.5 * (F.cross_entropy(logits_rd, target) + F.cross_entropy(logits_dr, target))
