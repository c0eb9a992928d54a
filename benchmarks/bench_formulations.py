"""Formulations and models side by side on the held-out test events, same budget each.

    python benchmarks/bench_formulations.py --data data/dev.zarr --minutes 6 --out outputs/formulations

1. Formulations (one model type, default DeepLabV3+/resnet18): original (K frames + DEM),
   state (+ rain since start, time since start), autoregressive (+ previous depth, depth
   head, rolled out on its own output). Scored on whole test events (full DEM grids,
   every frame from the event start: 2 h = 24 steps, >= 12 as required).
2. Models (registry): DeepLabV3+, U-Net, the no-skip autoencoder and the centre-pixel
   classifier, each trained with the best formulation under the same budget; patch-level
   test scores from `floodcast.evaluation.evaluate` with the baselines beside them.
3. Speed of the default model against the simulator on a 512x512 area (cold and hot).
Writes OUT/formulations.md and prints it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from floodcast.evaluation.evaluate import EvalConfig, evaluate  # noqa: E402
from floodcast.evaluation.report import score_rows  # noqa: E402
from floodcast.evaluation.rollout import rollout_scores, rollout_table  # noqa: E402
from floodcast.evaluation.speed import speed_table  # noqa: E402
from floodcast.predict.mapper import FloodMapper  # noqa: E402
from floodcast.training.train import TrainConfig, train  # noqa: E402

FORMS = {"original": {}, "state": {}, "autoregressive": {"depth_head": True}}


def _train(data, out, minutes, model="deeplabv3plus", formulation="original", **kw) -> Path:
    cfg = TrainConfig(data=data, out=str(out), model=model, formulation=formulation,
                      epochs=1000, patience=1000, max_minutes=minutes, lr=1e-3, batch_size=8, **kw)
    if (out / "model.pt").exists():
        return out / "model.pt"
    train(cfg, progress=False)
    return out / "model.pt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/dev.zarr")
    ap.add_argument("--out", default="outputs/formulations")
    ap.add_argument("--minutes", type=float, default=6.0, help="training budget per model")
    ap.add_argument("--model", default="deeplabv3plus")
    ap.add_argument("--max-events", type=int, default=None)
    ap.add_argument("--skip-models", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# Formulations and models on `{a.data}` (test events, {a.minutes} min training each)", ""]
    results = {}
    for name, kw in FORMS.items():
        path = _train(a.data, out / f"form-{name}", a.minutes, a.model, name, **kw)
        mapper = FloodMapper.load(path)
        results[name] = rollout_scores(mapper, a.data, "test", max_events=a.max_events)
        print(name, results[name]["overall"].scores())
    lines += ["## Formulations: whole test events from the event start (full grids)", ""]
    lines += rollout_table(results)
    best = max(results, key=lambda k: results[k]["overall"].scores()["csi"])
    lines += ["", f"Best formulation: **{best}**.", ""]
    if not a.skip_models:
        lines += [f"## Models ({best} formulation, patch-level test scores at the training threshold)", "",
                  "| model | CSI | MCC | bias | F1 | accuracy | all-dry accuracy |", "|---|---|---|---|---|---|---|"]
        base_rows = None
        for model in ("deeplabv3plus", "unet", "autoencoder", "centre_pixel"):
            kw = dict(FORMS[best])
            path = _train(a.data, out / f"model-{model}-{best}", a.minutes, model, best, **kw)
            res, _ = evaluate(EvalConfig(model=str(path), data=a.data, out=str(out), speed=False))
            rows = score_rows(res.overall)
            r = next(r for r in rows if r["method"] == "model" and r["threshold_m"] == res.threshold)
            lines.append(f"| {model} | {r['csi']:.3f} | {r['mcc']:.3f} | {r['bias']:.2f} | {r['f1']:.3f} | "
                         f"{r['accuracy']:.4f} | {r['all_dry_accuracy']:.4f} |")
            base_rows = [r for r in rows if r["threshold_m"] == res.threshold and r["method"] in
                         ("all_dry", "climatology", "terrain_heuristic")]
        for r in base_rows or []:
            lines.append(f"| baseline: {r['method']} | {r['csi']:.3f} | {r['mcc']:.3f} | "
                         f"{r['bias']:.2f} | {r['f1']:.3f} | {r['accuracy']:.4f} | "
                         f"{r['all_dry_accuracy']:.4f} |")
    mapper = FloodMapper.load(out / f"form-{best}" / "model.pt")
    torch.set_num_threads(1)
    sp = speed_table(mapper.model, len(mapper.channels), n=512)
    lines += ["", "## Speed on 512x512 (1 thread)", "", "```", json.dumps(sp, indent=2), "```"]
    text = "\n".join(lines) + "\n"
    (out / "formulations.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
