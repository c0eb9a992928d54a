"""What the header check of native radar files costs, and what a native bomb costs.

    PYTHONPATH=src python benchmarks/bench_radar_headers.py [--repeat 5]

Per shared pysteps source (FMI PGM, FMI GeoTIFF, MeteoSwiss GIF, OPERA ODIM, BoM
NetCDF): the median time of :func:`floodcast.io.radar_headers.check_radar_header` on one
frame beside the time pysteps' importer takes to read it (``read_radar``), as a ratio.
Then, for one bomb of each native kind (tests/io/radar_bombs.py), the bytes on disk, what
it declares decoded, and how far refusing it raised the peak RSS (Linux
``/proc/self/clear_refs``), as a ratio of the declared size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "io"))
SOURCES = [
    ("fmi/pgm", "*.pgm.gz", "fmi"),
    ("fmi/geotiff", "*.tif", "fmi_geotiff"),
    ("mch", "*.gif", "mch"),
    ("OPERA", "*.hdf", "opera"),
    ("bom", "*.nc", "bom"),
]


def _median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _rss_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data")
    args = ap.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # the importers' notes on radar artefacts
    from floodcast.errors import InputError
    from floodcast.io.radar import read_radar
    from floodcast.io.radar_headers import check_radar_header

    radar = args.data / "radar/pysteps-data/radar"
    print(f"{'source':12} {'check ms':>9} {'read ms':>9} {'check/read':>10}")
    for folder, pattern, source in SOURCES:
        files = sorted((radar / folder).rglob(pattern))
        if not files:
            print(f"{source:12} skipped: no {pattern} under {radar / folder}")
            continue
        f = files[-1]
        check = _median_s(lambda f=f: check_radar_header(f), args.repeat)
        read = _median_s(lambda f=f, s=source: read_radar(f, s), max(1, args.repeat // 2))
        print(f"{source:12} {check * 1e3:9.1f} {read * 1e3:9.1f} {check / read:10.3f}")

    import radar_bombs as rb

    tmp = Path(tempfile.mkdtemp())
    bombs = [
        (rb.pgm_gz_bomb(tmp / "b.pgm.gz"), 100_000 * 100_000 * 8),  # pysteps: float64
        (rb.gif_bomb(tmp / "b.gif"), 65535 * 65535),  # PIL: one byte a pixel
        (rb.odim_bomb(tmp / "b.hdf"), 100_000 * 100_000 * 8),
        (rb.grib2_file(tmp / "b.grib2", rb.grib2_message(60000, 60000)), 60000**2 * 8),
    ]
    print(f"\n{'bomb':10} {'disk B':>8} {'declared GB':>12} {'peak +MB':>9} {'peak/declared':>14}")
    for path, declared in bombs:
        for _ in range(2):  # the first call imports h5py / gzip
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            base = _rss_kb("VmRSS")
            try:
                check_radar_header(path)
                raise SystemExit(f"{path.name}: accepted")
            except InputError:
                pass
            grew = (_rss_kb("VmHWM") - base) * 1024
        print(
            f"{path.name:10} {path.stat().st_size:8d} {declared / 1e9:12.1f} "
            f"{grew / 1e6:9.2f} {grew / declared:14.2e}"
        )


if __name__ == "__main__":
    main()
