"""The downscaling benchmark's data: 128 x 128 crops (2 m cells) of real lidar DEMs, real
MeteoSwiss radar events simulated at 2 m, then the same events at 8 m and 16 m, each event
followed by a dry tail (``--dry-tail`` frames of zero rain, the pair builder's default; the
2 m run is continued through it too), so the pairs contain recessions.

Green River (Utah, 1 m lidar, block mean to 2 m) gives eight training crops and one
held-out crop; landlab's zSW3 (2 m lidar, other terrain) gives two held-out crops. Every
event on a held-out DEM is test (``--test-dem``), so scores are on unseen terrain.
``--extra-train`` adds the other Green River crops and one zSW3 crop; ``--pond-train`` adds
five zSW3 crops in which the held-out crops (and a margin) are nodata, so that ponded
terrain is in the training set in proportion.

    PYTHONPATH=src python benchmarks/downscale_data.py --work /tmp/fds
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from floodcast.defaults import DOWNSCALE_COARSE_DEM, DOWNSCALE_DRY_TAIL_FRAMES
from floodcast.simulation.downscale_fields import COARSE_DEMS

SHARED = Path(
    os.environ.get("FLOODCAST_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared/data")
)
PATCH = 128
GREENRIVER_TRAIN = [
    (0, 0),
    (0, 256),
    (0, 512),
    (0, 768),
    (256, 128),
    (256, 384),
    (256, 640),
    (372, 872),
]
GREENRIVER_TEST = [(128, 448)]
ZSW3_TEST = [(32, 0), (160, 64)]
# --extra-train (2026-12-02): every other 128 x 128 Green River crop that overlaps no crop
# above, and the one fully valid zSW3 crop clear of the held-out ones (zSW3's valid cells are
# a diagonal band; every other NaN-free crop overlaps a held-out crop): more pairs
ZSW3_EXTRA = [(316, 140)]
# --pond-train (2026-12-07): more of zSW3's ponded terrain for training, crops that may reach
# into the held-out crops' squares but hold none of their cells: those (and a margin of
# POND_MARGIN cells around them) are nodata, so no held-out cell is ever seen
ZSW3_POND = [(0, 128), (256, 0), (256, 128), (324, 64), (324, 172)]
POND_MARGIN = 16
FRAMES = 8  # 40 min of 5-min radar frames
MIN_RAIN = 15.0  # mm/h window mean: >= 10 mm in 40 min, enough to pond at 2 m cells
MAX_TRIES = 20000


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return abs(a[0] - b[0]) < PATCH and abs(a[1] - b[1]) < PATCH


def greenriver_extra(shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Crops on a 128-cell lattice (plus the last row/column) overlapping no fixed crop."""
    used = GREENRIVER_TRAIN + GREENRIVER_TEST
    rows = sorted({*range(0, shape[0] - PATCH + 1, PATCH), shape[0] - PATCH})
    cols = sorted({*range(0, shape[1] - PATCH + 1, PATCH), shape[1] - PATCH})
    out: list[tuple[int, int]] = []
    for r in rows:
        for c in cols:
            if not any(_overlaps((r, c), u) for u in used + out):
                out.append((r, c))
    return out


def pond_dem(zs: np.ndarray) -> np.ndarray:
    """zSW3 with the held-out crops and a margin of ``POND_MARGIN`` cells blanked (NaN)."""
    z, m = np.array(zs, np.float32), POND_MARGIN
    for r, c in ZSW3_TEST:
        z[max(r - m, 0) : r + PATCH + m, max(c - m, 0) : c + PATCH + m] = np.nan
    return z


def source_dems() -> dict[str, np.ndarray]:
    """The whole DEMs the crops are cut from, all at 2 m: ``greenriver`` (the 1 m lidar
    block-meaned to 2 m) and ``zsw3`` (landlab's 2 m lidar)."""
    from floodcast.io.dem import read_dem
    from floodcast.io.dem_tools import block_mean

    return {
        "greenriver": block_mean(
            read_dem(SHARED / "dem/topotoolbox/greenriver.tif"), 2.0
        ).elevation,
        "zsw3": read_dem(SHARED / "dem/landlab/zSW3.asc").elevation,
    }


def write_crops(
    work: Path, extra: bool = False, pond: bool = False
) -> tuple[list[Path], list[str]]:
    """Write the crops as .npz DEMs into ``work/dems``; returns (paths, held-out ids)."""
    out = work / "dems"
    out.mkdir(parents=True, exist_ok=True)
    dems = source_dems()
    gr, zs = dems["greenriver"], dems["zsw3"]
    paths, test = [], []
    # (name, DEM, crop origins, held out, the least share of valid cells a crop may have)
    sets = [
        ("gr", gr, GREENRIVER_TRAIN, False, 1.0),
        ("gr", gr, GREENRIVER_TEST, True, 1.0),
        ("zsw3", zs, ZSW3_TEST, True, 1.0),
    ]
    if extra:
        sets += [
            ("gr", gr, greenriver_extra(gr.shape), False, 1.0),
            ("zsw3", zs, ZSW3_EXTRA, False, 1.0),
        ]
    if pond:
        sets += [("zsw3p", pond_dem(zs), ZSW3_POND, False, 0.5)]
    for name, z, origins, held, min_valid in sets:
        for r, c in origins:
            did = f"{name}_r{r}_c{c}"
            crop = np.asarray(z[r : r + PATCH, c : c + PATCH], np.float32)
            ok = np.isfinite(crop).mean() >= min_valid
            assert crop.shape == (PATCH, PATCH) and ok, did
            np.savez(out / f"{did}.npz", elevation=crop, cell_size=2.0)
            paths.append(out / f"{did}.npz")
            if held:
                test.append(did)
    return paths, test


def build(work: Path, paths: list[Path], test: list[str], events: int, workers: int) -> None:
    """``floodcast dataset build`` through the library: the CLI has no --max-tries, and
    windows with >= 15 mm/h over 40 min are rare in the radar (~0.1 % of random draws)."""
    from floodcast.data.build import BuildConfig, build_dataset
    from floodcast.data.events import EventConfig
    from floodcast.data.samples import SampleSpec
    from floodcast.io.named_inputs import load_dems, load_radars

    cfg = BuildConfig(
        events=EventConfig(
            count=events, frames=FRAMES, min_rain_mmh=MIN_RAIN, seed=0, max_tries=MAX_TRIES
        ),
        spec=SampleSpec(patch=PATCH),
        test_dems=test,
    )
    dems = load_dems([str(p) for p in paths], None, False)
    radars = load_radars([f"mch:{SHARED}/radar/pysteps-data/radar/mch/20150515"])
    build_dataset(
        work / "store.zarr",
        dems,
        radars,
        cfg,
        workers=workers,
        scheduler="local" if workers > 1 else "sync",
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/floodcast-downscale"))
    ap.add_argument("--events", type=int, default=22)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--extra-train", action="store_true", help="add the extra training crops (2026-12-02)"
    )
    ap.add_argument(
        "--pond-train",
        action="store_true",
        help="add zSW3 training crops with the held-out crops blanked (2026-12-07)",
    )
    ap.add_argument(
        "--dry-tail",
        type=int,
        default=DOWNSCALE_DRY_TAIL_FRAMES,
        help="frames of zero rain after each event (0 = none, as before 2026-12-02)",
    )
    ap.add_argument(
        "--coarse-dem",
        choices=sorted(COARSE_DEMS),
        default=DOWNSCALE_COARSE_DEM,
        help="the coarse DEM rule of the pairs (block mean or block minimum)",
    )
    a = ap.parse_args()
    paths, test = write_crops(a.work, a.extra_train, a.pond_train)
    build(a.work, paths, test, a.events, a.workers)
    pairs = [
        sys.executable,
        "-m",
        "floodcast.cli",
        "downscale",
        "pairs",
        str(a.work / "store.zarr"),
        "--coarsen",
        "4",
        "--coarsen",
        "8",
        "--dry-tail",
        str(a.dry_tail),
        "--coarse-dem",
        a.coarse_dem,
    ]
    print(" ".join(pairs), flush=True)
    subprocess.run(pairs, check=True)


if __name__ == "__main__":
    main()
