"""Does a longer training budget close the gap? The best formulation, trained longer.

    python benchmarks/bench_budget.py --data data/dev.zarr --minutes 90 --out outputs/budget

Trains ``--formulation`` (default state+upslope_area) on the default small model with the
exact recipe of ``bench_formulations.py`` (one torch thread) for ``--minutes``, then scores
it like that benchmark: whole test events from the event start on full grids, with the
baselines on the same grids and frames. Rows for any shorter runs given with ``--compare``
(e.g. the 12-min run of ``bench_formulations``) are scored the same way and printed beside
it, with the validation-CSI curve (from the CSV log) at a few wall-clock points.
``--hot-start FRAME`` adds rollouts of ``--hot-steps`` frames (default 12: 1 h of 5-min
frames) that start from the simulator's state at that frame (persistence as a baseline).
``--init-from MODEL.pt`` warm-starts the run (e.g. an autoregressive model from a state
model). ``--calibrate`` refits the run's cut on the validation events before scoring. A
finished run (its ``model.pt`` exists) is only scored again. Writes OUT/budget.md and
prints it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_formulations import FORMS, _score, _train


def _curve(run: Path) -> str:
    """Best validation CSI after each validation (from Lightning's CSV log), abridged."""
    logs = sorted(run.glob("**/metrics.csv"))
    if not logs:
        return "no CSV log"
    vals = [float(r["val_csi"]) for r in csv.DictReader(logs[-1].open()) if r.get("val_csi")]
    if not vals:
        return "no validation rows"
    pts = sorted({0, len(vals) // 4, len(vals) // 2, 3 * len(vals) // 4, len(vals) - 1})
    return ", ".join(f"val {i + 1}: {vals[i]:.3f}" for i in pts)


def _calibrate(model: Path, data: str) -> None:
    """``floodcast calibrate`` on ``data``'s validation events (cold rollouts, as the main
    table scores them), once per store."""
    from floodcast.evaluation.calibrate import calibrate
    from floodcast.predict.mapper import FloodMapper

    fit = FloodMapper.load(model).extra.get("cut_fit") or {}
    if fit.get("data") == str(data):
        print(f"{model}: cut {fit['cut']:.3f} already fitted on {data}", flush=True)
        return
    fit = calibrate(model, data)
    print(
        f"{model}: cut {fit['cut']:.3f} (val CSI {fit['csi']:.3f}, {fit['csi_at_default']:.3f} "
        f"at 0.5) fitted on {fit['events']} validation events",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", default="data/dev.zarr")
    ap.add_argument("--out", default="outputs/budget")
    ap.add_argument("--minutes", type=float, default=90.0)
    ap.add_argument("--formulation", default="state+upslope_area", choices=list(FORMS))
    ap.add_argument(
        "--model",
        default=None,
        help="registry model at the small preset's width and depth (default: the "
        "small preset's small_unet)",
    )
    ap.add_argument(
        "--depth-residual",
        action="store_true",
        help="autoregressive: the depth head predicts the change per interval",
    )
    ap.add_argument(
        "--lr-schedule",
        default="constant",
        choices=["constant", "cosine"],
        help="cosine: decay the recipe's learning rate over the --minutes budget",
    )
    ap.add_argument(
        "--init-from",
        default=None,
        help="warm start from this model.pt (e.g. a state model for an "
        "autoregressive run: its channels are matched by name, prev_depth starts at 0)",
    )
    ap.add_argument(
        "--lr", type=float, default=None, help="peak learning rate (default: the recipe's)"
    )
    ap.add_argument(
        "--pushforward",
        type=int,
        default=None,
        help="autoregressive: frames rolled through before the target (default: 3)",
    )
    ap.add_argument(
        "--augment",
        action="store_true",
        help="train on random flips/rotations of the grid (train --augment)",
    )
    ap.add_argument(
        "--prior",
        default=None,
        help="a depth channel of the formulation the model corrects (train --prior)",
    )
    ap.add_argument(
        "--calibrate",
        action="store_true",
        help="refit the run's cut on whole validation events of --data before "
        "scoring (floodcast calibrate; skipped when the model already carries a "
        "cut fitted on this store); --compare runs keep their own cuts",
    )
    ap.add_argument("--tag", default="", help="suffix for the run folder name")
    ap.add_argument(
        "--compare",
        type=Path,
        nargs="*",
        default=[],
        help="run folders (holding model.pt) of shorter budgets to score beside it",
    )
    ap.add_argument("--max-events", type=int, default=None)
    ap.add_argument(
        "--hot-start",
        type=int,
        default=0,
        metavar="FRAME",
        help="also score 1-h rollouts hot-started at this frame: autoregressive "
        "models start from the simulator's depth after frame FRAME-1, and "
        "persistence (that depth held) joins the baselines (0 = cold only)",
    )
    ap.add_argument(
        "--hot-steps",
        type=int,
        default=12,
        help="frames per hot-started rollout (12 = 1 h of 5-min frames; the "
        "6-min BoM events then run 72 min)",
    )
    a = ap.parse_args()
    import torch

    from floodcast.evaluation.rollout import GridBaselines, rollout_table
    from floodcast.predict.mapper import FloodMapper

    torch.set_num_threads(1)
    from floodcast.training.train import PRESETS

    arch = {"preset": "small"} if a.model is None else {**PRESETS["small"], "model": a.model}
    if a.depth_residual:
        arch["depth_residual"] = True
    arch["lr_schedule"] = a.lr_schedule
    if a.augment:
        arch["augment"] = True
    for key in ("init_from", "lr", "pushforward", "prior"):
        if getattr(a, key) is not None:
            arch[key] = getattr(a, key)
    run = Path(a.out) / (
        f"{a.model or 'small'}-{a.formulation}"
        f"{'-residual' if a.depth_residual else ''}"
        f"{'-prior-' + a.prior if a.prior else ''}"
        f"{'' if a.lr_schedule == 'constant' else '-' + a.lr_schedule}-{a.minutes:g}min"
        f"{'-' + a.tag if a.tag else ''}"
    )
    _train((str(run), a.data, a.minutes, a.formulation, {**FORMS[a.formulation], **arch}))
    if a.calibrate:
        _calibrate(run / "model.pt", a.data)
    gb = GridBaselines(a.data, FloodMapper.load(run / "model.pt").threshold)
    results = {}
    for r in [*a.compare, run]:
        results[r.name] = _score(r / "model.pt", a.data, a.max_events, gb if not results else None)
        print(r.name, results[r.name]["overall"].scores(), flush=True)
    title = (
        f"# {a.formulation}: {a.model or 'small model'}, {a.minutes:g} min (1 thread) on `{a.data}`"
    )
    lines = [title, ""]
    lines += rollout_table(results)
    if a.hot_start:
        hot = {
            r.name: _score(
                r / "model.pt",
                a.data,
                a.max_events,
                gb if i == 0 else None,
                start=a.hot_start,
                steps=a.hot_steps,
            )
            for i, r in enumerate([*a.compare, run])
        }
        lines += [
            "",
            (
                f"{a.hot_steps}-step rollouts hot-started at frame {a.hot_start} (the "
                f"simulator's depth after frame {a.hot_start - 1} handed over):"
            ),
            "",
        ]
        lines += rollout_table(hot)
    lines += ["", "Validation CSI (one step) along each run:", ""]
    lines += [f"- {r.name}: {_curve(r)}" for r in [*a.compare, run]]
    text = "\n".join(lines) + "\n"
    (Path(a.out) / "budget.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
