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
    from floodcast.serve.live_cycle import runner_for
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
    runner.start()
    w = Watcher(watch, tmp / "state", dem, board, live, seq.interval_s, 0.05, None, a.source,
                runner.submit)  # fmt: skip
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
        rows.append(
            {
                "file": f.name,
                "valid_time": board.latest().get("valid_time"),
                "ingest_s": round(ingest, 3),
                "members_run": st.get("members_run"),
                "cycle_s": None if st.get("cycle_s") is None else round(st["cycle_s"], 2),
                "realtime_factor": st.get("realtime_factor") and round(st["realtime_factor"], 1),
                "reduced": st.get("reduced"),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    runner.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"grid": [n, n], "interval_s": seq.interval_s, "lead_min": a.lead}))


if __name__ == "__main__":
    main()
