"""Demo steps after the simulation: dataset from generated storms -> train -> evaluate -> serve.

Everything runs offline on embedded data: seeded synthetic storms on a 1-km "radar"
grid play the role of radar composites, and a crop of matplotlib's Jacksboro DEM is the
terrain. Sizes are chosen so the whole demo takes a few minutes on 2 cores.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from floodcast.defaults import WET_THRESHOLD_M
from floodcast.demo.context import DemoContext
from floodcast.display import rounded

DEMO_STORMS = 4  # synthetic radar sequences
DEMO_EVENTS = 12
DEMO_CROP = 160  # DEM cells (x 83 m = 13 km)
DEMO_TRAIN_MINUTES = 3.0


def storm_radar(seed: int, n: int = 40, frames: int = 30):
    """A seeded synthetic storm on an n x n km grid, as a RadarSequence (5-min frames)."""
    from rasterio.transform import from_origin

    from floodcast.io.radar import RadarSequence
    from floodcast.physics.storms import synthetic_storm

    series = synthetic_storm((n, n), 1000.0, frames * 300.0, seed=seed)
    rain = np.asarray(series.rates_mmh, np.float32)[:frames]
    times = np.datetime64("2024-06-01T12:00:00") + np.arange(frames) * np.timedelta64(300, "s")
    return RadarSequence(
        rain_mmh=rain,
        times=times,
        transform=from_origin(0, n * 1000.0, 1000, 1000),
        crs="EPSG:32614",
        cell_size=1000.0,
        source=f"synthetic{seed}",
    )


def step_dataset(ctx: DemoContext) -> None:
    """Build a small dataset store from generated storms over a Jacksboro DEM crop."""
    from floodcast.data.build import BuildConfig, SolverSettings, build_dataset
    from floodcast.data.events import EventConfig
    from floodcast.data.samples import SampleSpec
    from floodcast.io.dem import sample_dem
    from floodcast.io.dem_tools import fill_sinks

    dem = sample_dem()
    dem = replace(dem, elevation=dem.elevation[:DEMO_CROP, :DEMO_CROP].copy())
    dem = fill_sinks(dem)
    radars = {f"storm{s}": storm_radar(100 + s) for s in range(DEMO_STORMS)}
    cfg = BuildConfig(
        events=EventConfig(count=DEMO_EVENTS, frames=12, min_rain_mmh=1.0, seed=0),
        spec=SampleSpec(
            frames=7,
            threshold=WET_THRESHOLD_M,
            patch=64,
            overlap=16,
            extra_channels=["rain_accum", "time_since_start"],
        ),
        solver=SolverSettings(max_step=5.0, boundary="free"),
    )
    out = ctx.out / "dataset.zarr"
    summary = build_dataset(out, {"jacksboro": dem}, radars, cfg, scheduler="sync")
    ctx.results["dataset"] = out
    ctx.say(
        f"[green]dataset:[/] {summary['events']} events, {summary['n_samples_kept']} samples "
        f"kept, wet fraction {rounded(summary['wet_fraction'])} -> {out}"
    )


def step_train(ctx: DemoContext) -> None:
    """Train the small default model briefly (state formulation)."""
    from floodcast.training.train import TrainConfig, train

    cfg = TrainConfig(
        data=str(ctx.results["dataset"]),
        out=str(ctx.out / "train"),
        formulation="state+upslope_area",
        epochs=10,
        patience=10,
        lr=3e-3,
        batch_size=8,
        limit_batches=40,
        wet_oversample=3.0,
        max_minutes=DEMO_TRAIN_MINUTES,
    ).apply_preset("small")
    res = train(cfg, progress=ctx.console is not None)
    ctx.results["model"] = ctx.out / "train" / "model.pt"
    ctx.say(
        f"[green]train:[/] best val CSI {rounded(res['best_val_csi'])}, {res['epochs_run']} epochs "
        f"-> {ctx.results['model']}"
    )


def step_evaluate(ctx: DemoContext) -> None:
    """Evaluate on the held-out events with baselines and a speed comparison."""
    from floodcast.evaluation.evaluate import EvalConfig, evaluate
    from floodcast.evaluation.report import write_report
    from floodcast.evaluation.speed import speed_table

    out = ctx.out / "evaluate"
    res, c = evaluate(
        EvalConfig(model=str(ctx.results["model"]), data=str(ctx.results["dataset"]), out=str(out))
    )
    sp = speed_table(c["model"], len(c["dataset"].channels), n=256)
    md = write_report(out, res, c, sp, ctx.results["model"])
    s = res.overall[("model", res.threshold)].scores()
    ctx.say(
        f"[green]evaluate:[/] test CSI {s['csi']:.3f}, MCC {s['mcc']:.3f} "
        f"(all-dry accuracy {s['all_dry_accuracy']:.3f} vs model {s['accuracy']:.3f}) -> {md}"
    )


def step_serve_hint(ctx: DemoContext) -> None:
    from floodcast.serve.command import serve_command

    ctx.say(f"[bold]serve the demo model:[/] {serve_command(ctx.results['model'], 'sample')}")
