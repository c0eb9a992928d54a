"""Scores and report of the flood nowcast verification: tables (CSV, Markdown), figure, JSON.

From the pooled accumulators of :mod:`floodcast.evaluation.flood_verify`: per sequence and
lead the ensemble-median (P >= 0.5) wet map's CSI / POD / FAR / bias beside deterministic
extrapolation, persistence and no-more-rain; Brier score and Brier skill score against
persistence and no-more-rain; ROC area; ensemble spread and the ensemble mean's RMSE; a
reliability table pooled over leads; and the issue's three targets checked.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from floodcast.evaluation.flood_verify import RAIN_WET_MMH, REFS


def _bss(bs: float, ref: float) -> float:
    return 1.0 - bs / ref if ref > 0 else math.nan


def roc_area(wet: np.ndarray, dry: np.ndarray) -> float:
    """ROC area from counts of wet / dry cells per probability level 0..M (cut P >= l/M)."""
    if wet.sum() == 0 or dry.sum() == 0:
        return math.nan
    pod = np.r_[np.cumsum(wet[::-1])[::-1] / wet.sum(), 0.0]
    pofd = np.r_[np.cumsum(dry[::-1])[::-1] / dry.sum(), 0.0]
    return float(-np.trapezoid(pod, pofd))


def score_table(res: dict):
    """One row per (sequence, lead)."""
    import pandas as pd

    rows = []
    for name, sc in res["sequences"].items():
        for k in range(sc.n_leads):
            n = max(int(sc.n[k]), 1)
            ens = sc.ct[("ensemble", k)].scores()
            bs = sc.brier[("ensemble", k)] / n
            bs_p = sc.brier[("persistence", k)] / n
            bs_z = sc.brier[("no_rain", k)] / n
            row = {
                "sequence": name,
                "lead_min": (k + 1) * sc.interval_s / 60.0,
                "csi": ens["csi"],
                "pod": ens["pod"],
                "far": ens["far"],
                "bias": ens["bias"],
            }
            for ref in REFS:
                row[f"csi_{ref}"] = sc.ct[(ref, k)].scores()["csi"]
            row.update(
                {
                    "brier": bs,
                    "brier_persistence": bs_p,
                    "brier_no_rain": bs_z,
                    "bss_vs_persistence": _bss(bs, bs_p),
                    "bss_vs_no_rain": _bss(bs, bs_z),
                    "roc_area": roc_area(sc.hist_wet[k], sc.hist_dry[k]),
                    "spread_m": math.sqrt(sc.spread2[k] / max(sc.n_active[k], 1)),
                    "rmse_mean_m": math.sqrt(sc.err2[k] / max(sc.n_active[k], 1)),
                    "wet_fraction_truth": ens["wet_fraction_truth"],
                    "n_starts": len(sc.starts),
                }
            )
            rows.append(row)
    return pd.DataFrame(rows)


def reliability_table(res: dict):
    """Observed wet frequency per forecast probability level, pooled over leads and starts."""
    import pandas as pd

    rows = []
    for name, sc in res["sequences"].items():
        wet, dry = sc.hist_wet.sum(0), sc.hist_dry.sum(0)
        tot = wet + dry
        for lev in range(sc.members + 1):
            if tot[lev] == 0:
                continue
            p, f = lev / sc.members, wet[lev] / tot[lev]
            share = tot[lev] / tot.sum()
            rows.append(
                {
                    "sequence": name,
                    "probability": p,
                    "observed_frequency": f,
                    "cells": int(tot[lev]),
                    "share": share,
                    "within_0.1": bool(abs(f - p) <= 0.1),
                    "counts": bool(share >= 0.01),
                }
            )
    return pd.DataFrame(rows)


def rain_table(res: dict):
    """The rain nowcast's own skill behind the flood scores, per lead: window-mean rain
    (mm/h, averaged over starts) of the STEPS members, deterministic extrapolation and the
    observed; their ratio to observed (bias of the mean); and the CSI / frequency bias of
    rain >= RAIN_WET_MMH (STEPS median, extrapolation) pooled over starts."""
    import pandas as pd

    rows = []
    for name, sc in res["sequences"].items():
        a = np.array([r[1:] for r in sc.rain_skill], float)
        for k in range(1, sc.n_leads + 1):
            s = a[a[:, 0] == k]
            steps, extrap, obs = s[:, 1].mean(), s[:, 2].mean(), s[:, 3].mean()
            ens = sc.ct[("rain_ensemble", k - 1)].scores()
            det = sc.ct[("rain_extrapolation", k - 1)].scores()
            rows.append(
                {
                    "sequence": name,
                    "lead_min": k * sc.interval_s / 60.0,
                    "rain_steps_mmh": steps,
                    "rain_extrapolation_mmh": extrap,
                    "rain_observed_mmh": obs,
                    "rain_ratio_steps": steps / obs if obs > 0 else math.nan,
                    "rain_ratio_extrapolation": extrap / obs if obs > 0 else math.nan,
                    "rain_csi_steps": ens["csi"],
                    "rain_csi_extrapolation": det["csi"],
                    "rain_bias_steps": ens["bias"],
                    "rain_bias_extrapolation": det["bias"],
                }
            )
    return pd.DataFrame(rows)


def targets(df, rel) -> dict:
    """The issue's targets: True/False per sequence, with the failing leads/bins."""
    out = {}
    for name, g in df.groupby("sequence"):
        upto = g[g.lead_min <= 60 + 1e-9]
        bad = upto[(~(upto.bss_vs_persistence > 0)) | (~(upto.bss_vs_no_rain > 0))]
        last = upto.iloc[-1]
        r = rel[(rel.sequence == name) & rel.counts]
        out[name] = {
            "bss_positive_both_refs_every_lead": bool(bad.empty),
            "bss_failing_leads_min": bad.lead_min.tolist(),
            "csi_ensemble_beats_extrapolation_at_60": bool(last.csi > last.csi_extrapolation),
            "csi_at_60": [float(last.csi), float(last.csi_extrapolation)],
            "reliability_within_0.1": bool(r["within_0.1"].all()),
            "reliability_failing_bins": r[~r["within_0.1"]].probability.tolist(),
        }
    return out


_WINDOW_TEXT = {
    "past": "per start from the spin-up frames up to the start (--window past)",
    "sequence": "once over the whole sequence, truth included (--window sequence)",
}


def _md(df, cols, fmt="{:.3f}") -> str:
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    body = ""
    for _, r in df.iterrows():
        body += (
            "| "
            + " | ".join(fmt.format(r[c]) if isinstance(r[c], float) else str(r[c]) for c in cols)
            + " |\n"
        )
    return head + body


def markdown(res: dict, df, rel, tg: dict, rain=None) -> str:
    d, q = res["dem"], res["request"]
    ens = q.get("ensemble_method", "steps").upper()
    txt = (
        f"# Flood nowcast verification\n\nDEM {d['source']} {d['shape']} cells of "
        f"{d['cell_size']:.1f} m; {q['members']} {ens} members on the window plus "
        f"{q.get('margin_km', 40.0):g} km of radar; radar window chosen "
        f"{_WINDOW_TEXT.get(q.get('window', 'sequence'), '?')}; ensemble options over the "
        f"defaults: {q.get('steps_options') or 'none'}; wet = depth > "
        f"{q['threshold']} m; pooled over start times.\n\n"
    )
    cols = [
        "sequence",
        "lead_min",
        "csi",
        "pod",
        "far",
        "bias",
        "csi_extrapolation",
        "csi_persistence",
        "csi_no_rain",
        "brier",
        "bss_vs_persistence",
        "bss_vs_no_rain",
        "roc_area",
        "spread_m",
        "rmse_mean_m",
        "wet_fraction_truth",
    ]
    txt += "## Scores per lead\n\n" + _md(df, cols) + "\n"
    if rain is not None:
        txt += (
            "## The rain nowcast's own skill on the window (mean rain in mm/h, mean over "
            f"starts; CSI and bias of rain >= {RAIN_WET_MMH:g} mm/h, pooled)\n\n"
            + _md(rain, list(rain.columns))
            + "\n"
        )
    txt += (
        "## Reliability (pooled over leads)\n\n"
        + _md(rel, ["sequence", "probability", "observed_frequency", "share", "within_0.1"])
        + "\n"
    )
    txt += (
        "## Targets\n\n| sequence | BSS > 0 vs both refs, every lead <= 60 | ensemble CSI "
        "> extrapolation at 60 min | reliability within 0.1 |\n|---|---|---|---|\n"
    )
    for name, t in tg.items():
        txt += (
            f"| {name} | {t['bss_positive_both_refs_every_lead']} "
            f"(failing: {t['bss_failing_leads_min']}) | "
            f"{t['csi_ensemble_beats_extrapolation_at_60']} "
            f"({t['csi_at_60'][0]:.3f} vs {t['csi_at_60'][1]:.3f}) | "
            f"{t['reliability_within_0.1']} (failing bins: "
            f"{t['reliability_failing_bins']}) |\n"
        )
    return txt


def plot(df, rel, path: Path) -> None:
    """The report's figure (:func:`figure`) as a PNG."""
    import matplotlib.pyplot as plt

    fig = figure(df, rel)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def figure(df, rel):
    """Four panels: CSI, Brier skill, reliability, spread vs error. Titles are two short
    lines each: one line per panel ran into the neighbours' titles at this width."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 4, figsize=(17, 4.2), layout="constrained")
    for name, g in df.groupby("sequence"):
        (line,) = ax[0].plot(g.lead_min, g.csi, "o-", label=f"{name} ensemble")
        ax[0].plot(
            g.lead_min,
            g.csi_extrapolation,
            "--",
            color=line.get_color(),
            label=f"{name} extrapolation",
        )
        ax[0].plot(g.lead_min, g.csi_persistence, ":", color=line.get_color())
        ax[1].plot(g.lead_min, g.bss_vs_persistence, "o-", color=line.get_color(), label=name)
        ax[1].plot(g.lead_min, g.bss_vs_no_rain, "s--", color=line.get_color())
        ax[3].plot(g.lead_min, g.spread_m, "o-", color=line.get_color(), label=f"{name} spread")
        ax[3].plot(g.lead_min, g.rmse_mean_m, "x--", color=line.get_color(), label=f"{name} RMSE")
        r = rel[rel.sequence == name]
        ax[2].plot(r.probability, r.observed_frequency, "o-", color=line.get_color(), label=name)
    ax[0].set(
        xlabel="lead (min)",
        ylabel="CSI (depth > threshold)",
        title="CSI of the wet map\nensemble median (-), extrapolation (--), persistence (:)",
    )
    ax[1].axhline(0, color="k", lw=0.8)
    ax[1].set(
        xlabel="lead (min)",
        ylabel="Brier skill score",
        title="Brier skill score\nvs persistence (o-), vs no more rain (s--)",
    )
    ax[2].plot([0, 1], [0, 1], "k:", lw=0.8)
    ax[2].fill_between([0, 1], [-0.1, 0.9], [0.1, 1.1], color="0.9")
    ax[2].set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="forecast probability",
        ylabel="observed frequency",
        title="reliability\n(grey band: ±0.1 of the diagonal)",
    )
    ax[3].set(
        xlabel="lead (min)",
        ylabel="depth (m)",
        title="ensemble spread (o-)\nvs RMSE of the mean (x--)",
    )
    for a in ax:
        a.legend(fontsize=6)
        a.title.set_fontsize(9)
    return fig


def write_report(out: Path, res: dict) -> list[Path]:
    """flood_verify.md / .csv / reliability.csv / .png / .json into ``out`` (atomically)."""
    from floodcast.io.atomic import atomic_dir

    df = score_table(res)
    rel = reliability_table(res)
    tg = targets(df, rel)
    rain = rain_table(res)
    with atomic_dir(out) as tmp:
        rain.to_csv(tmp / "rain.csv", index=False, float_format="%.4f")
        df.to_csv(tmp / "flood_verify.csv", index=False, float_format="%.4f")
        rel.to_csv(tmp / "reliability.csv", index=False, float_format="%.4f")
        (tmp / "flood_verify.md").write_text(markdown(res, df, rel, tg, rain))
        plot(df, rel, tmp / "flood_verify.png")
        meta = {
            "dem": res["dem"],
            "request": res["request"],
            "targets": tg,
            "sequences": {
                n: {
                    "starts": s.starts,
                    "windows": s.windows,
                    "rain_mean_steps_extrapolation_observed": [
                        [t, k, float(f), float(e), float(o)] for t, k, f, e, o in s.rain_skill
                    ],
                }
                for n, s in res["sequences"].items()
            },
        }
        (tmp / "flood_verify.json").write_text(json.dumps(meta, indent=2, default=str))
        names = sorted(p.name for p in tmp.iterdir())
    return [out / n for n in names]
