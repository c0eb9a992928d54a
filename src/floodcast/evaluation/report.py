"""Evaluation report: Markdown tables (with formulas) + PNG figures in one folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from floodcast.metrics import FORMULAS, Contingency
from floodcast.models.cut import model_cut

COLS = ("accuracy", "all_dry_accuracy", "csi", "pod", "far", "bias", "f1", "mcc")
METHODS = ("model", "model+postprocess", "all_dry", "climatology", "terrain_heuristic")


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


def score_rows(overall: dict) -> list[dict]:
    rows = []
    for (method, t), tab in sorted(
        overall.items(), key=lambda kv: (kv[0][1], METHODS.index(kv[0][0]))
    ):
        rows.append({"method": method, "threshold_m": t, **tab.scores(), "n": tab.n})
    return rows


def _table(rows: list[dict], first: tuple[str, ...]) -> list[str]:
    head = list(first) + list(COLS)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(
            "| " + " | ".join([str(r[k]) for k in first] + [_fmt(r[c]) for c in COLS]) + " |"
        )
    return lines


def confusion_png(tab: Contingency, path: Path, title: str) -> None:
    m = np.array([[tab.correct_negatives, tab.false_alarms], [tab.misses, tab.hits]], float)
    fig, ax = plt.subplots(figsize=(3.6, 3.2))
    ax.imshow(m / max(m.sum(), 1), cmap="Blues")
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, f"{int(v)}\n{v / max(m.sum(), 1):.1%}", ha="center", va="center", fontsize=8)
    ax.set_xticks([0, 1], ["pred dry", "pred wet"])
    ax.set_yticks([0, 1], ["true dry", "true wet"])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def maps_png(
    ds, model, picks: list[tuple[str, int]], path: Path, postprocess: bool, cut: float = 0.5
) -> None:
    """Rain sum, DEM, truth, prediction and error for the chosen samples."""
    import torch

    from floodcast.predict.postprocess import remove_isolated

    fig, axes = plt.subplots(len(picks), 5, figsize=(13, 2.7 * len(picks)), squeeze=False)
    for row, (label, i) in enumerate(picks):
        s = ds.sample(i)
        with torch.no_grad():
            prob = model.predict_proba(torch.from_numpy(s["x"])[None])[0].numpy()
        pred = prob > cut
        if postprocess:
            pred = remove_isolated(pred)
        err = pred.astype(int) - s["wet"].astype(int)
        panels = [
            (s["rain_sum"], "rain sum (mm)", "Blues"),
            (s["dem"], "DEM (m)", "terrain"),
            (s["wet"], "truth wet", "Greys"),
            (pred, "predicted wet", "Greys"),
            (err, "error (+1 false alarm, -1 miss)", "bwr"),
        ]
        for ax, (img, name, cmap) in zip(axes[row], panels, strict=False):
            kw = {"bwr": {"vmin": -1, "vmax": 1}, "Greys": {"vmin": 0, "vmax": 1}}.get(cmap, {})
            im = ax.imshow(img, cmap=cmap, **kw)
            ax.set_title(f"{label}: {name}" if ax is axes[row][0] else name, fontsize=8)
            ax.axis("off")
            fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def learning_curves_png(model_dir: Path, path: Path) -> bool:
    csvs = sorted(
        (model_dir / "logs").glob("version_*/metrics.csv"),
        key=lambda p: int(p.parent.name.split("_")[1]),
    )
    if not csvs:
        return False
    import pandas as pd

    df = pd.concat([pd.read_csv(c) for c in csvs], ignore_index=True)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2))
    for col in ("train_loss_epoch", "val_loss"):
        if col in df:
            d = df[["epoch", col]].dropna()
            a1.plot(d["epoch"], d[col], marker="o", label=col)
    for col in ("train_csi", "val_csi", "val_mcc"):
        if col in df:
            d = df[["epoch", col]].dropna()
            a2.plot(d["epoch"], d[col], marker="o", label=col)
    a1.set_xlabel("epoch"), a1.legend(fontsize=8), a1.set_title("loss")
    a2.set_xlabel("epoch"), a2.legend(fontsize=8), a2.set_title("scores")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def write_report(out: Path, res, ctx: dict, speed: dict | None, model_path: Path) -> Path:
    """Write report.md, scores.json and the PNGs; returns the Markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    ds, model, extra = ctx["dataset"], ctx["model"], ctx["extra"]
    th0 = res.threshold
    rows = score_rows(res.overall)
    lines = [
        f"# floodcast evaluation: {model_path}",
        "",
        (
            f"Dataset `{ds.path}`, split **{ds.split}**: {res.n_samples} samples from "
            f"{len(res.events)} events (split by event). Model trained at wet threshold "
            f"{th0} m; channels {', '.join(ds.channels)}. Wet where the model's wet probability "
            f"exceeds {model_cut(extra):.3f}"
            f"{' (fitted on the validation split)' if 'cut' in extra else ''}."
        ),
        "",
        (
            "Accuracy is never the headline: with most cells dry, predicting *all dry* is "
            "already very accurate (column `all_dry_accuracy`). Judge by CSI and MCC."
        ),
        "",
        "## Formulas",
        "",
        "hits = a, false alarms = b, misses = c, correct negatives = d",
        "",
    ]
    lines += [f"- **{k}** = {v}" for k, v in FORMULAS.items()]
    lines += ["", "## Overall (all cells of all samples)", ""] + _table(
        rows, ("method", "threshold_m")
    )
    lines += [
        "",
        (
            f"Terrain heuristic thresholds fitted on train (rain mm x upslope cells): "
            f"{json.dumps({str(k): v for k, v in res.heuristic_thresholds.items()})}."
        ),
        (
            "Thresholds other than the training one are scored for the model only when it "
            "has a depth head."
        ),
        "",
        f"## Per event (threshold {th0} m)",
        "",
    ]
    ev_rows = [
        {"event": ev, "method": m, **res.per_event[(ev, m, th0)].scores()}
        for ev in res.events
        for m in ("model", "climatology", "terrain_heuristic")
        if (ev, m, th0) in res.per_event
    ]
    lines += _table(ev_rows, ("event", "method"))
    tab = res.overall.get(("model", th0))
    if tab is not None:
        confusion_png(tab, out / "confusion.png", f"model @ {th0} m")
        lines += ["", "## Confusion matrix", "", "![confusion](confusion.png)"]
    if res.sample_csi:
        ordered = sorted(res.sample_csi, key=lambda t: (np.nan_to_num(t[0], nan=-1), t[1]))
        picks = [
            ("best", ordered[-1][1]),
            ("median", ordered[len(ordered) // 2][1]),
            ("worst", ordered[0][1]),
        ]
        maps_png(
            ds, model, picks, out / "maps.png", bool(extra.get("postprocess")), model_cut(extra)
        )
        lines += ["", "## Maps: best, median and worst sample (by CSI)", "", "![maps](maps.png)"]
    if learning_curves_png(model_path.parent, out / "learning_curves.png"):
        lines += ["", "## Learning curves", "", "![learning curves](learning_curves.png)"]
    if speed:
        lines += [
            "",
            "## Speed: time per flood map",
            "",
            (
                f"Area {speed['area_cells']} cells of {speed['cell_size_m']} m, "
                f"{speed['threads']} torch thread(s); simulator cold = from the event start "
                f"({speed['simulated_s'] / 3600:.1f} h simulated), hot = one more radar interval."
            ),
            "",
            "| model (s) | simulator cold (s) | simulator hot (s) | model vs cold | model vs hot |",
            "|---|---|---|---|---|",
            (
                f"| {speed['model_s']:.3f} | {speed['cold_s']:.3f} | {speed['hot_s']:.3f} | "
                f"{speed['speedup_vs_cold']:.1f}x | {speed['speedup_vs_hot']:.2f}x |"
            ),
            "",
            (
                "Where the hot-started simulator is faster than the model (ratio < 1), running "
                "the physics live is the better tool; the emulator wins when no simulation "
                "state is at hand (cold)."
            ),
        ]
        if "storm_runs_s" in speed:
            lines += [
                "",
                (
                    f"This model reads {', '.join(f'`{c}`' for c in speed['storm_channels'])}: "
                    f"before its first map of a new DEM it runs the uniform storms once "
                    f"({speed['storm_runs_s']:.2f} s "
                    f"here), so that first map is {speed['speedup_first_map_vs_cold']:.1f}x the cold "
                    "simulation; later maps of the same DEM reuse them."
                ),
            ]
    md = out / "report.md"
    md.write_text("\n".join(lines) + "\n")
    (out / "scores.json").write_text(
        json.dumps(
            {
                "overall": rows,
                "per_event": ev_rows,
                "speed": speed,
                "heuristic_thresholds": {str(k): v for k, v in res.heuristic_thresholds.items()},
            },
            indent=2,
            default=float,
        )
    )
    return md
