"""Does contrastive pretraining help? Retrieval vs chance, then CSI pretrained vs scratch.

    python benchmarks/bench_pretrain.py --data data/dev.zarr --out outputs/bench_pretrain

1. `pretrain` (CLIP rain<->depth) on the train events; held-out (test events) retrieval
   top-1/top-5 against chance 1/N, 5/N, plus the same pipeline trained on shuffled pairs.
2. Segmentation model (same model/encoder/formulation; default the small model on
   state+upslope_area, the recipe of bench_formulations.py) trained from scratch and from
   the pretrained encoder, with 10 % and 100 % of the training labels, same wall-time
   budget; test-split CSI (contingency summed over the split) of each, and the difference.
If --data does not exist, a small store is built from generated storms on a generated
valley DEM (minutes of simulation) and the figures say so. The outcome is printed
whichever way it falls.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from floodcast.training.pretrain import PretrainConfig, pretrain


def generated_store(out: Path, events: int = 12) -> Path:
    """A small store: moving Gaussian storms (several seeds) over a V-shaped valley DEM."""
    from types import SimpleNamespace

    from floodcast.data.build import BuildConfig, SolverSettings, build_dataset
    from floodcast.data.events import EventConfig
    from floodcast.data.samples import SampleSpec
    from floodcast.io.dem import Dem

    if (out / "zarr.json").exists():
        return out
    n, cell = 64, 50.0
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    dem = Dem(
        elevation=(100 + 0.02 * cell * yy + 0.05 * cell * np.abs(xx - n / 2)).astype(np.float32),
        cell_size=cell,
        source="valley",
    )
    radars = {}
    for s in range(3):
        rng = np.random.default_rng(s)
        m, nt = 64, 16
        gy, gx = np.mgrid[0:m, 0:m].astype(np.float32)
        frames = []
        vy, vx, r = rng.uniform(0.3, 1.2), rng.uniform(-1.0, 1.5), rng.uniform(4, 9)
        for t in range(nt):
            cy, cx = 24 + vy * t, 24 + vx * t + rng.uniform(-1, 1)
            frames.append(
                rng.uniform(30, 80) * np.exp(-((gy - cy) ** 2 + (gx - cx) ** 2) / (2 * r**2))
            )
        times = np.datetime64("2020-06-01T12:00:00") + np.arange(nt) * np.timedelta64(300, "s")
        radars[f"gen{s}"] = SimpleNamespace(
            rain_mmh=np.stack(frames).astype(np.float32),
            times=times,
            cell_size=500.0,
            interval_s=300.0,
            source=f"gen{s}",
        )
    cfg = BuildConfig(
        events=EventConfig(count=events, frames=10, min_rain_mmh=0.5, seed=1),
        spec=SampleSpec(frames=3, threshold=0.01, patch=32, overlap=16),
        solver=SolverSettings(max_step=10.0, boundary="free"),
    )
    build_dataset(out, {"valley": dem}, radars, cfg, scheduler="sync")
    return out


def test_csi(model_path: Path, data: str, formulation: str) -> float:
    from floodcast.data.torchdata import FloodDataset
    from floodcast.metrics import Contingency
    from floodcast.models.checkpoint import load_model

    model, _ = load_model(model_path)
    # a seeded quarter of the test samples (from every test event): 4 runs x the whole split
    # took ~15 min of CPU for a difference the quarter resolves as well
    ds = FloodDataset(data, "test", formulation=formulation, fraction=0.25, seed=0)
    tab = Contingency()
    with torch.no_grad():
        for i in range(0, len(ds), 32):
            items = [ds[j] for j in range(i, min(i + 32, len(ds)))]
            x = torch.stack([it["x"] for it in items])
            y = torch.stack([it["y"] for it in items]).bool().numpy()
            tab.update(Contingency.from_masks(model.predict_proba(x).numpy() > 0.5, y))
    return float(tab.scores()["csi"])


def _pretrain(cfg: PretrainConfig) -> dict:
    """One pretraining run in its own process; returns the picklable part of the result."""
    torch.set_num_threads(1)
    res = pretrain(cfg, log=print if not cfg.shuffle_pairs else (lambda s: None))
    return {k: v for k, v in res.items() if k != "model"}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default="data/dev.zarr")
    ap.add_argument("--out", default="outputs/bench_pretrain")
    from floodcast.training.train import PRESETS

    small = PRESETS["small"]  # default: the small model of `--preset small`
    ap.add_argument("--model", default=small["model"])
    ap.add_argument("--encoder", default="resnet18")
    ap.add_argument("--encoder-depth", type=int, default=small["encoder_depth"])
    ap.add_argument("--width", type=int, default=small["width"], help="decoder width")
    ap.add_argument("--formulation", default="state+upslope_area")
    ap.add_argument("--pretrain-epochs", type=int, default=20)
    ap.add_argument("--pretrain-minutes", type=float, default=6.0)
    ap.add_argument("--minutes", type=float, default=6.0, help="budget per segmentation run")
    ap.add_argument("--candidates", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=2, help="runs at a time (one thread each)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    data = a.data
    if not (Path(data) / "zarr.json").exists():
        print(f"{data} not found: building a small generated store (say so in any report)")
        data = str(generated_store(out / "generated.zarr"))
    t0 = time.perf_counter()
    common = {
        "data": data,
        "model": a.model,
        "encoder": a.encoder,
        "encoder_depth": a.encoder_depth,
        "decoder_channels": a.width,
        "formulation": a.formulation,
        "epochs": a.pretrain_epochs,
        "max_minutes": a.pretrain_minutes,
        "n_candidates": a.candidates,
        "seed": a.seed,
    }
    with ProcessPoolExecutor(max_workers=a.jobs) as ex:  # paired and control side by side
        res, ctrl = ex.map(
            _pretrain,
            [
                PretrainConfig(out=str(out / "pretrain"), **common),
                PretrainConfig(out=str(out / "pretrain-shuffled"), shuffle_pairs=True, **common),
            ],
        )
    lines = [
        f"# Contrastive pretraining on `{data}` ({a.model}/{a.encoder})",
        "",
        "## Held-out retrieval (test events)",
        "",
        "| run | N | top-1 | chance | top-5 | chance | p(top-1) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in (
        ("paired", res["retrieval"]),
        ("trained on shuffled pairs", ctrl["retrieval"]),
        ("paired, scored with shuffled pairs", res["shuffled_control"]),
    ):
        lines.append(
            f"| {name} | {r['n_candidates']} | {r['top1']:.3f} | {r['chance_top1']:.3f} | "
            f"{r['top5']:.3f} | {r['chance_top5']:.3f} | {r['p_top1']:.2g} |"
        )
    lines += [
        "",
        "## Downstream test CSI: pretrained encoder vs scratch",
        "",
        "| labels | scratch | pretrained | pretrained - scratch |",
        "|---|---|---|---|",
    ]
    from bench_formulations import _run_all

    runs = {
        (frac, init): out / f"seg-{init}-{int(frac * 100)}"
        for frac in (0.1, 1.0)
        for init in ("scratch", "pretrained")
    }
    _run_all(
        [
            (
                str(run),
                data,
                a.minutes,
                a.formulation,
                {
                    "model": a.model,
                    "encoder": a.encoder,
                    "encoder_depth": a.encoder_depth,
                    "width": a.width,
                    "train_fraction": frac,
                    "seed": a.seed,
                    "init_encoder": res["checkpoint"] if init == "pretrained" else None,
                },
            )
            for (frac, init), run in runs.items()
        ],
        a.jobs,
    )
    downstream = {}
    for frac in (0.1, 1.0):
        csis = {
            init: test_csi(runs[(frac, init)] / "model.pt", data, a.formulation)
            for init in ("scratch", "pretrained")
        }
        downstream[frac] = csis
        lines.append(
            f"| {int(frac * 100)} % | {csis['scratch']:.3f} | {csis['pretrained']:.3f} | "
            f"{csis['pretrained'] - csis['scratch']:+.3f} |"
        )
    lines += [
        "",
        (
            f"Wall time {time.perf_counter() - t0:.0f} s; seed {a.seed}; one seed only - "
            "differences of a few CSI points are within run-to-run noise."
        ),
    ]
    text = "\n".join(lines)
    (out / "bench_pretrain.md").write_text(text + "\n")
    (out / "bench_pretrain.json").write_text(
        json.dumps(
            {
                "data": data,
                "retrieval": res["retrieval"],
                "shuffled_training": ctrl["retrieval"],
                "downstream_csi": {str(k): v for k, v in downstream.items()},
            },
            indent=2,
        )
    )
    print(text)


if __name__ == "__main__":
    main()
