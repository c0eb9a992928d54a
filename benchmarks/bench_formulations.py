"""Formulations and models side by side on the held-out test events, same budget each.

    python benchmarks/bench_formulations.py --data data/dev.zarr --minutes 15 --jobs 2 \
        --out outputs/formulations

1. Formulations, each trained on the default small model (``--preset small``) under the
   same wall-time budget: original (K frames + DEM), original+upslope_area (+ D8
   contributing area of the whole DEM), state+upslope_area (+ rain since the event start,
   time since the start) and autoregressive+state+upslope_area (+ previous depth, depth
   head, pushforward training over 3 frames; rolled out on its own output from a dry
   start). Scored on whole test events (full DEM grids, every
   frame from the event start: 2 h = 24 steps, >= 12 as required) with the baselines
   (all-dry, climatology, terrain heuristic; fitted on the training split) on the same
   grids and frames.
2. Models (registry): DeepLabV3+ and U-Net (resnet18), the no-skip autoencoder, the
   centre-pixel classifier and the small U-Net, each trained with the best formulation
   under the same budget and scored the same way (on ``--model-events`` test events).
3. Speed of the best model against the simulator on a 512x512 area (cold and hot).

Training runs ``--jobs`` at a time, one torch thread each. A finished run (its
``model.pt`` exists) is reused, so an interrupted benchmark resumes. Writes
OUT/formulations.md and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

FORMS = {
    "original": {},
    "original+upslope_area": {},
    "state+upslope_area": {},
    "state+upslope_area+upslope_rain": {},
    "state+upslope_area+depression_depth": {},
    "state+upslope_area+reference_depth": {},
    "state+upslope_area+matched_depth": {},
    "autoregressive+state+upslope_area": {"depth_head": True, "pushforward": 3},
}
MODELS = {
    "deeplabv3plus": {"model": "deeplabv3plus", "encoder": "resnet18"},
    "unet": {"model": "unet", "encoder": "resnet18"},
    "autoencoder": {"model": "autoencoder"},
    "centre_pixel": {"model": "centre_pixel"},
    "small_unet (preset small)": {"preset": "small"},
}
#: one recipe for every run: what made the sparse wet class learnable on a CPU budget
RECIPE = {
    "lr": 3e-3,
    "batch_size": 16,
    "class_weights": [1.0, 5.0],
    "wet_oversample": 3.0,
    "limit_batches": 150,
    "val_fraction": 0.1,
    "epochs": 1000,
    "patience": 1000,
}


def _train(job: tuple) -> str:
    """One training run in its own process (one torch thread)."""
    out, data, minutes, formulation, kw = job
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    from floodcast.training.train import TrainConfig, train

    if (Path(out) / "model.pt").exists():
        return out
    kw = dict(kw)
    preset = kw.pop("preset", None)
    cfg = TrainConfig(
        data=data, out=out, formulation=formulation, max_minutes=minutes, **{**RECIPE, **kw}
    ).apply_preset(preset)
    train(cfg, progress=False)
    return out


def _run_all(jobs: list[tuple], n: int) -> None:
    with ProcessPoolExecutor(max_workers=n) as ex:
        for out in ex.map(_train, jobs):
            print("trained", out, flush=True)


def _score(
    path: Path,
    data: str,
    max_events: int | None,
    baselines=None,
    start: int = 0,
    steps: int | None = None,
) -> dict:
    from floodcast.evaluation.rollout import rollout_scores
    from floodcast.predict.mapper import FloodMapper

    res = rollout_scores(
        FloodMapper.load(path),
        data,
        "test",
        max_events=max_events,
        baselines=baselines,
        start=start,
        steps=steps,
    )
    res["train"] = json.loads((path.parent / "train_result.json").read_text())
    return res


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default="data/dev.zarr")
    ap.add_argument("--out", default="outputs/formulations")
    ap.add_argument("--minutes", type=float, default=12.0, help="training budget per formulation")
    ap.add_argument("--model-minutes", type=float, default=10.0, help="training budget per model")
    ap.add_argument("--jobs", type=int, default=2, help="training runs at a time (1 thread each)")
    ap.add_argument("--max-events", type=int, default=None, help="test events for formulations")
    ap.add_argument("--model-events", type=int, default=12, help="test events for the models table")
    ap.add_argument("--skip-models", action="store_true")
    a = ap.parse_args()
    import torch

    from floodcast.evaluation.rollout import GridBaselines, rollout_table
    from floodcast.evaluation.speed import speed_table
    from floodcast.predict.mapper import FloodMapper

    torch.set_num_threads(1)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        (
            f"# Formulations and models on `{a.data}` (test events, {a.minutes:g} min training "
            f"per formulation, 1 thread each, {a.jobs} at a time; recipe {json.dumps(RECIPE)})"
        ),
        "",
    ]
    _run_all(
        [
            (str(out / f"form-{n}"), a.data, a.minutes, n, {"preset": "small", **kw})
            for n, kw in FORMS.items()
        ],
        a.jobs,
    )
    mapper0 = FloodMapper.load(out / "form-original" / "model.pt")
    gb = GridBaselines(a.data, mapper0.threshold)
    results = {}
    for name in FORMS:
        results[name] = _score(
            out / f"form-{name}" / "model.pt", a.data, a.max_events, gb if not results else None
        )
        print(name, results[name]["overall"].scores(), flush=True)
    lines += [
        "## Formulations (small model): whole test events from the event start, full grids",
        "",
        (
            "Autoregressive rows are rollouts on the model's own depth from the event "
            "start; 0-1 h is the first 12 steps, 1-2 h the next 12."
        ),
        "",
    ]
    lines += rollout_table(results)
    lines += [
        "",
        "Training steps / best validation CSI (validation is one step, teacher-forced "
        "for the autoregressive model): "
        + "; ".join(
            f"{n}: {r['train']['epochs_run']} epochs, {r['train']['best_val_csi']:.3f}"
            for n, r in results.items()
        ),
    ]
    best = max(results, key=lambda k: results[k]["overall"].scores()["csi"])
    lines += ["", f"Best formulation: **{best}**.", ""]
    if not a.skip_models:
        kw0 = dict(FORMS[best])
        _run_all(
            [
                (
                    str(out / f"model-{m.split()[0]}-{best}"),
                    a.data,
                    a.model_minutes,
                    best,
                    {**kw0, **kw},
                )
                for m, kw in MODELS.items()
            ],
            a.jobs,
        )
        mres = {}
        for m in MODELS:
            mres[m] = _score(
                out / f"model-{m.split()[0]}-{best}" / "model.pt",
                a.data,
                a.model_events,
                gb if not mres else None,
            )
            print(m, mres[m]["overall"].scores(), flush=True)
        lines += [
            (
                f"## Models ({best}, {a.model_minutes:g} min each; first {a.model_events} test "
                "events)"
            ),
            "",
        ]
        lines += rollout_table(mres)
        lines += [
            "",
            "Epochs run / best validation CSI: "
            + "; ".join(
                f"{n}: {r['train']['epochs_run']}, {r['train']['best_val_csi']:.3f}"
                for n, r in mres.items()
            ),
        ]
    mapper = FloodMapper.load(out / f"form-{best}" / "model.pt")
    sp = speed_table(mapper.model, len(mapper.channels), n=512, channels=mapper.channels)
    lines += ["", "## Speed on 512x512 (1 thread)", "", "```", json.dumps(sp, indent=2), "```"]
    text = "\n".join(lines) + "\n"
    (out / "formulations.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
