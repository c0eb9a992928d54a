"""Train a downscaler: the coarse run's fields on the fine grid -> the fine run's depth.

The model is a registry model (``small_unet`` by default) with a depth head, trained by the
project's Lightning ``FloodTask`` (cross-entropy + Dice on wet > threshold, plus the
log-depth loss) on whole fine grids of every saved time of every train event of a pairs
store (``floodcast downscale pairs``). Its wet logit starts as a baseline (``prior``:
the volume-fill depth by default, or the coarse or bathtub depth): an untrained model
reproduces that baseline thresholded, and training learns the correction. Validation events come from the train
DEMs; held-out DEMs (``--test-dem`` at build time) are never seen.

``model.pt`` carries ``extra["downscale"]``: the factor, the fine and coarse cell sizes,
the channel names and the threshold, which ``floodcast simulate --downscale`` checks.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from floodcast.data.downscale import event_split, read_pair
from floodcast.data.downscale_dem import coarse_method
from floodcast.data.samples import dihedral
from floodcast.defaults import (
    DOWNSCALE_DEPTH_FIT_M,
    DOWNSCALE_TRAIN_EPOCHS,
    DOWNSCALE_TRAIN_MINUTES,
    WET_THRESHOLD_M,
)
from floodcast.errors import InputError
from floodcast.io.atomic import atomic_path
from floodcast.metrics import Tally
from floodcast.simulation.downscale import CHANNELS, DEPTH_SCALE_M, FineGrid
from floodcast.simulation.downscale_rain import frame_rain_inputs

#: Depth channels (log1p(d / 5 cm)) the wet logit can start from. volume_fill is the default:
#: on the held-out DEMs it scored CSI@0.1 0.39 (x4) / 0.32 (x8), twice nearest, bilinear or
#: bathtub (docs/results/2026-12-01-downscaling.md)
PRIOR_CHANNELS = ("volume_fill", "coarse_depth", "bathtub_depth")


@dataclass
class DownscaleTrainConfig:
    data: str
    out: str
    factor: int
    model: str = "small_unet"
    width: int = 8
    encoder_depth: int = 3
    epochs: int = DOWNSCALE_TRAIN_EPOCHS
    max_minutes: float | None = DOWNSCALE_TRAIN_MINUTES
    batch_size: int = 8
    lr: float = 3e-3
    lr_schedule: str = "constant"  # or "cosine" (training.task.LR_SCHEDULES), over the budget
    seed: int = 0
    threshold_m: float = WET_THRESHOLD_M
    augment: bool = True
    prior: str | None = "volume_fill"  # the channel the wet logit starts from (None: none)


def pair_samples(
    path: str | Path, factor: int, split: str, threshold_m: float = WET_THRESHOLD_M
) -> list[dict[str, np.ndarray]]:
    """Every saved time of every ``split`` event: ``{"x", "depth"}`` on the fine grid."""
    splits = event_split(path)
    out, grids = [], {}
    for eid in sorted(e for e, s in splits.items() if s == split):
        p = read_pair(path, eid, factor)
        if p["dem_id"] not in grids:
            grids[p["dem_id"]] = FineGrid(
                p["fine_dem"], p["cell_size"], factor, threshold_m, coarse_dem=p["coarse_method"]
            )
        g = grids[p["dem_id"]]
        acc, recent = frame_rain_inputs(p["rain"], p["interval_s"])
        for k in range(len(p["fine_depth"])):
            out.append(
                {
                    "x": g.channels(p["coarse_depth"][k], acc[k], recent[k]),
                    "depth": p["fine_depth"][k].astype(np.float32),
                    "event": eid,
                    "coarse_dem": p["coarse_method"],
                }
            )
    return out


class PairDataset(torch.utils.data.Dataset):
    """Samples as the FloodTask expects them: ``x``, ``y`` (wet) and ``depth`` tensors."""

    def __init__(self, samples: list[dict], threshold_m: float, augment: bool, seed: int = 0):
        self.samples, self.threshold_m, self.augment = samples, threshold_m, augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        s = self.samples[i]
        x, d = s["x"], s["depth"]
        if self.augment:  # terrain and physics have no preferred direction
            t = int(self.rng.integers(8))
            x, d = dihedral(x, t), dihedral(d, t)
        return {
            "x": torch.from_numpy(np.ascontiguousarray(x)),
            "y": torch.from_numpy(d > self.threshold_m).long(),
            "depth": torch.from_numpy(np.ascontiguousarray(d)),
        }


def model_config(cfg: DownscaleTrainConfig) -> dict:
    if cfg.prior is not None and cfg.prior not in PRIOR_CHANNELS:
        raise InputError(f"--prior {cfg.prior!r}: valid are {PRIOR_CHANNELS} or none")
    offset = float(np.log1p(cfg.threshold_m / DEPTH_SCALE_M))  # a depth channel at the threshold
    return {
        "name": cfg.model,
        "in_channels": len(CHANNELS),
        "depth_head": True,
        "encoder_depth": cfg.encoder_depth,
        "decoder_channels": cfg.width,
        "prior_channel": CHANNELS.index(cfg.prior) if cfg.prior else None,
        "prior_offset": offset,
    }


def train_downscaler(cfg: DownscaleTrainConfig, progress: bool = False) -> dict:
    """Fit on the store's train events, keep the epoch with the best validation CSI, write
    ``OUT/model.pt`` and ``OUT/train_result.json``; returns the result dict."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from floodcast.training.task import LR_SCHEDULES

    if cfg.lr_schedule not in LR_SCHEDULES:  # before the pairs are read
        raise InputError(f"--lr-schedule {cfg.lr_schedule!r}: choose one of {LR_SCHEDULES}")

    from floodcast.data import store
    from floodcast.training.task import FloodTask

    out = Path(cfg.out)
    pl.seed_everything(cfg.seed, workers=True)
    train_s = pair_samples(cfg.data, cfg.factor, "train", cfg.threshold_m)
    val_s = pair_samples(cfg.data, cfg.factor, "val", cfg.threshold_m)
    if not train_s or not val_s:
        raise InputError(
            f"{cfg.data}: no train or no val event for x{cfg.factor} "
            f"({len(train_s)} / {len(val_s)} samples)"
        )
    dems = {store.read_event_attrs(cfg.data, s["event"])["plan"]["dem_id"] for s in train_s}
    cells = {float(store.read_dem_attrs(cfg.data, d)["cell_size"]) for d in dems}
    if len(cells) > 1:  # the model learns one fine cell size; simulate checks it
        raise InputError(f"{cfg.data}: train DEMs have several cell sizes {sorted(cells)}")
    cell = cells.pop()
    rules = {s["coarse_dem"] for s in train_s + val_s}
    if len(rules) > 1:  # the model learns one coarse terrain; simulate solves on it
        raise InputError(f"{cfg.data}: pairs on several coarse DEM rules {sorted(rules)}")
    info = {
        "factor": int(cfg.factor),
        "fine_cell_size_m": cell,
        "coarse_cell_size_m": cell * cfg.factor,
        "coarse_dem": rules.pop(),
        "channels": list(CHANNELS),
        "threshold_m": cfg.threshold_m,
        "store": str(cfg.data),
        "train_dems": sorted(dems),
    }
    task = FloodTask(
        model=model_config(cfg),
        loss="ce_dice",
        lr=cfg.lr,
        lr_schedule=cfg.lr_schedule,
        data={"channels": list(CHANNELS), "downscale": info},
    )
    dl = torch.utils.data.DataLoader(
        PairDataset(train_s, cfg.threshold_m, cfg.augment, cfg.seed),
        batch_size=cfg.batch_size,
        shuffle=True,
    )
    vl = torch.utils.data.DataLoader(
        PairDataset(val_s, cfg.threshold_m, False), batch_size=cfg.batch_size
    )
    ckpt = ModelCheckpoint(
        dirpath=out / "checkpoints", filename="best", monitor="val_csi", mode="max", save_last=True
    )
    trainer = pl.Trainer(
        max_epochs=cfg.epochs,
        accelerator="cpu",
        devices=1,
        callbacks=[ckpt],
        logger=CSVLogger(out, name="logs"),
        enable_progress_bar=progress,
        max_time={"minutes": cfg.max_minutes} if cfg.max_minutes else None,
        enable_model_summary=False,
        log_every_n_steps=5,
        deterministic="warn",
    )
    t0 = time.perf_counter()
    trainer.fit(task, dl, vl)
    best = FloodTask.load_from_checkpoint(ckpt.best_model_path) if ckpt.best_model_path else task
    extra = export(best, out / "model.pt", info, cfg, float(ckpt.best_model_score or 0.0), val_s)
    result = {
        "model_path": str(out / "model.pt"),
        "best_val_csi": extra["best_val_csi"],
        "cut": extra.get("cut", 0.5),
        **extra["depth_fit"],
        "epochs_run": trainer.current_epoch,
        "wall_time_s": time.perf_counter() - t0,
        "train_samples": len(train_s),
        "val_samples": len(val_s),
        **info,
    }
    with atomic_path(out / "train_result.json") as tmp:  # as train.py: never cut short
        tmp.write_text(json.dumps(result, indent=2))
    return result


def export(
    task, path: Path, info: dict, cfg: DownscaleTrainConfig, best_val_csi: float, val_s: list
) -> dict:
    """Write ``model.pt`` from a trained FloodTask with the downscaling record, the
    wet-probability cut fitted (best CSI) on that epoch's validation maps, which
    ``predict.downscale.map_fine`` applies instead of 0.5 (measured: at 0.5 the model
    under-predicts, frequency bias ~0.3 on the held-out DEMs), and the depth source fitted
    on the same maps (``fit_depth_source``)."""
    from floodcast.models.checkpoint import save_model

    extra = {"downscale": info, "train": asdict(cfg), "best_val_csi": best_val_csi}
    if getattr(task, "val_cut", None):
        extra.update(cut=task.val_cut["cut"], cut_fit=task.val_cut)
    model = task.model.cpu().eval()
    fit = fit_depth_source(model, val_s, float(extra.get("cut", 0.5)), cfg.threshold_m)
    extra["downscale"] = {**info, "depth_source": fit["depth_source"]}
    extra["depth_fit"] = fit
    save_model(model, path, extra)
    return extra


def fit_depth_source(model, samples: list[dict], cut: float, threshold_m: float) -> dict:
    """The depth source (``models.downscale_head.DEPTH_SOURCES``) of the model's wet mask at
    ``cut`` with the higher CSI at ``defaults.DOWNSCALE_DEPTH_FIT_M`` on ``samples``
    (validation maps); equal CSI: the lower depth RMSE over the flooded cells (wet in the
    truth or the map), then the head. Returns the figures of both sources.

    Why CSI at the deep threshold and not RMSE: the head is trained on log depth and can
    regress to a typical depth. One such head never drew 0.3 m (CSI@0.3 0 against volume
    fill's 0.34 on the held-out DEMs) yet had the lower RMSE over all cells on validation,
    and over the flooded cells on the held-out ones
    (docs/results/2026-12-03-downscaling-longer-training.md); the flood nowcast's second
    threshold is 0.3 m."""
    from floodcast.models.downscale_head import DEPTH_SOURCES, combine, fine_depth

    deep = DOWNSCALE_DEPTH_FIT_M
    tally = {s: Tally((threshold_m, deep)) for s in DEPTH_SOURCES}
    with torch.inference_mode():
        for i in range(0, len(samples), 8):
            x = np.stack([s["x"] for s in samples[i : i + 8]])
            truth = np.stack([s["depth"] for s in samples[i : i + 8]]).astype(np.float64)
            o = model(torch.from_numpy(x))
            wet = (torch.softmax(o["logits"], 1)[:, 1] > cut).numpy()
            valid = np.ones(truth.shape, bool)
            for src in DEPTH_SOURCES:
                tally[src].add(combine(wet, fine_depth(o, x, src), threshold_m), truth, valid)
    fig = {s: t.report() for s, t in tally.items()}
    for f in fig.values():  # no cell deep in the truth nor the map: neither source scores
        f[f"csi@{deep:g}"] = 0.0 if math.isnan(f[f"csi@{deep:g}"]) else f[f"csi@{deep:g}"]
    best = min(
        DEPTH_SOURCES,
        key=lambda s: (-fig[s][f"csi@{deep:g}"], fig[s]["rmse_wet_m"], s != "head"),
    )
    # wet cells (combine) are exactly those above threshold_m: one flooded set for both
    out = {"depth_source": best, "fit_depth_m": deep, "flooded_cells": int(tally[best].n_wet)}
    for src, f in fig.items():
        out |= {
            f"val_csi@{deep:g}_{src}": f[f"csi@{deep:g}"],
            f"val_rmse_wet_{src}_m": f["rmse_wet_m"],
            f"val_rmse_{src}_m": f["rmse_m"],
        }
    return out


def refit_depth_source(model_path: str | Path, store_path: str | Path) -> dict:
    """Fit the depth source of a saved downscaler on the val events of its pairs store and
    write it into ``model.pt`` (atomically); for models trained before the choice existed."""
    from floodcast.models.checkpoint import load_model, save_model

    model, extra = load_model(model_path)
    info = extra.get("downscale")
    if not info:
        raise InputError(f"{model_path}: not a downscaling model (no extra['downscale'])")
    val_s = pair_samples(store_path, int(info["factor"]), "val", float(info["threshold_m"]))
    if not val_s:
        raise InputError(f"{store_path}: no validation maps to fit the depth source on")
    have, want = {s["coarse_dem"] for s in val_s}, coarse_method(info)
    if have != {want}:  # another coarse terrain: the fit would score the wrong inputs
        raise InputError(
            f"{store_path}: pairs on coarse DEM rule {sorted(have)}; {model_path} was "
            f"trained on {want!r}"
        )
    fit = fit_depth_source(model, val_s, float(extra.get("cut", 0.5)), float(info["threshold_m"]))
    extra["downscale"] = {**info, "depth_source": fit["depth_source"]}
    save_model(model, model_path, {**extra, "depth_fit": fit})
    return fit
