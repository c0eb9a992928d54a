"""CLI: `floodcast downscale pairs | train | refit-depth | evaluate` (coarse physics + a learned fine map).

`floodcast simulate --downscale MODEL.pt --coarsen F` (in cli/simulate.py) uses the model.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

from floodcast.defaults import (
    DOWNSCALE_COARSE_DEM,
    DOWNSCALE_DRY_TAIL_FRAMES,
    DOWNSCALE_PRECISION,
    DOWNSCALE_TRAIN_EPOCHS,
    DOWNSCALE_TRAIN_MINUTES,
)
from floodcast.errors import InputError, user_errors


def register(app: typer.Typer) -> None:
    ds_app = typer.Typer(
        help="Downscaling: coarse solver runs mapped to the fine grid by a model.",
        no_args_is_help=True,
    )
    app.add_typer(ds_app, name="downscale")

    @ds_app.command("pairs")
    def pairs_cmd(
        store_path: Path = typer.Argument(
            ..., help="A finished dataset store (floodcast dataset build)."
        ),
        coarsen: list[int] = typer.Option(
            [4, 8],
            "--coarsen",
            help="Coarsening factor F (must divide every DEM's grid); repeatable.",
        ),
        dry_tail: int = typer.Option(
            DOWNSCALE_DRY_TAIL_FRAMES,
            "--dry-tail",
            help="Frames of zero rain after each event (a recession, maps saved through it): "
            "the fine event is rerun with them and the coarse run covers them; 0 = none.",
        ),
        coarse_dem: str = typer.Option(
            DOWNSCALE_COARSE_DEM,
            "--coarse-dem",
            help="The coarse DEM: 'mean' (each F x F block's mean elevation), 'min' (its "
            "lowest cell: keeps narrow channels connected) or 'subgrid' (block minimum with "
            "the fine DEM's storage and face sills, floodcast.physics.subgrid); a model "
            "trained on these pairs solves on the same rule.",
        ),
    ) -> None:
        """Simulate every event of STORE again on a DEM F times coarser (block mean or block
        minimum; same radar, then --dry-tail frames without rain, also added to the fine
        run) and store it beside the fine run; resumable."""
        from rich.progress import Progress

        from floodcast.data.downscale import build_pairs

        with user_errors(InputError), Progress() as bar:
            task = bar.add_task("coarse runs", total=None)
            s = build_pairs(
                store_path,
                tuple(coarsen),
                progress=lambda d, t: bar.update(task, completed=d, total=t),
                dry_tail=dry_tail,
                coarse_dem=coarse_dem,
            )
        typer.echo(
            f"{store_path}: x{', x'.join(map(str, s.factors))} (block {s.coarse_dem}): "
            f"{s.built} coarse runs "
            f"and {s.tails_built} fine dry tails ({s.dry_tail} frames) built "
            f"({s.wall_time_s:.1f} s), {s.skipped} coarse runs already there"
        )

    @ds_app.command("train")
    def train_cmd(
        store_path: Path = typer.Argument(..., help="A pairs store (floodcast downscale pairs)."),
        coarsen: int = typer.Option(
            ..., "--coarsen", help="Factor F of the coarse runs to learn from."
        ),
        out: Path = typer.Option(
            ..., "--out", help="Output folder: model.pt, train_result.json, logs/."
        ),
        model: str = typer.Option("small_unet", help="Registry model name (U-Net family)."),
        width: int = typer.Option(8, help="Model width (small_unet: first-stage channels)."),
        prior: str = typer.Option(
            "volume_fill",
            help="Channel the wet logit starts from: "
            "volume_fill | coarse_depth | bathtub_depth | none.",
        ),
        encoder_depth: int = typer.Option(3, help="Poolings of the U-Net."),
        epochs: int = typer.Option(DOWNSCALE_TRAIN_EPOCHS, help="Maximum epochs."),
        max_minutes: float = typer.Option(
            DOWNSCALE_TRAIN_MINUTES, help="Wall-time budget (min); 0 = none."
        ),
        batch_size: int = typer.Option(8, help="Fine grids per batch."),
        lr: float = typer.Option(3e-3, help="AdamW learning rate."),
        lr_schedule: str = typer.Option(
            "constant",
            "--lr-schedule",
            help="'constant' or 'cosine' (from --lr down to 2 % of it over the budget).",
        ),
        seed: int = typer.Option(0, help="Seed (weights, shuffling, augmentation)."),
        threads: int = typer.Option(1, help="torch CPU threads."),
    ) -> None:
        """Train a downscaler with the Lightning FloodTask on the store's train events."""
        import torch

        from floodcast.training.downscale import DownscaleTrainConfig, train_downscaler

        torch.set_num_threads(threads)
        cfg = DownscaleTrainConfig(
            data=str(store_path),
            out=str(out),
            factor=coarsen,
            model=model,
            width=width,
            encoder_depth=encoder_depth,
            epochs=epochs,
            max_minutes=max_minutes or None,
            batch_size=batch_size,
            lr=lr,
            lr_schedule=lr_schedule,
            seed=seed,
            prior=None if prior == "none" else prior,
        )
        with user_errors(InputError):
            r = train_downscaler(cfg)
        typer.echo(
            f"model: {r['model_path']}  best val CSI {r['best_val_csi']:.3f} after "
            f"{r['epochs_run']} epochs ({r['wall_time_s']:.0f} s, {r['train_samples']} "
            "train maps)"
        )

    @ds_app.command("refit-depth")
    def refit_cmd(
        model: Path = typer.Argument(..., help="A downscaling model.pt (rewritten in place)."),
        store_path: Path = typer.Argument(..., help="The pairs store it was trained on."),
    ) -> None:
        """Choose the model's depth source (its depth head or volume fill) again on the
        store's validation events, by depth RMSE, and record it in MODEL (for models
        trained before the choice existed, or on another store)."""
        from floodcast.models.downscale_head import DEPTH_SOURCES
        from floodcast.training.downscale import refit_depth_source

        with user_errors(InputError):
            fit = refit_depth_source(model, store_path)
        deep = f"{fit['fit_depth_m']:g}"
        figs = ", ".join(
            f"{src} CSI@{deep} {fit[f'val_csi@{deep}_{src}']:.3f}, flooded-cell RMSE "
            f"{fit[f'val_rmse_wet_{src}_m']:.4f} m"
            for src in DEPTH_SOURCES
        )
        typer.echo(
            f"{model}: depth source {fit['depth_source']} (validation maps, "
            f"{fit['flooded_cells']} flooded cells: {figs})"
        )

    @ds_app.command("evaluate")
    def evaluate_cmd(
        store_path: Path = typer.Argument(..., help="A pairs store."),
        coarsen: int = typer.Option(..., "--coarsen", help="Factor F to score."),
        model: Path | None = typer.Option(
            None, "--model", help="A downscaling model.pt to score beside the baselines."
        ),
        split: str = typer.Option("test", help="Split of events to score (test = held-out DEMs)."),
        json_out: Path | None = typer.Option(None, "--json", help="Write the full report here."),
        precision: str = typer.Option(
            DOWNSCALE_PRECISION, help="The model's arithmetic: float32 or bfloat16."
        ),
    ) -> None:
        """Score the baselines (and a model) against the fine solver, per event and overall."""
        from floodcast.evaluation.downscale import BASELINES, evaluate
        from floodcast.io.writers import write_json

        methods = dict(BASELINES)
        with user_errors(InputError, ValueError):
            if model is not None:
                from floodcast.predict.downscale import model_method

                methods["model"] = model_method(model, coarsen, precision)
            rep = evaluate(store_path, coarsen, methods, split)
        typer.echo(f"x{coarsen}, {split}: {len(rep['events'])} events")
        typer.echo(
            f"{'method':10s} {'map':5s} {'CSI@0.1':>8s} {'POD':>6s} {'FAR':>6s} "
            f"{'bias':>6s} {'CSI@0.3':>8s} {'RMSE m':>7s}"
        )
        for m, d in rep["overall"].items():
            for k, r in d.items():  # times, max, rain frames, dry tail (if any maps)
                if math.isnan(r["rmse_m"]):
                    continue
                typer.echo(
                    f"{m:10s} {k:5s} {r['csi@0.1']:8.3f} {r['pod@0.1']:6.3f} "
                    f"{r['far@0.1']:6.3f} {r['bias@0.1']:6.3f} {r['csi@0.3']:8.3f} "
                    f"{r['rmse_m']:7.3f}"
                )
        if json_out:
            write_json(json_out, rep)
            typer.echo(f"report: {json_out}")
