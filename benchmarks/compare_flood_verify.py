"""Compare `nowcast verify --flood` runs (e.g. STEPS variants, --window past vs sequence).

For each output folder given (``NAME=DIR`` or ``DIR``), per sequence: the ensemble median's
CSI and bias at 60 min beside deterministic extrapolation's CSI; the Brier skill against
persistence and against no more rain (lowest over leads <= 60 min, mean, leads failing);
the ROC area at 60 min; the reliability bins that miss the diagonal by more than 0.1 among
those holding >= 1 % of the cells; and the rain nowcast's own skill: window rain summed
over leads <= 60 min over the observed (STEPS member mean, extrapolation), the window rain at
60 min, and the CSI of rain >= 1 mm/h at 60 min (STEPS median, extrapolation).

    python benchmarks/compare_flood_verify.py base=outputs/v_past10 auto=outputs/v_auto10
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

FILES = ("flood_verify.csv", "rain.csv", "flood_verify.json")


def summary(d: Path):
    import pandas as pd

    df = pd.read_csv(d / "flood_verify.csv")
    rain = pd.read_csv(d / "rain.csv")
    tg = json.loads((d / "flood_verify.json").read_text())["targets"]
    rows = []
    for name, g in df.groupby("sequence", sort=False):
        g = g[g.lead_min <= 60 + 1e-9]
        r = rain[(rain.sequence == name) & (rain.lead_min <= 60 + 1e-9)]
        last, rl = g.iloc[-1], r.iloc[-1]
        bss = g[["bss_vs_persistence", "bss_vs_no_rain"]]
        rows.append(
            {
                "seq": name,
                "csi60": last.csi,
                "csi60_extrap": last.csi_extrapolation,
                "bias60": last.bias,
                "bssP_min": bss.bss_vs_persistence.min(),
                "bssP_mean": bss.bss_vs_persistence.mean(),
                "bssZ_min": bss.bss_vs_no_rain.min(),
                "bss_fail_min": ",".join(f"{v:g}" for v in tg[name]["bss_failing_leads_min"]),
                "roc60": last.roc_area,
                "rel_fail": ",".join(f"{v:.2f}" for v in tg[name]["reliability_failing_bins"]),
                "rain_ratio": r.rain_steps_mmh.sum() / r.rain_observed_mmh.sum(),
                "rain_ratio_extrap": r.rain_extrapolation_mmh.sum() / r.rain_observed_mmh.sum(),
                "rain60_steps": rl.rain_steps_mmh,
                "rain60_extrap": rl.rain_extrapolation_mmh,
                "rain60_obs": rl.rain_observed_mmh,
                "rain_csi60": rl.get("rain_csi_steps", float("nan")),
                "rain_csi60_extrap": rl.get("rain_csi_extrapolation", float("nan")),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    import pandas as pd

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="NAME=DIR or DIR (a `nowcast verify --flood --out`)")
    a = ap.parse_args()
    tabs = []
    for spec in a.runs:
        name, _, path = spec.rpartition("=")
        missing = [f for f in FILES if not (Path(path) / f).is_file()]
        if missing:
            ap.error(f"{path}: not a `nowcast verify --flood` output (no {', '.join(missing)})")
        t = summary(Path(path))
        t.insert(0, "run", name or Path(path).name)
        tabs.append(t)
    tab = pd.concat(tabs).sort_values(["seq", "run"], kind="stable")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(tab.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
