"""CLI: `floodcast evaluate` -> a report folder (Markdown + PNG + scores.json)."""

from __future__ import annotations

from pathlib import Path

import typer

from floodcast.cli.verbosity import Verbose, library_chatter
from floodcast.defaults import EVAL_THRESHOLDS_M
from floodcast.errors import InputError, user_errors


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_cmd(
        model: Path = typer.Option(
            ..., help="Trained model (OUT/model.pt from `floodcast train`)."
        ),
        data: Path = typer.Option(..., help="Dataset store (zarr folder)."),
        out: Path = typer.Option(..., help="Report folder (report.md, PNGs, scores.json)."),
        split: str = typer.Option("test", help="Split to score: test | val | train."),
        thresholds: str = typer.Option(
            ",".join(f"{t:g}" for t in EVAL_THRESHOLDS_M),
            help="Depth thresholds (m), comma-separated.",
        ),
        batch_size: int = typer.Option(16, help="Samples per forward pass."),
        speed: bool = typer.Option(True, help="Time model vs simulator on a 512x512 area."),
        speed_size: int = typer.Option(512, help="Side (cells) of the speed-test area."),
        verbose: Verbose = False,
    ) -> None:
        """Score a model and the baselines per event and overall; write a report with maps."""
        from floodcast.evaluation.evaluate import EvalConfig, evaluate
        from floodcast.evaluation.report import write_report
        from floodcast.evaluation.speed import speed_table

        with user_errors(InputError, FileNotFoundError), library_chatter(verbose):
            cfg = EvalConfig(
                model=str(model),
                data=str(data),
                out=str(out),
                split=split,
                thresholds=tuple(float(t) for t in thresholds.split(",") if t),
                batch_size=batch_size,
                speed=speed,
            )
            res, ctx = evaluate(cfg)
            sp = (
                speed_table(
                    ctx["model"],
                    len(ctx["dataset"].channels),
                    n=speed_size,
                    channels=ctx["dataset"].channels,
                )
                if speed
                else None
            )
            md = write_report(out, res, ctx, sp, model)
        typer.echo(md.read_text())
        typer.echo(f"report written to {md}")

    @app.command("calibrate")
    def calibrate_cmd(
        model: Path = typer.Option(..., help="Trained model (OUT/model.pt); updated in place."),
        data: Path = typer.Option(..., help="Dataset store (zarr folder) it was trained on."),
        split: str = typer.Option("val", help="Split to fit on: val | train (never test)."),
        max_events: int = typer.Option(0, help="Use at most this many events (0 = all)."),
        dry_run: bool = typer.Option(False, help="Print the fit, leave the model file alone."),
        start: int = typer.Option(
            0,
            help="First frame scored; > 0 hot-starts autoregressive "
            "models from the simulator's depth (a running simulation "
            "hands over).",
        ),
        steps: int = typer.Option(0, help="Frames scored from --start (0 = to the event end)."),
    ) -> None:
        """Refit the model's wet-probability cut on whole validation events, scored exactly as
        `bench_formulations`/`bench_budget` score the test events (rollouts for autoregressive
        models); `train` already stores a cut fitted on its validation samples."""
        from floodcast.display import dumps
        from floodcast.evaluation.calibrate import calibrate

        with user_errors(InputError, FileNotFoundError):
            fit = calibrate(
                model,
                str(data),
                split,
                max_events or None,
                write=not dry_run,
                start=start,
                steps=steps or None,
            )
        typer.echo(dumps(fit))
