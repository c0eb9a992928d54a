"""Verification of radar extrapolation against what was observed, with pysteps' scores.

For each start time ``i`` of a sequence (the last observed frame), the previous
``n_past`` frames give the motion field, the last one is advected ``n_steps`` ahead
and each lead ``k`` is compared with the frame observed at ``t_i + k * interval``.
The reference the extrapolation must beat is persistence: frame ``i`` held.

Scores at each rain threshold (default 1 mm/h):
  * CSI from a contingency table (``pysteps.verification.det_cat_fct_*``),
  * FSS at neighbourhood scales given in km (``pysteps.verification.fss_*``).

Aggregation over start times is **pooled**: contingency tables and FSS sums are
accumulated over all starts before the score is computed (pysteps' accumulate /
compute pattern), so each start weighs by its rain area and a dry start does not make
a CSI of 0/0. The per-start median CSI is reported beside it as a spread check.
All methods are scored on the same cells: observed, extrapolated and persisted values
all finite (radar coverage, and no rain advected in from outside the grid).
"""

from __future__ import annotations

import numpy as np

from floodcast.errors import InputError
from floodcast.predict.nowcast import extrapolate

REFERENCE = "persistence"


def _valid_starts(times: np.ndarray, interval_s: float, n_steps: int, n_past: int) -> list[int]:
    """Start indices with n_past frames before and n_steps frames after, without gaps."""
    t = times.astype("datetime64[s]").astype(np.int64)
    pos = {int(v): i for i, v in enumerate(t)}
    dt = round(interval_s)
    out = []
    for i, ti in enumerate(t):
        need = [int(ti) + k * dt for k in range(-(n_past - 1), n_steps + 1)]
        if all(v in pos for v in need):
            out.append(i)
    return out


def pick_starts(n_valid: list[int], n_starts: int) -> list[int]:
    """``n_starts`` start indices spread evenly over the valid ones (all if fewer)."""
    if len(n_valid) <= n_starts:
        return list(n_valid)
    idx = np.unique(np.round(np.linspace(0, len(n_valid) - 1, n_starts)).astype(int))
    return [n_valid[j] for j in idx]


def verify_extrapolation(
    seq,
    n_steps: int = 12,
    starts: list[int] | None = None,
    n_starts: int = 6,
    n_past: int = 3,
    thresholds: tuple[float, ...] = (1.0,),
    scales_km: tuple[float, ...] = (2.0, 10.0, 40.0),
    region: tuple[int, int, int, int] | None = None,
    flow: str = "lucaskanade",
    name: str | None = None,
):
    """CSI and FSS of extrapolation and persistence against lead time.

    Args:
        seq: a :class:`~floodcast.io.radar.RadarSequence` (or anything with
            ``rain_mmh``, ``times``, ``interval_s``, ``cell_size``, ``source``).
        n_steps: leads to verify (12 x 5 min = 1 h).
        starts: indices of the last observed frame; None = ``n_starts`` spread evenly
            over the starts that have ``n_past`` frames before and ``n_steps`` after.
        n_past: frames used for the motion field (>= 2).
        thresholds: rain-rate thresholds in mm/h.
        scales_km: FSS neighbourhood sizes in km (rounded to odd... any cell count >= 1).
        region: (row0, row1, col0, col1) crop of the grid (None = whole grid).
        flow: optical-flow method.
        name: label of the sequence in the table (default: ``seq.source``).

    Returns:
        ``pandas.DataFrame``, one row per (method, threshold, lead): ``sequence, method,
        threshold_mmh, lead_steps, lead_min, csi, pod, far, csi_median, fss_<s>km ...,
        n_starts, rain_cells_obs``.
    """
    import pandas as pd
    from pysteps.verification import detcatscores as dc
    from pysteps.verification import spatialscores as ss

    rain = np.asarray(seq.rain_mmh, np.float32)
    if region is not None:
        r0, r1, c0, c1 = region
        rain = rain[:, r0:r1, c0:c1]
    if rain.ndim != 3 or min(rain.shape[1:]) < 8:
        raise InputError(f"radar frames {rain.shape} must be [t, y, x] with at least 8x8 cells")
    n_past = max(2, int(n_past))
    interval = float(seq.interval_s)
    valid = _valid_starts(np.asarray(seq.times), interval, n_steps, n_past)
    if starts is None:
        if not valid:
            raise InputError(
                f"{seq.source}: {rain.shape[0]} frames cannot give {n_past} past + "
                f"{n_steps} future frames without a gap; use fewer --steps"
            )
        starts = pick_starts(valid, n_starts)
    else:
        bad = [i for i in starts if i not in valid]
        if bad:
            raise InputError(
                f"start indices {bad} lack {n_past} past or {n_steps} future frames "
                f"(valid: {valid[:3]}…{valid[-3:] if valid else ''})"
            )
    cell_km = float(seq.cell_size) / 1000.0
    scale_px = {s: max(1, round(s / cell_km)) for s in scales_km}
    methods = ("extrapolation", REFERENCE)
    acc = {
        (m, thr, k): {
            "ct": dc.det_cat_fct_init(thr),
            "per_start": [],
            "rain": 0,
            "fss": {s: ss.fss_init(thr, px) for s, px in scale_px.items()},
        }
        for m in methods
        for thr in thresholds
        for k in range(1, n_steps + 1)
    }
    for i in starts:
        past = rain[i - n_past + 1 : i + 1]
        fc = extrapolate(
            past,
            n_steps,
            method="extrapolation",
            flow=flow,
            n_flow_frames=n_past,
            cell_size_m=seq.cell_size,
            interval_s=interval,
        )
        for k in range(1, n_steps + 1):
            obs = rain[i + k]
            ok = np.isfinite(obs) & np.isfinite(fc[k - 1]) & np.isfinite(rain[i])
            o = np.where(ok, obs, np.nan)
            for m, pred in (("extrapolation", fc[k - 1]), (REFERENCE, rain[i])):
                p = np.where(ok, pred, np.nan)
                for thr in thresholds:
                    a = acc[(m, thr, k)]
                    dc.det_cat_fct_accum(a["ct"], p, o)
                    one = dc.det_cat_fct(p, o, thr, scores="CSI")["CSI"]
                    a["per_start"].append(one)
                    a["rain"] += int(np.sum(o >= thr))
                    for s in scale_px:
                        ss.fss_accum(a["fss"][s], p, o)
    rows = []
    label = name or str(seq.source)
    for (m, thr, k), a in acc.items():
        sc = dc.det_cat_fct_compute(a["ct"], scores=["CSI", "POD", "FAR"])
        per = np.asarray(a["per_start"], float)
        row = {
            "sequence": label,
            "method": m,
            "threshold_mmh": thr,
            "lead_steps": k,
            "lead_min": k * interval / 60.0,
            "csi": sc["CSI"],
            "pod": sc["POD"],
            "far": sc["FAR"],
            "csi_median": float(np.nanmedian(per)) if np.isfinite(per).any() else np.nan,
        }
        for s in scale_px:
            row[f"fss_{s:g}km"] = ss.fss_compute(a["fss"][s])
        row.update({"n_starts": len(starts), "rain_cells_obs": a["rain"]})
        rows.append(row)
    df = pd.DataFrame(rows).sort_values(["sequence", "threshold_mmh", "method", "lead_steps"])
    df.attrs.update(
        {
            "starts": [int(i) for i in starts],
            "start_times": [str(seq.times[i]) for i in starts],
            "scale_px": {f"{s:g}km": px for s, px in scale_px.items()},
            "aggregation": "pooled over starts (per-start median in csi_median)",
        }
    )
    return df.reset_index(drop=True)


def skill_vs_reference(df):
    """Extrapolation beside persistence per (sequence, threshold, lead), with differences
    and ratios of CSI and every FSS column."""
    keys = ["sequence", "threshold_mmh", "lead_steps", "lead_min"]
    scores = ["csi"] + [c for c in df.columns if c.startswith("fss_")]
    ex = df[df.method == "extrapolation"].set_index(keys)[scores]
    ref = df[df.method == REFERENCE].set_index(keys)[scores]
    out = ex.add_suffix("_extrap").join(ref.add_suffix("_persist"))
    for s in scores:
        out[f"{s}_diff"] = out[f"{s}_extrap"] - out[f"{s}_persist"]
        out[f"{s}_ratio"] = out[f"{s}_extrap"] / out[f"{s}_persist"].where(out[f"{s}_persist"] > 0)
    return out.reset_index()


def skill_markdown(df, fss_col: str | None = None) -> str:
    """Markdown table: CSI and one FSS column, extrapolation vs persistence, per lead."""
    wide = skill_vs_reference(df)
    fss_col = fss_col or _headline_fss(df)
    lines = []
    for (name, thr), g in wide.groupby(["sequence", "threshold_mmh"], sort=False):
        n = int(df[(df.sequence == name)].n_starts.iloc[0])
        lines += [
            f"### {name}: rain >= {thr:g} mm/h ({n} start times, pooled)",
            "",
            (
                f"| lead (min) | CSI extrap | CSI persist | CSI ratio | {fss_col} extrap "
                f"| {fss_col} persist | FSS ratio |"
            ),
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for _, r in g.iterrows():
            lines.append(
                f"| {r.lead_min:g} | {r.csi_extrap:.3f} | {r.csi_persist:.3f} | "
                f"{r.csi_ratio:.2f} | {r[fss_col + '_extrap']:.3f} | "
                f"{r[fss_col + '_persist']:.3f} | {r[fss_col + '_ratio']:.2f} |"
            )
        lines.append("")
    return "\n".join(lines)


def _headline_fss(df) -> str:
    cols = [c for c in df.columns if c.startswith("fss_")]
    return "fss_10km" if "fss_10km" in cols else cols[len(cols) // 2]


def plot_skill(df, path, fss_col: str | None = None) -> None:
    """PNG: CSI and FSS against lead time; solid = extrapolation, dashed = persistence."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fss_col = fss_col or _headline_fss(df)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, ((name, thr), g) in enumerate(df.groupby(["sequence", "threshold_mmh"], sort=False)):
        c = colours[j % len(colours)]
        for m, ls in (("extrapolation", "-"), (REFERENCE, "--")):
            h = g[g.method == m]
            lab = f"{name} {thr:g} mm/h {m}"
            axes[0].plot(h.lead_min, h.csi, ls, color=c, marker="o", ms=3, label=lab)
            axes[1].plot(h.lead_min, h[fss_col], ls, color=c, marker="o", ms=3, label=lab)
    for ax, t in zip(axes, ("CSI", fss_col.replace("fss_", "FSS at ")), strict=False):
        ax.set_xlabel("lead time (min)")
        ax.set_ylabel(t)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes[0].set_title("CSI (pooled over start times)", fontsize=9)
    axes[1].set_title(f"{fss_col} (solid: extrapolation, dashed: persistence)", fontsize=9)
    axes[1].legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
