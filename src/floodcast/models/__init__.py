"""Segmentation models for flood maps: a registry of names -> constructors.

``build_model(ModelConfig(name=...))`` gives a ``FloodModel`` returning
``{"logits": [B, num_classes, H, W], "depth": [B, 1, H, W] (optional)}``;
``save_model`` / ``load_model`` carry the config and the trainer's extras.
"""

from floodcast.models import lite, simple_nets, smp_models  # noqa: F401  (fill the registry)
from floodcast.models.cbam import CBAM
from floodcast.models.checkpoint import load_model, read_checkpoint, save_model, warm_start
from floodcast.models.registry import (
    MODELS,
    FloodModel,
    ModelConfig,
    Parts,
    available_models,
    build_model,
    register,
)

__all__ = [
    "CBAM",
    "MODELS",
    "FloodModel",
    "ModelConfig",
    "Parts",
    "available_models",
    "build_model",
    "load_model",
    "read_checkpoint",
    "register",
    "save_model",
    "warm_start",
]
