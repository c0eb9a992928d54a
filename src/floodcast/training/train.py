"""`floodcast train`: read top to bottom - config, data, task, trainer, fit, export.

Outputs in ``OUT/``: ``checkpoints/{best,last}.ckpt`` (Lightning, resumable, carrying
the full config, normalisation statistics and the dataset fingerprint), ``model.pt``
(the inference checkpoint that ``predict``/``evaluate`` load through
``floodcast.models``), ``logs/`` (CSV + TensorBoard) and ``train_config.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from floodcast.data.channels import prior_offset
from floodcast.data.reference_storm import settings_record
from floodcast.errors import InputError

#: The author's final recipe (DeepLabV3+, CE + Dice, lr 1e-5, 2x upscaling, isolated-pixel removal).
#: "small": the default small model (demo, serving, benchmarks) - a 123k-parameter U-Net
#: that maps a 256 x 256 area in tens of milliseconds on one CPU thread.
PRESETS: dict[str, dict] = {
    "seed": {
        "model": "deeplabv3plus",
        "loss": "ce_dice",
        "lr": 1e-5,
        "upscale": 2,
        "postprocess": True,
    },
    "small": {"model": "small_unet", "width": 8, "encoder_depth": 3},
}


@dataclass
class TrainConfig:
    data: str
    out: str
    model: str = "deeplabv3plus"
    encoder: str = "resnet18"
    encoder_depth: int = 5
    width: int | None = None  # decoder/feature width where the model has one (None: its default)
    cbam: bool = False
    upscale: int = 1
    depth_head: bool = False
    depth_residual: bool = False  # autoregressive: predict the depth change (implies depth_head)
    loss: str = "ce_dice"
    class_weights: list[float] | None = None
    lr: float = 1e-3
    lr_schedule: str = "constant"  # constant | cosine (decays over the epochs or --max-minutes)
    weight_decay: float = 1e-4
    batch_size: int = 8
    epochs: int = 10
    patience: int = 5
    seed: int = 0
    workers: int = 0
    accelerator: str = "auto"
    devices: str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    resume: bool = False
    notify: str | None = None
    max_minutes: float | None = None
    train_fraction: float = 1.0
    wet_oversample: float = 0.0
    augment: bool = False  # each training sample in a random one of the 8 grid symmetries
    val_fraction: float = 1.0
    pushforward: int = 0  # autoregressive: roll the model through S earlier frames (0 = off)
    limit_batches: float = 1.0
    postprocess: bool = False
    calibrate: bool = True  # store the validation-fitted wet-probability cut in model.pt
    init_encoder: str | None = None
    init_from: str | None = None  # warm start from a trained model.pt (channels matched by name)
    formulation: str | None = None  # original | state | autoregressive (None = all stored channels)
    prior: str | None = None  # a depth channel the model corrects instead of replacing
    extra: dict = field(default_factory=dict)

    def model_config(self, in_channels: int) -> dict:
        """The registry ``ModelConfig`` fields this training config builds."""
        return {
            "name": self.model,
            "encoder": self.encoder,
            "in_channels": in_channels,
            "cbam": self.cbam,
            "upscale": self.upscale,
            "depth_head": self.depth_head,
            "depth_residual": self.depth_residual,
            "encoder_depth": self.encoder_depth,
            "decoder_channels": self.width,
        }

    def apply_preset(self, name: str | None) -> TrainConfig:
        if name is None:
            return self
        if name not in PRESETS:
            raise InputError(f"unknown preset {name!r}; valid: {sorted(PRESETS)}")
        for k, v in PRESETS[name].items():
            setattr(self, k, v)
        return self


def dataset_fingerprint(path: str | Path) -> str:
    """Hash of the store's build settings and sample index summary (not of the bytes)."""
    from floodcast.data import store

    _, attrs = store.read_index(path)
    blob = json.dumps(
        {"build": attrs.get("build"), "summary": attrs.get("summary")}, sort_keys=True, default=str
    )
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def notify(url: str | None, title: str, body: str) -> bool:
    """Send a message through apprise (ntfy://, tgram://, mailto://, json://…); never raises."""
    if not url:
        return False
    try:
        import apprise

        ap = apprise.Apprise()
        if not ap.add(url):
            return False
        return bool(ap.notify(title=title, body=body))
    except Exception:
        return False


def train(cfg: TrainConfig, progress: bool = True, extra_callbacks: list | None = None) -> dict:
    """Train a model on a dataset store; returns best validation scores and paths."""
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from floodcast.data import store
    from floodcast.data.torchdata import FloodDataModule
    from floodcast.models.checkpoint import save_model
    from floodcast.training.task import FloodTask

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    pl.seed_everything(cfg.seed, workers=True)
    dm = FloodDataModule(
        cfg.data,
        batch_size=cfg.batch_size,
        num_workers=cfg.workers,
        train_fraction=cfg.train_fraction,
        seed=cfg.seed,
        formulation=cfg.formulation,
        wet_oversample=cfg.wet_oversample,
        val_fraction=cfg.val_fraction,
        pushforward=cfg.pushforward,
        augment=cfg.augment,
    )
    dm.setup()
    train_ds = dm.ds["train"]
    if len(train_ds) == 0 or len(dm.ds["val"]) == 0:
        raise InputError(f"{cfg.data}: the train or val split has no samples")
    data_info = {
        "path": str(cfg.data),
        "fingerprint": dataset_fingerprint(cfg.data),
        "channels": train_ds.channels,
        "stats": train_ds.stats,
        "spec": train_ds.spec,
        "formulation": cfg.formulation,
        **store.grid_info(cfg.data),
    }
    data_info.update(settings_record(train_ds.channels))  # the storms behind storm channels
    model_cfg = cfg.model_config(train_ds.in_channels)
    if cfg.prior:
        offset = prior_offset(cfg.prior, train_ds.spec["threshold"])
        if cfg.prior not in train_ds.channels:
            raise InputError(
                f"--prior {cfg.prior}: not among the channels of {cfg.data} with "
                f"formulation {cfg.formulation!r}: {train_ds.channels}"
            )
        model_cfg.update(prior_channel=train_ds.channels.index(cfg.prior), prior_offset=offset)
    if cfg.depth_residual and "prev_depth" not in train_ds.channels:
        raise InputError(
            "--depth-residual needs the prev_depth channel (an autoregressive "
            f"formulation); {cfg.data} with formulation {cfg.formulation!r} has "
            f"{train_ds.channels}"
        )
    ckpt_dir = out / "checkpoints"
    last = ckpt_dir / "last.ckpt"
    warm: dict | None = None
    from floodcast.io.atomic import atomic_path
    from floodcast.training.resume import AtomicCheckpointIO, RngState, check_resume

    # refuses changed hyperparameters (so train_config.json records what ran); None: fresh
    resumed = check_resume(asdict(cfg), out) if cfg.resume else None
    if resumed is not None:
        task = FloodTask.load_from_checkpoint(last)
        if task.hparams.data["fingerprint"] != data_info["fingerprint"]:
            raise InputError(f"{last} was trained on another dataset (fingerprint differs)")
    else:
        task = FloodTask(
            model=model_cfg,
            loss=cfg.loss,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            class_weights=cfg.class_weights,
            postprocess=cfg.postprocess,
            data=data_info,
            pushforward=cfg.pushforward,
            lr_schedule=cfg.lr_schedule,
        )
        if cfg.init_encoder and cfg.init_from:
            raise InputError("give --init-encoder or --init-from, not both")
        if cfg.init_encoder:
            from floodcast.training.pretrain import load_encoder_into

            load_encoder_into(task.model, cfg.init_encoder)
        if cfg.init_from:
            from floodcast.models.checkpoint import warm_start

            warm = {
                "from": str(cfg.init_from),
                **warm_start(task.model, cfg.init_from, train_ds.channels, data_info["stats"]),
            }
            logging.getLogger(__name__).info("warm start: %s", warm)
    # with --calibrate the model is used at its fitted cut, so it is also chosen by its CSI
    # there: the CSI at 0.5 falls late in a cosine run as the model turns cautious (measured)
    monitor = "val_csi_at_cut" if cfg.calibrate else "val_csi"
    callbacks = [
        ModelCheckpoint(
            dirpath=ckpt_dir, filename="best", monitor=monitor, mode="max", save_top_k=1
        ),
        # last.ckpt after every epoch: Lightning 2.6's save_last only rewrites it when the
        # monitored score improved, so --resume lost the epochs since the best one
        ModelCheckpoint(
            dirpath=ckpt_dir,
            filename="last",
            monitor=None,
            save_top_k=1,
            enable_version_counter=False,
        ),
        EarlyStopping(monitor=monitor, mode="max", patience=cfg.patience),
        RngState(),  # kill + resume trains like no kill
    ]
    callbacks += list(extra_callbacks or [])
    if progress:
        callbacks.append(RichProgressBar())
    gpu = cfg.accelerator in ("gpu", "cuda") or (cfg.accelerator == "auto" and _has_gpu())
    trainer = pl.Trainer(
        max_epochs=cfg.epochs,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        num_nodes=cfg.num_nodes,
        strategy=cfg.strategy,
        precision="16-mixed" if gpu else "32-true",
        callbacks=callbacks,
        # a new log version per (resumed) run: resuming must not erase earlier epochs
        logger=[CSVLogger(out, name="logs"), TensorBoardLogger(out, name="tensorboard")],
        max_time={"minutes": cfg.max_minutes} if cfg.max_minutes else None,
        limit_train_batches=cfg.limit_batches,
        limit_val_batches=1.0,
        enable_progress_bar=progress,
        deterministic="warn",
        log_every_n_steps=5,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
    )
    with atomic_path(out / "train_config.json") as tmp:  # a kill never leaves it cut short
        tmp.write_text(json.dumps(asdict(cfg), indent=2))
    t0 = time.perf_counter()
    try:
        trainer.fit(task, datamodule=dm, ckpt_path=str(resumed) if resumed else None)
    except BaseException as exc:
        notify(cfg.notify, "floodcast train failed", f"{out}: {type(exc).__name__}: {exc}")
        raise
    best_path = callbacks[0].best_model_path or str(last)
    best = FloodTask.load_from_checkpoint(best_path) if Path(best_path).exists() else task
    extra = {
        "data": data_info,
        "train": asdict(cfg),
        "postprocess": cfg.postprocess,
        "best_val_csi": _f(callbacks[0].best_model_score),
        "epochs_run": trainer.current_epoch,
    }
    if warm is not None:
        extra["warm_start"] = warm
    if cfg.calibrate and best.val_cut:
        # the wet-probability cut with the best CSI on the best epoch's validation samples
        extra.update(cut=best.val_cut["cut"], cut_fit=best.val_cut)
    save_model(best.model.cpu(), out / "model.pt", extra)
    result = {
        "model_path": str(out / "model.pt"),
        "best_checkpoint": best_path,
        "best_val_csi": extra["best_val_csi"],
        "cut": extra.get("cut", 0.5),
        "epochs_run": trainer.current_epoch,
        "wall_time_s": time.perf_counter() - t0,
        "train_samples": len(train_ds),
        "val_samples": len(dm.ds["val"]),
    }
    with atomic_path(out / "train_result.json") as tmp:
        tmp.write_text(json.dumps(result, indent=2))
    notify(
        cfg.notify,
        "floodcast train finished",
        f"{out}: best val CSI {result['best_val_csi']}, {result['epochs_run']} epochs",
    )
    return result


def _f(v) -> float | None:
    return None if v is None else float(v)


def _has_gpu() -> bool:
    import torch

    return torch.cuda.is_available()
