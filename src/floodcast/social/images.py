"""Extension point for image sentiment (not implemented offline).

The original research also scored the images attached to posts with CLIP. That needs
the images themselves (the CrisisLex data hold only text and ids) and pretrained CLIP
weights, which cannot be downloaded here. A model plugs in by registering a factory:

    from floodcast.social.images import register_image_model

    class MyClip:
        def score(self, image_paths):   # -> np.ndarray of P(positive), one per image
            ...

    register_image_model("clip", MyClip)

and is then available by name through :func:`make_image_model`. No model is registered
by default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np


class ImageSentimentModel(Protocol):
    def score(self, image_paths: Sequence[Path]) -> np.ndarray: ...


IMAGE_MODELS: dict[str, Callable[..., ImageSentimentModel]] = {}


def register_image_model(name: str, factory: Callable[..., ImageSentimentModel]) -> None:
    IMAGE_MODELS[name] = factory


def make_image_model(name: str, **kwargs) -> ImageSentimentModel:
    if name not in IMAGE_MODELS:
        have = ", ".join(sorted(IMAGE_MODELS)) or "none registered"
        raise ValueError(
            f"no image sentiment model {name!r} ({have}): image scoring needs the post "
            "images and pretrained weights (e.g. CLIP), which are not available offline; "
            "register one with floodcast.social.images.register_image_model"
        )
    return IMAGE_MODELS[name](**kwargs)
