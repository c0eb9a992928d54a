"""CLI: `floodcast train` and `floodcast tune`."""

from __future__ import annotations

from pathlib import Path

import typer

from floodcast.cli.verbosity import Verbose, library_chatter
from floodcast.display import dumps
from floodcast.errors import user_errors


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_cmd(
        ctx: typer.Context,
        data: Path = typer.Option(
            None,
            help="Dataset store built by build-dataset (zarr "
            "folder); required unless --config holds it.",
        ),
        out: Path = typer.Option(
            None,
            help="Output folder (checkpoints, model.pt, logs); required unless --config holds it.",
        ),
        config: Path = typer.Option(
            None,
            help="TOML or JSON file of training options (e.g. a "
            "run's OUT/train_config.json: passing it back reproduces "
            "the run); options given on the command line win.",
        ),
        model: str = typer.Option(
            "deeplabv3plus", help="Registry model name (unknown lists valid)."
        ),
        encoder: str = typer.Option("resnet18", help="Encoder: resnet18/34/50, tu-convnext_*."),
        encoder_depth: int = typer.Option(5, help="Encoder stages (smaller = faster, coarser)."),
        width: int = typer.Option(
            0,
            help="Decoder/feature width where the model has one, e.g. "
            "small_unet's base width (0 = the model's default).",
        ),
        cbam: bool = typer.Option(False, help="CBAM attention on decoder features."),
        upscale: int = typer.Option(1, help="Input upscaling factor (author's resolution fix)."),
        depth_head: bool = typer.Option(False, help="Add a depth-regression head (m)."),
        depth_residual: bool = typer.Option(
            False,
            help="Autoregressive: the depth head predicts the change (m) over one "
            "interval, added to the previous depth (implies --depth-head).",
        ),
        loss: str = typer.Option("ce_dice", help="ce | bce | dice | ce_dice | focal."),
        class_weights: str = typer.Option("", help="Comma-separated class weights dry,wet."),
        lr: float = typer.Option(1e-3, help="AdamW learning rate."),
        lr_schedule: str = typer.Option(
            "constant",
            help="constant | cosine (decays to 2 % of "
            "--lr over --epochs or --max-minutes, whichever ends first).",
        ),
        batch_size: int = typer.Option(8, help="Samples per batch."),
        epochs: int = typer.Option(10, help="Maximum epochs."),
        patience: int = typer.Option(5, help="Early-stopping patience on validation CSI (epochs)."),
        seed: int = typer.Option(0, help="Random seed."),
        workers: int = typer.Option(0, help="DataLoader worker processes."),
        accelerator: str = typer.Option("auto", help="cpu | gpu | auto."),
        devices: str = typer.Option("auto", help="Devices per node (Lightning)."),
        num_nodes: int = typer.Option(1, help="Nodes for multi-node DDP."),
        strategy: str = typer.Option("auto", help="Lightning strategy (auto, ddp, …)."),
        resume: bool = typer.Option(False, help="Continue from OUT/checkpoints/last.ckpt."),
        notify: str = typer.Option(
            "",
            help="apprise URL to ping when training ends or fails "
            "(ntfy://topic, tgram://…, mailto://…).",
        ),
        max_minutes: float = typer.Option(0.0, help="Wall-time budget (minutes, 0 = none)."),
        train_fraction: float = typer.Option(
            1.0, help="Fraction of training samples (label budget)."
        ),
        limit_batches: float = typer.Option(
            1.0, help="Fraction (<=1) or count (>1) of train batches per epoch."
        ),
        wet_oversample: float = typer.Option(
            0.0,
            help="Draw patches holding any wet cell 1+X times as "
            "often as dry ones (0 = uniform shuffling).",
        ),
        pushforward: int = typer.Option(
            0,
            help="Autoregressive: for half of each batch, feed the "
            "model's own depth after rolling it through S earlier "
            "frames (pushforward trick; 0 = teacher forcing only).",
        ),
        val_fraction: float = typer.Option(
            1.0,
            help="Seeded fraction of validation samples "
            "scored each epoch (all val events keep a share).",
        ),
        postprocess: bool = typer.Option(False, help="Remove isolated wet pixels at inference."),
        calibrate: bool = typer.Option(
            True,
            help="Store in model.pt the wet-probability cut "
            "with the best CSI on the best epoch's validation "
            "samples (else 0.5).",
        ),
        init_encoder: str = typer.Option(
            "", help="Initialise the encoder from a pretrain checkpoint."
        ),
        augment: bool = typer.Option(
            False,
            help="Show each training sample in a random one of "
            "the 8 flips/rotations of the grid (the physics has no "
            "preferred direction; without it the model memorises the "
            "orientation of its training DEMs).",
        ),
        init_from: str = typer.Option(
            "",
            help="Warm start from a trained model.pt of the same "
            "architecture (fine-tune; input channels matched by name, "
            "new ones start at zero weight).",
        ),
        formulation: str = typer.Option(
            "",
            help="original (K frames + DEM) | state (+ rain since "
            "start, time since start) | autoregressive (+ previous depth); "
            "joined with '+' to each other and to channels derived from "
            "the DEM: upslope_area, upslope_rain, depression_depth, "
            "reference_depth (the solver under a uniform storm), "
            "matched_depth (under the storm of each cell's own rate); "
            "default: all channels in the store.",
        ),
        prior: str = typer.Option(
            "",
            help="A depth channel of the formulation (matched_depth, "
            "reference_depth, prev_depth) that the model corrects: the "
            "wet logit is a learned scale x (channel - its value at the "
            "threshold) plus the network's output, whose head starts at "
            "zero, so training starts from that channel's own map.",
        ),
        preset: str = typer.Option(
            "",
            help="'seed': the author's final recipe (DeepLabV3+, CE+Dice, "
            "lr 1e-5, 2x upscaling, isolated-pixel removal); 'small': the "
            "default small model (small_unet, width 8, 3 levels).",
        ),
        quiet: bool = typer.Option(False, help="No progress bar."),
        verbose: Verbose = False,
    ) -> None:
        """Train a flood segmentation model (PyTorch Lightning, AdamW, early stopping on val CSI)."""
        from floodcast.training.config_file import merge_config
        from floodcast.training.train import TrainConfig, train

        # by name: typer may carry its own copy of click's ParameterSource enum
        given = {
            name
            for name in ctx.params
            if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"
        }
        with user_errors(ValueError, FileNotFoundError), library_chatter(verbose):
            cli_values = {
                "data": str(data) if data else "",
                "out": str(out) if out else "",
                "model": model,
                "encoder": encoder,
                "encoder_depth": encoder_depth,
                "width": width or None,
                "cbam": cbam,
                "upscale": upscale,
                "depth_head": depth_head,
                "depth_residual": depth_residual,
                "loss": loss,
                "class_weights": [float(w) for w in class_weights.split(",")]
                if class_weights
                else None,
                "lr": lr,
                "lr_schedule": lr_schedule,
                "batch_size": batch_size,
                "epochs": epochs,
                "patience": patience,
                "seed": seed,
                "workers": workers,
                "accelerator": accelerator,
                "devices": devices,
                "num_nodes": num_nodes,
                "strategy": strategy,
                "resume": resume,
                "notify": notify or None,
                "max_minutes": max_minutes or None,
                "train_fraction": train_fraction,
                "limit_batches": int(limit_batches) if limit_batches > 1 else limit_batches,
                "postprocess": postprocess,
                "calibrate": calibrate,
                "init_encoder": init_encoder or None,
                "init_from": init_from or None,
                "augment": augment,
                "formulation": formulation or None,
                "wet_oversample": wet_oversample,
                "val_fraction": val_fraction,
                "pushforward": pushforward,
                "prior": prior or None,
            }
            cfg = merge_config(TrainConfig, cli_values, given, config).apply_preset(preset or None)
            result = train(cfg, progress=not quiet)
        typer.echo(dumps(result))  # train_result.json keeps every digit

    @app.command("tune")
    def tune_cmd(
        data: Path = typer.Option(..., help="Dataset store (zarr folder)."),
        out: Path = typer.Option(..., help="Output folder (trials.csv, tune.png, best.json)."),
        sampler: str = typer.Option("grid", help="grid (every combination) | tpe."),
        trials: int = typer.Option(0, help="Number of trials (0 = whole grid / 10 for tpe)."),
        lr: str = typer.Option("1e-4,1e-3,3e-3", help="Learning rates to try."),
        loss: str = typer.Option("ce_dice,focal", help="Losses to try."),
        encoder: str = typer.Option("resnet18", help="Encoders to try."),
        batch_size: str = typer.Option("8", help="Batch sizes to try."),
        model: str = typer.Option("deeplabv3plus", help="Registry model for every trial."),
        epochs: int = typer.Option(3, help="Epochs per trial."),
        limit_batches: float = typer.Option(
            1.0, help="Train batches per epoch (fraction or count)."
        ),
        seed: int = typer.Option(0, help="Random seed."),
        verbose: Verbose = False,
    ) -> None:
        """Hyper-parameter search with Optuna (grid or TPE) and median pruning on val CSI."""
        from floodcast.training.train import TrainConfig
        from floodcast.training.tune import tune

        space = {
            "lr": [float(v) for v in lr.split(",")],
            "loss": loss.split(","),
            "encoder": encoder.split(","),
            "batch_size": [int(v) for v in batch_size.split(",")],
        }
        base = TrainConfig(
            data=str(data),
            out=str(out),
            model=model,
            epochs=epochs,
            seed=seed,
            limit_batches=int(limit_batches) if limit_batches > 1 else limit_batches,
        )
        with user_errors(ValueError), library_chatter(verbose):
            best = tune(base, out, sampler=sampler, trials=trials or None, space=space, seed=seed)
        typer.echo(dumps(best))
