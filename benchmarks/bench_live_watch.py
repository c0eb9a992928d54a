"""Watch mode on real radar: ingest time per file and the live ensemble against real time.

    .venv/bin/python benchmarks/bench_live_watch.py [--size 128] [--members 20] [--lead 60]
        [--frames 6] [--source mch]

Frames of a shared pysteps-data sequence (``../shared/data/radar/pysteps-data``; MeteoSwiss
2015-05-15 by default) are dropped one at a time into a watch folder; a small DEM (N x N
cells of 50 m, in the radar's projection, centred on the sequence's wettest cell) is served
without a model (physics only). For each file it prints the wall time of ingest (read the
native file, reproject onto the DEM, advance the live solver, render the maps: what the
watcher waits for) and, once the background cycle has finished, the ensemble cycle's
members run, wall time and real-time factor = radar interval / cycle time (> 1 keeps up;
the reference is real time, the radar's own interval). The first cycle includes numba
compilation (``cache=True``: only the first run on a machine) and the pysteps import.

Paired before/after on the same input: after each served cycle (STEPS on the radar grid
around the DEM, members regridded: ``steps_grid``), the same snapshot of the live solver and
the same members are run once more with STEPS on the DEM-grid frames (the path before
``serve/radar_window``; today's path for rain files on the DEM grid). Both run the
requested members (budget off, so members are never cut and the times compare);
``steps_share`` = STEPS (+ regridding) / cycle time, ``dem/radar`` = the ratio of cycle times.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
GLOBS = {"mch": "mch/**/*.gif", "fmi": "fmi/pgm/**/*.pgm.gz", "bom": "bom/**/*.nc"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--members", type=int, default=20)
    ap.add_argument("--lead", type=float, default=60.0)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--source", default="mch", choices=sorted(GLOBS))
    a = ap.parse_args()

    from affine import Affine

    from floodcast.io.dem import Dem
    from floodcast.io.radar import read_radar
    from floodcast.serve.live import LivePhysics
    from floodcast.serve.live_cycle import runner_for, snapshot
    from floodcast.serve.live_ensemble import LiveEnsemble
    from floodcast.serve.maps import MapBoard
    from floodcast.serve.watcher import Watcher

    root = REPO.parent / "shared/data/radar/pysteps-data/radar"
    files = sorted(root.glob(GLOBS[a.source]))[-a.frames :]
    if len(files) < a.frames:
        sys.exit(f"need {a.frames} {a.source} files under {root}")
    seq = read_radar(files, a.source)
    rain = np.nanmean(np.nan_to_num(seq.rain_mmh), 0)
    iy, ix = np.unravel_index(np.argmax(rain), rain.shape)
    x, y = seq.transform @ (ix + 0.5, iy + 0.5)
    n, cell = a.size, 50.0
    tr = Affine(cell, 0, x - n / 2 * cell, 0, -cell, y + n / 2 * cell)
    z = 100 + np.add.outer(np.arange(n) * 0.2, np.abs(np.arange(n) - n / 2) * 0.3)
    dem = Dem(z.astype(np.float32), cell, tr, seq.crs, "bench")
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    watch = tmp / "radar"
    watch.mkdir()
    live = LivePhysics(dem)
    board = MapBoard(dem, None, tmp / "state/maps", threading.Lock(), n_leads=2)
    cfg = SimpleNamespace(
        ensemble=a.members, lead_min=a.lead, thresholds=(0.1, 0.3), alerts=(), notify=(),
        map_url="",
    )  # fmt: skip
    runner = runner_for(live, cfg, seq.interval_s, board.folder, dem)
    runner.ens.budget = 1e9  # paired: both paths run the requested members
    before = LiveEnsemble(live, a.members, thresholds=runner.ens.thresholds, budget=1e9)
    runner.start()
    seen: dict = {}

    def on_state(live, hist, unix, dt, radar=None):  # the served cycle, and its input kept
        seen.update(snap=snapshot(live), hist=np.asarray(hist[-3:]).copy(), dt=dt)
        runner.submit(live, hist, unix, dt, radar=radar)

    w = Watcher(watch, tmp / "state", dem, board, live, seq.interval_s, 0.05, None, a.source,
                on_state)  # fmt: skip
    rows = []
    for f in files:
        shutil.copy(f, watch / f.name)
        w.poll_once()  # sees it
        t0 = time.perf_counter()
        w.poll_once()  # takes it
        ingest = time.perf_counter() - t0
        while runner.busy or runner._pending is not None:
            time.sleep(0.05)
        st = runner.status()
        row = {
            "file": f.name,
            "valid_time": board.latest().get("valid_time"),
            "ingest_s": round(ingest, 3),
            "members_run": st.get("members_run"),
            "cycle_s": None if st.get("cycle_s") is None else round(st["cycle_s"], 2),
            "realtime_factor": st.get("realtime_factor") and round(st["realtime_factor"], 1),
            "reduced": st.get("reduced"),
        }
        if st.get("cycle_s") is not None and "snap" in seen:
            before.n_steps = runner.ens.n_steps
            before.cycle(seen["hist"], seen["dt"], live=seen["snap"])  # STEPS on the DEM grid
            b = before.status()
            row.update(
                radar=_path(st),
                dem=_path(b),
                # a ratio only of like with like (a failed STEPS runs one member)
                dem_over_radar=round(b["cycle_s"] / st["cycle_s"], 1)
                if b["members_run"] == st["members_run"] and b["method"] == st["method"]
                else None,
            )
        rows.append(row)
        print(json.dumps(row), flush=True)
    runner.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"grid": [n, n], "interval_s": seq.interval_s, "lead_min": a.lead}))


def _path(st: dict) -> dict:
    """One path's cycle: grid, method, members, times and the STEPS share."""
    return {
        "grid": st["steps_grid"],
        "method": st["method"][:80],
        "members": st["members_run"],
        "cycle_s": round(st["cycle_s"], 2),
        "steps_s": round(st["steps_s"], 2),
        "steps_share": round(st["steps_s"] / st["cycle_s"], 2),
    }


if __name__ == "__main__":
    main()
