"""`floodcast pretrain`: CLIP-style rain <-> depth pretraining, and reusing its encoder.

Read top to bottom: config -> data (rain + DEM only: a ``prev_depth`` channel would hand
the depth tower's answer to the rain tower) -> dual encoder -> AdamW loop -> held-out
retrieval against chance -> checkpoint. ``load_encoder_into`` puts the rain tower's
encoder into a segmentation model (``floodcast train --init-encoder CKPT``).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from floodcast.data.torchdata import EventBlockSampler
from floodcast.errors import InputError
from floodcast.io.atomic import atomic_path
from floodcast.training.contrastive import (
    DualEncoder,
    DualEncoderConfig,
    clip_loss,
    same_map_groups,
)

FORMAT = "floodcast.contrastive"


class PairView(Dataset):
    """A ``FloodDataset`` as (x, depth) pairs plus the (event, frame, row, col) key."""

    def __init__(self, ds):
        self.ds = ds

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict:
        s = self.ds.sample(i)
        e, k, r, c = (int(v) for v in self.ds.items[i])
        return {
            "x": torch.from_numpy(s["x"]),
            "depth": torch.from_numpy(s["depth"]),
            "event": e,
            "frame": k,
            "row": r,
            "col": c,
        }


class ArrayPairs(Dataset):
    """In-memory pairs (tests, synthetic checks): x [N, C, H, W], depth [N, H, W] (m)."""

    def __init__(self, x: np.ndarray, depth: np.ndarray, event: np.ndarray | None = None):
        if len(x) != len(depth):
            raise ValueError(f"{len(x)} inputs vs {len(depth)} depth maps")
        self.x = torch.as_tensor(np.asarray(x, np.float32))
        self.depth = torch.as_tensor(np.asarray(depth, np.float32))
        self.event = np.zeros(len(x), np.int64) if event is None else np.asarray(event, np.int64)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {
            "x": self.x[i],
            "depth": self.depth[i],
            "event": int(self.event[i]),
            "frame": i,
            "row": 0,
            "col": 0,
        }


@dataclass
class PretrainConfig:
    data: str = ""
    out: str = "outputs/pretrain"
    model: str = "deeplabv3plus"
    encoder: str = "resnet18"
    encoder_depth: int = 5
    decoder_channels: int | None = None
    formulation: str = "original"
    embed_dim: int = 64
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-4
    seed: int = 0
    eval_split: str = "test"
    n_candidates: int = 32
    shuffle_pairs: bool = False  # the negative control: train on mismatched pairs
    max_minutes: float | None = None


def store_datasets(cfg: PretrainConfig) -> tuple[PairView, PairView, dict]:
    from floodcast.data.torchdata import FloodDataset

    train = FloodDataset(cfg.data, "train", formulation=cfg.formulation)
    held = FloodDataset(cfg.data, cfg.eval_split, formulation=cfg.formulation)
    if len(train) < 2 or len(held) < 2:
        raise InputError(
            f"{cfg.data}: pretraining needs >= 2 samples in train and "
            f"{cfg.eval_split}; got {len(train)} and {len(held)}"
        )
    info = {
        "path": cfg.data,
        "channels": train.channels,
        "stats": train.stats,
        "spec": train.spec,
        "event_ids": train.event_ids,
    }
    return PairView(train), PairView(held), info


def fit(
    model: DualEncoder,
    train: Dataset,
    epochs: int,
    batch_size: int = 32,
    lr: float = 1e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    shuffle_pairs: bool = False,
    max_minutes: float | None = None,
    log=print,
) -> list[float]:
    """Plain AdamW loop on the symmetric InfoNCE loss; returns the mean loss per epoch."""
    g = torch.Generator().manual_seed(seed)
    # a store-backed dataset is drawn a few events at a time (uniform shuffling would
    # decompress an event per sample); in-memory pairs are shuffled plainly
    sampler = EventBlockSampler(train.ds, seed=seed) if isinstance(train, PairView) else None
    loader = DataLoader(
        train,
        batch_size=min(batch_size, len(train)),
        shuffle=sampler is None,
        sampler=sampler,
        drop_last=True,
        generator=g,
    )
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    t0, history = time.perf_counter(), []

    def out_of_time() -> bool:  # checked per batch: one epoch of a large store can outlast it
        return bool(max_minutes) and time.perf_counter() - t0 > 60 * max_minutes

    for epoch in range(epochs):
        model.train()
        total = 0.0
        n_batches = 0
        for b in loader:
            if out_of_time():
                break
            n_batches += 1
            x, depth = b["x"].float(), b["depth"].float()
            if shuffle_pairs:  # break the pairing: whatever is learned now is not a relation
                depth = depth[torch.randperm(len(depth), generator=g)]
            loss = clip_loss(*model(x, depth), groups=same_map_groups(depth))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach())
        history.append(total / max(n_batches, 1))
        log(
            f"epoch {epoch + 1}/{epochs}: InfoNCE {history[-1]:.4f} (log N = "
            f"{np.log(loader.batch_size):.3f} is chance), T={model.temperature():.3f}"
        )
        if out_of_time():
            log(f"stopping: {max_minutes} min budget used")
            break
    return history


def pretrain(cfg: PretrainConfig, log=print, datasets: tuple | None = None) -> dict:
    """Pretrain, score held-out retrieval, write ``OUT/pretrain.pt`` and ``OUT/retrieval.json``.

    Args:
        datasets: ``(train, held_out, info)`` to bypass the store (tests, synthetic data).
    """
    from floodcast.training.retrieval import evaluate_retrieval

    torch.manual_seed(cfg.seed)
    train, held, info = datasets if datasets is not None else store_datasets(cfg)
    in_ch = int(train[0]["x"].shape[0])
    dcfg = DualEncoderConfig(
        model=cfg.model,
        encoder=cfg.encoder,
        in_channels=in_ch,
        encoder_depth=cfg.encoder_depth,
        decoder_channels=cfg.decoder_channels,
        embed_dim=cfg.embed_dim,
    )
    model = DualEncoder(dcfg)
    t0 = time.perf_counter()
    history = fit(
        model,
        train,
        cfg.epochs,
        cfg.batch_size,
        cfg.lr,
        cfg.weight_decay,
        cfg.seed,
        cfg.shuffle_pairs,
        cfg.max_minutes,
        log,
    )
    scores = evaluate_retrieval(model, held, cfg.n_candidates, seed=cfg.seed)
    for line in scores["text"]:
        log(line)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "config": asdict(cfg),
        "loss_history": history,
        "wall_time_s": time.perf_counter() - t0,
        "train_samples": len(train),
        "held_out_samples": len(held),
        **scores,
    }
    save_pretrained(model, out / "pretrain.pt", {"data": info, "result": result})
    with atomic_path(out / "retrieval.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2, default=str))
    result["checkpoint"] = str(out / "pretrain.pt")
    result["model"] = model
    return result


def save_pretrained(model: DualEncoder, path: str | Path, extra: dict | None = None) -> Path:
    """Checkpoint: dual-encoder config + weights + the rain encoder's keys on their own."""
    from floodcast.models.checkpoint import plain_data

    path = Path(path)
    blob = {
        "format": FORMAT,
        "format_version": 1,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "encoder_state_dict": {
            k: v.detach().cpu() for k, v in model.rain.encoder.state_dict().items()
        },
        "extra": plain_data(extra or {}),
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    return path


def load_pretrained(path: str | Path) -> tuple[DualEncoder, dict]:
    """Rebuild the dual encoder of a pretrain checkpoint (eval mode); returns (model, extra)."""
    blob = _read(path)
    model = DualEncoder(DualEncoderConfig(**blob["config"]))
    model.load_state_dict(blob["state_dict"])
    return model.eval(), blob.get("extra", {})


def _read(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"pretrain checkpoint {path} not found")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise InputError(
            f"{path} is not a floodcast pretrain checkpoint (format {FORMAT!r}); "
            "write one with `floodcast pretrain`"
        )
    return blob


def load_encoder_into(model: nn.Module, path: str | Path, log=print) -> int:
    """Copy a pretrained rain encoder into ``model.encoder``; returns the tensors loaded.

    Every key of the segmentation encoder must be in the checkpoint with the same shape
    and vice versa; otherwise nothing is loaded and the error names the differences
    (typically another encoder name, encoder_depth or input channel count).
    """
    blob = _read(path)
    src = blob["encoder_state_dict"]
    dst = model.encoder.state_dict()
    missing = sorted(set(dst) - set(src))
    unexpected = sorted(set(src) - set(dst))
    bad_shape = [
        f"{k}: checkpoint {tuple(src[k].shape)} vs model {tuple(dst[k].shape)}"
        for k in sorted(set(src) & set(dst))
        if src[k].shape != dst[k].shape
    ]
    if missing or unexpected or bad_shape:
        c = blob["config"]
        mine = getattr(model, "config", None)
        raise InputError(
            f"{path}: pretrained encoder does not fit this model: {len(missing)} missing key(s) "
            f"{missing[:3]}, {len(unexpected)} unexpected {unexpected[:3]}, {len(bad_shape)} shape "
            f"mismatch(es) {bad_shape[:3]}. Pretrained with model={c['model']} encoder={c['encoder']} "
            f"encoder_depth={c['encoder_depth']} in_channels={c['in_channels']} decoder_channels="
            f"{c.get('decoder_channels')}; this model has "
            + (
                f"model={mine.name} encoder={mine.encoder} encoder_depth={mine.encoder_depth} "
                f"in_channels={mine.in_channels} decoder_channels={mine.decoder_channels}"
                if mine is not None
                else "another layout"
            )
            + ". Use the same encoder settings and --formulation as the pretraining."
        )
    model.encoder.load_state_dict(src, strict=True)
    log(
        f"loaded {len(src)} encoder tensors from {path} (model={blob['config']['model']}, "
        f"encoder={blob['config']['encoder']})"
    )
    return len(src)
