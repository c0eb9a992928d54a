"""GIS I/O figures of issue #20, each beside the old behaviour from the same run.

1. Flood polygons: invalid polygons with the old 8-connected polygonising vs now
   (4-connected + make_valid), on the wet cells of a simulate run on the sample DEM.
2. Sink filling: the old pure-Python heapq priority flood (simulate --fill-sinks before)
   vs the one library fill now (scikit-image), on a 1201 x 1201 SRTM tile: median time
   of 3 runs, and the largest difference between the fills (and pysheds) on roi.tif.
3. Cell size of pysheds/roi.tif (EPSG:3089, US survey feet): read before vs now.

Run: PYTHONPATH=src python benchmarks/bench_gis_io.py   (needs ../shared/data)
"""

from __future__ import annotations

import heapq
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def old_heapq_fill(elevation: np.ndarray) -> np.ndarray:
    """floodcast.io.dem.fill_sinks before #20 (verbatim logic), the reference."""
    z = np.asarray(elevation, np.float64)
    ny, nx = z.shape
    out = z.copy()
    done = np.isnan(z)
    heap: list[tuple[float, int, int]] = []
    for i in range(ny):
        for j in (0, nx - 1) if i not in (0, ny - 1) else range(nx):
            if not done[i, j]:
                done[i, j] = True
                heap.append((out[i, j], i, j))
    heapq.heapify(heap)
    while heap:
        level, i, j = heapq.heappop(heap)
        for a, b in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
            if 0 <= a < ny and 0 <= b < nx and not done[a, b]:
                done[a, b] = True
                out[a, b] = max(out[a, b], level)
                heapq.heappush(heap, (out[a, b], a, b))
    return out.astype(np.float32)


def polygons(data: Path) -> None:
    import shapely
    from rasterio import features
    from shapely.geometry import shape

    from floodcast.api import simulate
    from floodcast.io.dem import read_dem
    from floodcast.io.vector import wet_polygons

    ds = simulate("sample", "60mm/h:30min", duration_s=3600, save_every_s=1800, max_step_s=10.0)
    dem = read_dem("sample")
    wet = np.asarray(ds["max_depth"].values > 0.1)
    old = [
        shape(g)
        for g, v in features.shapes(
            wet.astype(np.uint8), mask=wet, transform=dem.transform, connectivity=8
        )
    ]
    new = [p for p, _ in wet_polygons(wet, dem)]
    bad_old = sum(not shapely.is_valid(g) for g in old)
    bad_new = sum(not shapely.is_valid(g) for g in new)
    print(
        f"polygons (sample DEM, 60 mm/h for 30 min, {int(wet.sum())} wet cells): "
        f"old 8-connected {bad_old} invalid of {len(old)}; now {bad_new} invalid of {len(new)}"
    )


def sink_fill(data: Path) -> None:
    from floodcast.io.dem import read_dem
    from floodcast.io.dem_tools import fill_sinks

    tile = read_dem(data / "dem/srtm/N38W028.SRTMGL3.hgt.zip")
    t_old, t_new = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        a = old_heapq_fill(tile.elevation)
        t_old.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        b = fill_sinks(tile).elevation
        t_new.append(time.perf_counter() - t0)
    mo, mn = statistics.median(t_old), statistics.median(t_new)
    print(
        f"sink fill 1201 x 1201 SRTM tile: old heapq {mo:.2f} s, skimage {mn:.3f} s "
        f"(median of 3), ratio {mo / mn:.0f}x; max |difference| "
        f"{float(np.nanmax(np.abs(a - b))):.3f} m"
    )
    roi = read_dem(data / "dem/pysheds/roi.tif")
    sk = fill_sinks(roi).elevation
    ps = fill_sinks(roi, "pysheds").elevation
    hq = old_heapq_fill(roi.elevation)

    def d(x, y):
        return float(np.nanmax(np.abs(x - y)))

    print(
        f"roi.tif fills, max |difference|: skimage vs pysheds {d(sk, ps):.3f} m, "
        f"skimage vs old heapq {d(sk, hq):.3f} m, pysheds vs old heapq {d(ps, hq):.3f} m"
    )


def feet(data: Path) -> None:
    import rasterio

    from floodcast.io.dem import read_dem

    with rasterio.open(data / "dem/pysheds/roi.tif") as ds:
        before = abs(ds.transform.a)  # the old reader took CRS units as metres
    now = read_dem(data / "dem/pysheds/roi.tif").cell_size
    print(
        f"roi.tif cell size: before {before:.3f} m, now {now:.3f} m; "
        f"areas were {(before / now) ** 2:.1f}x too large"
    )


if __name__ == "__main__":
    repo = Path(__file__).resolve().parents[1]
    data = repo.parent / "shared" / "data"
    if not data.is_dir():
        sys.exit("needs ../shared/data")
    feet(data)
    sink_fill(data)
    polygons(data)
