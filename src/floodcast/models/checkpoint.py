"""Model checkpoints for inference: weights + the ``ModelConfig`` + the trainer's extras.

Loading lives here (not in training) so prediction and serving need only ``models``.
The file is a plain ``torch.save`` dict loaded with ``weights_only=True`` (no pickled
code runs on load), so ``extra`` is converted to plain Python on save: numpy arrays
become lists, numpy scalars Python numbers, paths strings, dataclasses dicts.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from floodcast.errors import InputError
from floodcast.io.atomic import atomic_path
from floodcast.models.registry import FloodModel, ModelConfig, build_model

FORMAT = "floodcast.model"
FORMAT_VERSION = 1


def plain_data(obj: Any, where: str = "extra") -> Any:
    """Convert to types ``torch.load(weights_only=True)`` accepts, or raise naming the key."""
    if obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor)):
        return obj
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return plain_data(dataclasses.asdict(obj), where)
    if isinstance(obj, dict):
        return {str(k): plain_data(v, f"{where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        seq = [plain_data(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        return tuple(seq) if isinstance(obj, tuple) else seq
    raise TypeError(
        f"{where}: cannot store {type(obj).__name__} in a checkpoint; "
        "pass plain numbers, strings, lists, dicts, numpy arrays or tensors"
    )


def _versions() -> dict[str, str]:
    import segmentation_models_pytorch as smp
    import timm

    import floodcast

    # str(): torch.__version__ is a TorchVersion, which weights_only loading refuses
    return {
        "torch": str(torch.__version__),
        "segmentation_models_pytorch": str(smp.__version__),
        "timm": str(timm.__version__),
        "floodcast": str(getattr(floodcast, "__version__", "?")),
    }


def save_model(model: FloodModel, path: str | Path, extra: dict | None = None) -> Path:
    """Write ``model`` (config + weights) and ``extra`` atomically to ``path``.

    Args:
        model: a ``FloodModel`` from ``build_model``.
        path: output file (``.pt``).
        extra: anything the predictor needs: normalisation stats, channels, threshold,
            dataset fingerprint...

    Returns:
        The path written.
    """
    if not isinstance(model, FloodModel):
        raise TypeError(f"save_model needs a FloodModel, got {type(model).__name__}")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    blob = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": state,
        "extra": plain_data(extra or {}),
        "versions": _versions(),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The raw checkpoint dict (format, config, state_dict, extra, versions), safely loaded."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"checkpoint {path} not found")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # a pickle error means a foreign or corrupt file
        raise InputError(f"{path} is not a readable floodcast model checkpoint: {e}") from e
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise InputError(
            f"{path} is not a floodcast model checkpoint (no format={FORMAT!r}); "
            "write it with floodcast.models.save_model"
        )
    if blob.get("format_version", 0) > FORMAT_VERSION:
        raise InputError(
            f"{path} has format_version {blob['format_version']}, newer than this "
            f"floodcast understands ({FORMAT_VERSION}); upgrade floodcast"
        )
    return blob


def load_model(path: str | Path, eval_mode: bool = True) -> tuple[FloodModel, dict]:
    """Rebuild the model from its stored config and load the weights.

    Returns:
        ``(model, extra)``; the model is in eval mode unless ``eval_mode=False``.
    """
    blob = read_checkpoint(path)
    cfg_dict = blob["config"]
    unknown = sorted(set(cfg_dict) - set(ModelConfig.__dataclass_fields__))
    if unknown:
        warnings.warn(
            f"{path}: ignoring unknown model config keys {unknown} (written by a newer floodcast?)",
            stacklevel=2,
        )
    model = build_model(ModelConfig.from_dict(cfg_dict, strict=False))
    missing, unexpected = model.load_state_dict(blob["state_dict"], strict=False)
    if missing or unexpected:
        raise InputError(
            f"{path}: weights do not fit {model.config.name}: missing "
            f"{missing[:5]}, unexpected {unexpected[:5]}"
        )
    model.train(not eval_mode)
    return model, blob.get("extra", {})


def warm_start(
    model: FloodModel, path: str | Path, channels: list[str], stats: dict[str, float] | None = None
) -> dict[str, Any]:
    """Initialise ``model`` from a trained model file, matching input channels by name.

    Weights with the same name and shape are copied. The input convolution (the one whose
    input width is the old model's channel count) is rebuilt channel by channel: a channel
    both models have keeps its trained filters, a new channel (e.g. ``prev_depth`` when an
    autoregressive model starts from a state model) gets zero filters, so the warm-started
    model computes exactly what the old one did until training teaches it the new input.
    Anything else (a new depth head) keeps its fresh initialisation.

    ``stats`` are the new run's normalisation statistics: the old filters were learnt on
    inputs scaled by the old store's, so any that differ by more than 1 % are warned about
    and reported (a warm start from a model trained on another store is allowed).

    Returns:
        {"copied": n tensors, "fresh": [names], "channels_added": [...],
            "channels_dropped": [...], "stats_changed": {name: [old, new]}}
    """
    blob = read_checkpoint(path)
    if blob["config"].get("name") != model.config.name:
        raise InputError(
            f"{path} is a {blob['config'].get('name')} model; cannot warm-start "
            f"a {model.config.name} from it (use the same --model)"
        )
    old_ch = list(blob.get("extra", {}).get("data", {}).get("channels") or [])
    old, new = blob["state_dict"], model.state_dict()
    # the input convolution: the first 4-D weight reading the old model's channels
    first = next((k for k, v in old.items() if v.ndim == 4 and v.shape[1] == len(old_ch)), None)
    copied, fresh = 0, []
    for name, w in new.items():
        o = old.get(name)
        if (
            name == first
            and w.ndim == 4
            and w.shape[1] == len(channels)
            and (o.shape[0], *o.shape[2:]) == (w.shape[0], *w.shape[2:])
        ):
            conv = torch.zeros_like(w)
            for i, c in enumerate(channels):
                if c in old_ch:
                    conv[:, i] = o[:, old_ch.index(c)]
            new[name] = conv
            copied += 1
        elif o is not None and o.shape == w.shape:
            new[name] = o.clone()
            copied += 1
        else:
            fresh.append(name)
    if not copied:
        raise InputError(
            f"{path}: no weight fits this {model.config.name} (other encoder or width?)"
        )
    model.load_state_dict(new)
    old_stats = blob.get("extra", {}).get("data", {}).get("stats") or {}
    pairs = {k: (float(old_stats[k]), float(v)) for k, v in (stats or {}).items() if k in old_stats}
    changed = {k: [a, b] for k, (a, b) in pairs.items() if abs(b - a) > 0.01 * abs(a)}
    if changed:
        warnings.warn(
            f"warm start from {path}: its normalisation statistics differ from this "
            f"store's (old, new): {changed}; the copied filters see rescaled inputs",
            stacklevel=2,
        )
    return {
        "copied": copied,
        "fresh": fresh,
        "channels_added": [c for c in channels if c not in old_ch],
        "channels_dropped": [c for c in old_ch if c not in channels],
        "stats_changed": changed,
    }
