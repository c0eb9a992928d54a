"""Write docs/tutorials/notebook.ipynb (no outputs) from the cells below.

The notebook is committed; edit the cells here and run
``python docs/scripts/make_notebook.py`` so the two stay the same (a test checks it).
"""

from __future__ import annotations

from pathlib import Path

import nbformat

OUT = Path(__file__).resolve().parents[1] / "tutorials" / "notebook.ipynb"

CELLS: list[tuple[str, str]] = [
    (
        "markdown",
        """# Simulate, open, plot, predict

This notebook runs on data shipped with floodcast: a crop of the Jacksboro DEM bundled with
matplotlib and a seeded synthetic storm. It

1. simulates the storm with floodcast's local-inertial solver (`floodcast simulate`),
2. opens the result (`depth.nc`) with xarray and plots it,
3. maps the same storm with a trained emulator (`floodcast predict`) and scores the
   emulator's map against the simulation.

Run it from the repository root (`jupyter lab`, or `make docs` shows it rendered). It takes
well under a minute; everything is written under `outputs/notebook/`.""",
    ),
    (
        "code",
        """import json
import os
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import rasterio
import xarray as xr

from floodcast.io.dem import Dem, sample_dem
from floodcast.io.dem_tools import fill_sinks
from floodcast.physics.storms import synthetic_storm

OUT = Path("outputs/notebook")
OUT.mkdir(parents=True, exist_ok=True)


def floodcast(*args: str) -> str:
    \"\"\"Run a floodcast command in this Python environment; fail loudly with its message.\"\"\"
    proc = subprocess.run([sys.executable, "-m", "floodcast.cli", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"floodcast {args[0]} failed:\\n{proc.stdout}\\n{proc.stderr}")
    return proc.stdout""",
    ),
    (
        "markdown",
        """## 1. A DEM and a storm

A 96 × 96 crop of the Jacksboro DEM (about 83 m cells, 8 km across), its closed pits
filled (SRTM pits would otherwise collect metres of water; `simulate --fill-sinks` does the
same with pysheds), written as `.npz` with `elevation` and `cell_size`, one of the DEM
formats `simulate` reads. The storm is
floodcast's seeded synthetic storm (moving, growing rain cells, 5-minute frames), written
as `.npz` with `rain_mmh` [t, y, x] and `times_s`, one of the rain formats.""",
    ),
    (
        "code",
        """dem = sample_dem()
crop = Dem(dem.elevation[100:196, 150:246].astype("float32"), dem.cell_size)
crop = fill_sinks(crop, method="skimage").elevation
np.savez(OUT / "dem.npz", elevation=crop, cell_size=dem.cell_size)

DURATION_S = 3600.0
storm = synthetic_storm(crop.shape, dem.cell_size, DURATION_S, seed=7)
np.savez(OUT / "rain.npz", rain_mmh=storm.rates_mmh, times_s=storm.times_s)
print(f"DEM {crop.shape}, {dem.cell_size:.1f} m cells; rain {storm.rates_mmh.shape} frames, "
      f"max {storm.rates_mmh.max():.0f} mm/h")""",
    ),
    (
        "markdown",
        """## 2. Simulate

The same command you would type in a shell:
`floodcast simulate --dem outputs/notebook/dem.npz --rain outputs/notebook/rain.npz
--duration 3600 --out outputs/notebook/run`.""",
    ),
    (
        "code",
        """print(floodcast("simulate", "--dem", str(OUT / "dem.npz"), "--rain", str(OUT / "rain.npz"),
                "--duration", str(DURATION_S), "--save-every", "300",
                "--out", str(OUT / "run")))
run = json.loads((OUT / "run" / "run.json").read_text())
print(sorted(run))""",
    ),
    (
        "markdown",
        """## 3. Open the result with xarray

`depth.nc` holds `depth(time, y, x)` in m at every save time, `max_depth(y, x)` and
`elevation(y, x)`; `time` is in seconds.""",
    ),
    (
        "code",
        """ds = xr.open_dataset(OUT / "run" / "depth.nc")
print(ds)
wet_cells = (ds.depth > 0.1).sum(("y", "x"))
print("wet cells (> 0.1 m) at each save time:", wet_cells.values.tolist())""",
    ),
    (
        "code",
        """fig, axes = plt.subplots(1, 2, figsize=(10, 4))
ds.elevation.plot(ax=axes[0], cmap="terrain")
axes[0].set_title("elevation (m)")
ds.max_depth.where(ds.max_depth > 0.01).plot(ax=axes[1], cmap="Blues")
axes[1].set_title("maximum depth (m)")
fig.tight_layout()""",
    ),
    (
        "markdown",
        """## 4. Predict with a trained emulator

`floodcast demo --out outputs/demo` trains the default small model (`outputs/demo/train/model.pt`);
set `FLOODCAST_MODEL` to use another `model.pt`. Without one, this cell builds an
**untrained** small model with random weights so the rest of the notebook runs: its map is
noise, and the score below says so. Run the demo first for a real map (a rough one: the
demo model trains for three minutes and scores CSI about 0.3 on its test events; on this
crop it scored 0.18, against 0 for the all-dry map).""",
    ),
    (
        "code",
        """model_path = Path(os.environ.get("FLOODCAST_MODEL", "outputs/demo/train/model.pt"))
if not model_path.exists():
    print(f"{model_path} not found: using an UNTRAINED model (random weights, a noise map)")
    import torch

    from floodcast.models import build_model, save_model

    frames = 7
    torch.manual_seed(0)
    untrained = build_model({"name": "small_unet", "in_channels": frames + 1})
    model_path = OUT / "untrained-model.pt"
    save_model(untrained, model_path, {
        "data": {"channels": [f"rain_t-{frames - 1 - i}" for i in range(frames)] + ["dem"],
                 "stats": {"rain_mean": 1.0, "rain_std": 2.0, "dem_anomaly_std": 5.0,
                           "rain_accum_scale_mm": 3.0},
                 "spec": {"frames": frames, "extra_channels": [], "threshold": 0.1, "patch": 64},
                 "cell_sizes_m": [dem.cell_size], "intervals_s": [300.0]},
        "postprocess": False})

# the rain up to the end of the run: frames since the event began, the last K are the model's window
print(floodcast("predict", "--model", str(model_path), "--dem", str(OUT / "dem.npz"),
                "--rain", str(OUT / "rain.npz"), "--out", str(OUT / "predict")))""",
    ),
    (
        "code",
        """with rasterio.open(OUT / "predict" / "wet_probability.tif") as f:
    probability = f.read(1)
with rasterio.open(OUT / "predict" / "wet_mask.tif") as f:
    predicted = f.read(1) > 0
simulated = ds.depth.isel(time=-1).values > 0.1

hits = int((predicted & simulated).sum())
misses = int((~predicted & simulated).sum())
false_alarms = int((predicted & ~simulated).sum())
csi = hits / (hits + misses + false_alarms) if hits + misses + false_alarms else float("nan")
print(f"emulator vs simulation at the end of the storm: CSI {csi:.3f} "
      f"({hits} hits, {misses} misses, {false_alarms} false alarms); "
      f"the all-dry map scores CSI 0")

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
axes[0].imshow(probability, cmap="Blues", vmin=0, vmax=1)
axes[0].set_title("emulator: wet probability")
axes[1].imshow(simulated, cmap="Blues")
axes[1].set_title("simulation: depth > 0.1 m")
fig.tight_layout()""",
    ),
    (
        "markdown",
        """## Where next

- [Train and evaluate an emulator](train-and-evaluate.md) properly, with baselines.
- The [simulate guide](../guide/simulate.md) lists every option and output.
- The [results](../results/index.md) pages show how good the emulators get on real radar.""",
    ),
]


def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, src) in enumerate(CELLS):
        cell = (
            nbformat.v4.new_markdown_cell(src)
            if kind == "markdown"
            else nbformat.v4.new_code_cell(src)
        )
        cell["id"] = f"cell-{i:02d}"  # stable ids: the file only changes when a cell does
        nb.cells.append(cell)
    return nb


if __name__ == "__main__":
    nbformat.write(build(), OUT)
    print(f"wrote {OUT}")
