"""The downscaled flood nowcast in a recession, beside the fine (2 m) physics nowcast.

The check of docs/results/2026-12-02-downscaling-diagnosis.md section 3: a held-out DEM of a
pairs store (``benchmarks/downscale_data.py``), the observed rain = one of its events' radar
frames, a short STEPS ensemble from a dry spin-up. The extrapolated rain leaves the 256 m
crop, so the forecast rain is ~0 and every lead is a recession. Runs ``floodcast nowcast``
fine and with each ``--downscale m<F>/model.pt --coarsen F`` (same inputs, same seed) and
prints, per lead, the water the ensemble mean holds (m^3), the cells with P(> 0.1 m) >= 0.5
and their CSI against the fine nowcast's; the downscaled / fine ratios are the figure.

    PYTHONPATH=src python benchmarks/recession_downscale.py --work /tmp/fds4
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np


def write_rain(store: Path, eid: str, out: Path) -> str:
    """The event's radar frames (mm/h, on the DEM grid) as a nowcast ``--rain`` npz; its DEM."""
    from floodcast.data import store as st

    rain, _, attrs = st.read_event(store, eid)
    dt = float(attrs["plan"]["interval_s"])
    np.savez(out, rain_mmh=rain, times_s=np.arange(len(rain)) * dt)
    return attrs["plan"]["dem_id"]


def run(args: list[str], out: Path) -> dict:
    cmd = [sys.executable, "-m", "floodcast.cli", "nowcast", *args, "--out", str(out)]
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return json.loads((out / "nowcast.json").read_text())


def summary(out: Path, cell: float, threshold: float = 0.1) -> dict:
    import xarray as xr

    with xr.open_dataset(out / "nowcast.nc") as ds:
        mean = np.nan_to_num(ds["mean_depth"].values)
        j = int(np.argmin(np.abs(ds["threshold"].values - threshold)))
        p = np.nan_to_num(ds["probability"].values[:, j])
    return {"volume_m3": mean.sum(axis=(1, 2)) * cell**2, "likely": p >= 0.5}


def main() -> None:
    from floodcast.metrics import csi

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/floodcast-downscale"))
    ap.add_argument("--event", default="ev00010", help="event whose radar frames are observed")
    ap.add_argument("--factors", type=int, nargs="+", default=[8, 4])
    ap.add_argument("--model-pattern", default="m{f}", help="model folder under --work")
    ap.add_argument("--ensemble", type=int, default=5)
    ap.add_argument("--lead", type=float, default=30.0)
    a = ap.parse_args()
    store = a.work / "store.zarr"
    rain = a.work / f"{a.event}_rain.npz"
    did = write_rain(store, a.event, rain)
    dem = a.work / "dems" / f"{did}.npz"
    cell = float(np.load(dem)["cell_size"])
    base = ["--dem", str(dem), "--rain", str(rain), "--ensemble", str(a.ensemble)]
    base += ["--lead", f"{a.lead:g}", "--spin-up", "0"]
    runs = {"fine": (run(base, a.work / "nc_fine"), a.work / "nc_fine")}
    for f in a.factors:
        model = a.work / a.model_pattern.format(f=f) / "model.pt"
        out = a.work / f"nc_ds{f}"
        extra = ["--downscale", str(model), "--coarsen", str(f)]
        runs[f"x{f}"] = (run(base + extra, out), out)
    fine = summary(runs["fine"][1], cell)
    print(f"\nrecession on {did} (observed rain: {a.event}), {a.ensemble} members")
    print(f"{'run':6s} {'wall s':>7s} {'water m3 per lead':40s} {'P>=0.5 cells':>12s} CSI vs fine")
    for name, (js, out) in runs.items():
        s = summary(out, cell)
        vol = " ".join(f"{v:5.0f}" for v in s["volume_m3"])
        n = [int(m.sum()) for m in s["likely"]]
        print(
            f"{name:6s} {js.get('wall_s', float('nan')):7.1f} {vol:40s} {sum(n):5d} {n} "
            f"{csi(s['likely'], fine['likely']):.2f}"
        )
        if name != "fine":
            r = s["volume_m3"] / np.maximum(fine["volume_m3"], 1e-9)
            print(f"       water / fine per lead: {' '.join(f'{x:.2f}' for x in r)}")


if __name__ == "__main__":
    main()
