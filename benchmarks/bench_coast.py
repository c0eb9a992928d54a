"""Coasts on a real SRTM tile: nodata walls vs ``--nodata open``, a 0 m sea vs ``--sea-level``.

    python benchmarks/bench_coast.py --dem ../shared/data/dem/srtm/N38W028.SRTMGL3.hgt.zip

Runs ``floodcast.simulate`` (the same job as the CLI: sink fill with the coast outlets,
free edges) four times on the tile, with uniform rain of ``--rain`` for ``--duration``:

1. the sea masked as nodata (cells <= 0 m set to NaN), ``--nodata wall`` (today's rule);
2. the same DEM, ``--nodata open``;
3. the tile as it is (SRTM's sea at 0 m), no sea level (runoff spreads over the sea);
4. the tile as it is, ``--sea-level 0``.

Prints, per run, the largest max depth on the coastal land cells (land 4-adjacent to the
sea), their 99th percentile, the number of sea cells wetter than 5 cm, the water that left
(edges and outlets, m³), the rain on the domain and the relative mass error. ``--window
ROW0,COL0,SIZE`` runs on a crop instead of the whole tile.

``--speed`` instead times the solver (``Simulation.advance``, one thread) on the crop with the
sea masked as nodata, walls and open interleaved three times after 300 s of warm-up, and
prints the median cell updates per second of both and their ratio (the cost of the outlet
pass).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace

import numpy as np
from scipy import ndimage

import floodcast
from floodcast.io.dem import read_dem


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dem", required=True)
    ap.add_argument("--rain", default="30mm/h:30min")
    ap.add_argument("--duration", type=float, default=3600.0)
    ap.add_argument("--max-step", type=float, default=10.0)
    ap.add_argument("--window", default=None, help="ROW0,COL0,SIZE crop")
    ap.add_argument("--speed", action="store_true", help="time walls vs open (see above)")
    ap.add_argument("--figure", default=None, help="PNG of the four max-depth maps")
    args = ap.parse_args()
    dem = read_dem(args.dem)
    if args.window:
        r0, c0, n = (int(v) for v in args.window.split(","))
        dem = replace(dem, elevation=dem.elevation[r0 : r0 + n, c0 : c0 + n], transform=None)
    z = dem.elevation
    sea = ~(z > 0)
    coast = ~sea & ndimage.binary_dilation(sea)
    masked = replace(dem, elevation=np.where(sea, np.nan, z).astype(np.float32))
    if args.speed:
        return speed(masked, args.max_step)
    runs = [
        ("sea as nodata, --nodata wall", masked, {}),
        ("sea as nodata, --nodata open", masked, {"nodata": "open"}),
        ("sea at 0 m, no sea level", dem, {}),
        ("sea at 0 m, --sea-level 0", dem, {"sea_level": 0.0}),
    ]
    print(
        f"{dem.source}: {z.shape[0]} x {z.shape[1]} cells of {dem.cell_size:.2f} m, "
        f"{int(sea.sum())} sea cells, {int(coast.sum())} coastal land cells; rain "
        f"{args.rain}, {args.duration:g} s, --fill-sinks, free edges"
    )
    print(
        "| run | coast max depth (m) | coast p99 (m) | sea cells > 5 cm | out (m³) | "
        "rain (m³) | mass error | steps | cell updates/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    maps = []
    for name, d, kw in runs:
        ds = floodcast.simulate(
            d,
            args.rain,
            duration_s=args.duration,
            pad_zero=True,
            max_step_s=args.max_step,
            save_every_s=args.duration,
            fill_sinks=True,
            **kw,
        )
        md = ds.max_depth.values
        maps.append((name, md))
        stats = json.loads(ds.attrs["stats"])
        mass = stats["mass"]
        print(
            f"| {name} | {md[coast].max():.2f} | {np.percentile(md[coast], 99):.2f} | "
            f"{int((md[sea] > 0.05).sum())} | {mass['boundary_out_m3']:.4g} | "
            f"{mass['rain_in_m3']:.4g} | {mass['relative_error']:.1e} | {stats['steps']} | "
            f"{stats['cell_updates_per_s']:.3g} |",
            flush=True,
        )
    if args.figure:
        figure(args.figure, maps, sea)


def figure(path: str, maps: list, sea: np.ndarray) -> None:
    """The four max-depth maps side by side, the sea hatched grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(maps), figsize=(4 * len(maps), 4.2), constrained_layout=True)
    for ax, (name, md) in zip(axes, maps, strict=True):
        ax.imshow(np.where(sea, 1.0, np.nan), cmap="Greys", vmin=0, vmax=4)
        im = ax.imshow(np.where(md > 0.01, md, np.nan), cmap="Blues", vmin=0, vmax=1.0)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes, shrink=0.8, label="max depth (m); grey: sea")
    fig.savefig(path, dpi=90)


def speed(dem, max_step: float) -> None:
    """Median cell updates/s of walls and open nodata, interleaved (see the module notes)."""
    from floodcast.io.rain import RainSeries
    from floodcast.physics import Boundaries, Simulation, SolverConfig, set_threads

    set_threads(1)
    rain = RainSeries(np.array([30.0], np.float32), np.zeros(1), np.inf, "30 mm/h")
    res: dict[str, list[float]] = {"wall": [], "open": []}
    for _ in range(3):
        for mode, rates in res.items():
            sim = Simulation(
                dem.elevation,
                dem.cell_size,
                rain,
                SolverConfig(max_step=max_step, nodata=mode),
                Boundaries.all("free"),
            )
            sim.advance(300.0)
            s0, t0 = sim.steps, time.perf_counter()
            sim.advance(900.0)
            rates.append((sim.steps - s0) * sim.n_cells / (time.perf_counter() - t0))
    faces = 0 if sim._outlets is None else len(sim._outlets[0])
    w, o = np.median(res["wall"]), np.median(res["open"])
    print(
        f"{dem.shape[0]} x {dem.shape[1]} cells, {dem.nodata_cells} nodata, {faces} outlet "
        f"faces: cell updates/s walls {w:.3g}, open {o:.3g}, ratio open/walls {o / w:.3f}"
    )


if __name__ == "__main__":
    main()
