"""Native radar as simulation rain: ``simulate --rain SOURCE:PATH`` (e.g. ``fmi:radar/``).

The frames go through the same readers as ``predict``, ``nowcast`` and
``build-dataset`` (:func:`floodcast.io.radar.read_radar`, pysteps' importers), then are
reprojected onto the DEM (bilinear, :func:`floodcast.io.rain.regrid_to_dem`). Frame k
holds from its time until the next frame; time 0 of the run is the first frame, whose
datetime becomes the start time of ``depth.nc``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from floodcast.errors import InputError
from floodcast.io.radar_sources import parse_radar_spec

# file names that are rain files read_rain knows itself (everything else may be radar)
RAIN_FILE_SUFFIXES = (".nc", ".nc4", ".netcdf", ".h5", ".zarr", ".npz")


def is_radar_spec(spec: str | Path) -> bool:
    """True for ``SOURCE:PATH`` or a path that is not a rain file (a radar folder or file)."""
    source, path = parse_radar_spec(spec)
    if source is not None:
        return True
    p = Path(path)
    if not p.exists():
        return False
    if p.is_dir():
        return p.suffix.lower() != ".zarr" and not (p / "zarr.json").exists()
    return p.suffix.lower() not in RAIN_FILE_SUFFIXES


def read_radar_rain(spec: str | Path, dem: Any | None) -> Any:
    """Read native radar as a ``RawRain`` (times in s from the first frame), for read_rain.

    Raises:
        InputError: unreadable radar (the reader's message), or a single frame.
    """
    from floodcast.io.radar import read_radar
    from floodcast.io.raw_rain import RawRain

    source, path = parse_radar_spec(spec)
    try:
        seq = read_radar(path, source)
    except (ValueError, FileNotFoundError) as exc:
        raise InputError(f"--rain {spec}: {exc}") from exc
    t = seq.times.astype("datetime64[s]")
    times = (t - t[0]).astype(np.float64)
    notes = [
        (
            f"radar {seq.source}: {len(t)} frames {t[0]} .. {t[-1]}, "
            f"{seq.cell_size:.0f} m cells, reprojected onto the DEM"
        )
    ]
    if seq.n_clipped:
        notes.append(f"{seq.n_clipped} radar values above the clip limit set to no-data (0 mm/h)")
    return RawRain(
        np.ascontiguousarray(seq.rain_mmh, np.float32),
        times,
        f"{seq.source}:{path}",
        seq.transform,
        seq.crs,
        notes,
        t[0],
    )
