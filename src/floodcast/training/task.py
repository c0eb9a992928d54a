"""The Lightning task: model + loss + AdamW, with flood metrics accumulated per epoch.

Validation CSI is computed from a contingency table summed over the whole split
(``floodcast.metrics``), never averaged per batch, and is what early stopping watches.
"""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
import torch.nn.functional as F

from floodcast.data.channels import PREV_DEPTH_SCALE_M
from floodcast.metrics import Contingency
from floodcast.models.registry import ModelConfig, build_model
from floodcast.training.losses import build_loss

PUSHFORWARD_SHARE = 0.5  # share of each batch trained on the model's own rolled-out depth
PUSHFORWARD_WARMUP_EPOCHS = 1
LR_SCHEDULES = ("constant", "cosine")
COSINE_FLOOR = 0.02  # the cosine schedule ends at 2 % of the peak learning rate


def cosine_lr(lr: float, progress: float) -> float:
    """Cosine decay from ``lr`` at progress 0 to ``COSINE_FLOOR * lr`` at progress >= 1."""
    p = min(max(progress, 0.0), 1.0)
    return lr * (COSINE_FLOOR + (1.0 - COSINE_FLOOR) * 0.5 * (1.0 + math.cos(math.pi * p)))


def encode_prev_depth(d: torch.Tensor) -> torch.Tensor:
    """The prev_depth channel from depth in metres (as ``make_input`` encodes it)."""
    return torch.log1p(d.clamp(min=0) / PREV_DEPTH_SCALE_M)


def decode_prev_depth(c: torch.Tensor) -> torch.Tensor:
    """Depth in metres from the prev_depth channel (inverse of ``encode_prev_depth``)."""
    return PREV_DEPTH_SCALE_M * torch.expm1(c)


class FloodTask(pl.LightningModule):
    """Segmentation of wet cells (and optionally depth regression)."""

    def __init__(
        self,
        model: dict,
        loss: str = "ce_dice",
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        class_weights: list[float] | None = None,
        depth_loss_weight: float = 1.0,
        postprocess: bool = False,
        data: dict | None = None,
        pushforward: int = 0,
        lr_schedule: str = "constant",
    ):
        super().__init__()
        # everything passed here lands in every checkpoint (nanoGPT's "config in the ckpt")
        self.save_hyperparameters()
        self.model = build_model(ModelConfig(**model))
        self.residual = bool(model.get("depth_residual", False))
        self.loss_fn = build_loss(loss, class_weights=class_weights)
        if lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr schedule {lr_schedule!r}; valid: {LR_SCHEDULES}")
        self._tables: dict[str, Contingency] = {}
        self._prob_hist: np.ndarray | None = None  # [2, bins]: wet prob of dry / wet cells
        self.val_cut: dict | None = None  # cut fitted on the last validation (in checkpoints)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.model(x)

    def _depth(self, out: dict, x: torch.Tensor, clip: bool = True) -> torch.Tensor:
        """Predicted depth (m) [B, H, W]: the head's output, or with ``depth_residual`` the
        previous depth (decoded from the input) plus the head's signed increment (clipped
        at 0 unless ``clip=False``)."""
        d = out["depth"][:, 0]
        if self.residual:
            ci = self.hparams.data["channels"].index("prev_depth")
            d = decode_prev_depth(x[:, ci]) + d
            d = d.clamp(min=0) if clip else d
        return d

    def _depth_loss(self, out: dict, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        # regression in log space keeps the many shallow cells from being ignored
        loss = F.smooth_l1_loss(torch.log1p(self._depth(out, x) * 10), torch.log1p(target * 10))
        if self.residual:
            # the clip at 0 has no gradient: a dry cell whose increment went negative would
            # never be pushed back (measured: every rollout stayed at exactly 0 m). The
            # unclipped sum, in decimetres, keeps the gradient alive.
            loss = loss + F.smooth_l1_loss(self._depth(out, x, clip=False) * 10, target * 10)
        return loss

    def _pushforward(self, batch: dict) -> torch.Tensor:
        """Input whose prev_depth channel is, for a random half of the batch, the model's own
        depth after rolling it (without gradient) through the S previous frames.

        The pushforward trick (Brandstetter et al. 2022, ICLR): teacher forcing alone shows
        the model only the simulator's depth, so in a rollout it meets its own errors for the
        first time and (measured here) never lets water build up from a dry start.
        """
        x = batch["x"]
        ci = self.hparams.data["channels"].index("prev_depth")
        with torch.no_grad():
            d = batch["depth0"]
            for j in range(batch["x_hist"].shape[1]):
                xj = batch["x_hist"][:, j].clone()
                xj[:, ci] = encode_prev_depth(d)
                dj = self._depth(self.model(xj), xj)
                d = torch.where(batch["hist_valid"][:, j, None, None], dj, torch.zeros_like(dj))
        use = torch.rand(len(x), device=x.device) < PUSHFORWARD_SHARE
        x = x.clone()
        x[use, ci] = encode_prev_depth(d[use])
        return x

    def _step(self, batch: dict, stage: str) -> torch.Tensor:
        # teacher forcing for the first epoch(s): rolling an untrained model through earlier
        # frames only feeds it noise (measured: learning stalls); pushforward after that
        pf = (
            stage == "train"
            and "x_hist" in batch
            and self.current_epoch >= PUSHFORWARD_WARMUP_EPOCHS
        )
        x = self._pushforward(batch) if pf else batch["x"]
        out = self.model(x)
        loss = self.loss_fn(out["logits"], batch["y"])
        if "depth" in out:
            d_loss = self._depth_loss(out, x, batch["depth"])
            self.log(f"{stage}_depth_loss", d_loss, batch_size=len(batch["x"]))
            loss = loss + self.hparams.depth_loss_weight * d_loss
        pred = out["logits"].argmax(1).bool()
        if stage == "val":
            self._count_probs(out["logits"], batch["y"])
        tab = Contingency.from_masks(pred.cpu().numpy(), batch["y"].bool().cpu().numpy())
        self._tables.setdefault(stage, Contingency()).update(tab)
        self.log(
            f"{stage}_loss",
            loss,
            prog_bar=True,
            batch_size=len(batch["x"]),
            on_step=stage == "train",
            on_epoch=True,
            sync_dist=True,
        )
        return loss

    def _count_probs(self, logits: torch.Tensor, y: torch.Tensor) -> None:
        """Histogram the wet probability of truly dry and wet cells, for ``fit_cut``."""
        from floodcast.metrics import prob_histogram

        p = torch.softmax(logits.detach().float(), 1)[:, 1]
        h = prob_histogram(p.cpu().numpy(), y.cpu().numpy())
        self._prob_hist = h if self._prob_hist is None else self._prob_hist + h

    def _fit_cut(self) -> None:
        """The cut with the best CSI on this validation's samples; logged and checkpointed,
        so the best checkpoint carries the cut fitted on its own validation."""
        from floodcast.metrics import fit_cut

        h, self._prob_hist = self._prob_hist, None
        if h is not None and self.trainer.world_size > 1:  # every rank fits on all of val
            h = self.all_gather(torch.as_tensor(h, device=self.device)).sum(0).cpu().numpy()
        if h is None or h[1].sum() == 0:  # no wet cell: nothing to fit, CSI undefined
            self.log("val_cut", 0.5)
            self.log("val_csi_at_cut", 0.0)
            return
        fit = fit_cut(h[1], h[0])
        self.val_cut = {**fit, "split": "val", "protocol": "validation samples (one step)"}
        self.log("val_cut", fit["cut"])
        self.log("val_csi_at_cut", fit["csi"])

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["val_cut"] = self.val_cut

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.val_cut = checkpoint.get("val_cut")

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test")

    def _epoch_end(self, stage: str) -> None:
        tab = self._tables.pop(stage, None)
        if tab is None:
            return
        # all-gather the counts under DDP so every rank sees the global table
        counts = torch.tensor(
            [tab.hits, tab.false_alarms, tab.misses, tab.correct_negatives],
            dtype=torch.float64,
            device=self.device,
        )
        if self.trainer.world_size > 1:
            counts = self.all_gather(counts).sum(0)
        tab = Contingency(*(int(v) for v in counts.tolist()))
        s = tab.scores()
        for k in ("csi", "mcc", "f1", "bias", "far", "pod", "accuracy", "all_dry_accuracy"):
            v = s[k]
            # an undefined score (no wet cell at all) must not look like a good one
            self.log(
                f"{stage}_{k}", 0.0 if math.isnan(v) else v, prog_bar=k == "csi", sync_dist=False
            )

    def on_train_epoch_end(self) -> None:
        self._epoch_end("train")

    def on_validation_epoch_end(self) -> None:
        self._epoch_end("val")
        self._fit_cut()

    def on_test_epoch_end(self) -> None:
        self._epoch_end("test")

    def progress(self) -> float:
        """Share of the training budget used: steps of max_epochs, or wall time of --max-minutes
        (Lightning's Timer, which a resumed run restores), whichever is further along."""
        t = self.trainer
        done = [
            t.global_step / t.estimated_stepping_batches
            if math.isfinite(t.estimated_stepping_batches)
            else 0.0
        ]
        from lightning.pytorch.callbacks import Timer

        for cb in t.callbacks:
            if isinstance(cb, Timer) and cb.time_remaining() is not None:
                used = cb.time_elapsed()
                done.append(used / max(used + cb.time_remaining(), 1e-9))
        return max(done)

    def on_train_batch_start(self, batch: Any, batch_idx: int) -> None:
        # the schedule follows the budget, not an epoch count: runs here are often bounded by
        # --max-minutes, and a constant rate measured a plateau after ~50 epochs
        if self.hparams.get("lr_schedule", "constant") == "cosine":
            lr = cosine_lr(self.hparams.lr, self.progress())
            for g in self.optimizers().param_groups:
                g["lr"] = lr
            self.log("lr", lr, on_step=True, on_epoch=False)

    def configure_optimizers(self) -> Any:
        return torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
