"""Watch-mode radar drops: native radar files and rain files, each with its own valid time.

Native radar (FMI ``.pgm.gz``, MeteoSwiss ``.gif``, OPERA/ODIM ``.h5``/``.hdf``, BoM ``.nc``,
FMI GeoTIFF, MRMS GRIB, ...) goes through the readers of ``predict``/``nowcast``
(:func:`floodcast.io.radar.read_radar`, pysteps' importers) and is reprojected onto the DEM
by :func:`floodcast.predict.inputs.radar_on_dem`, the bilinear reprojection of
``predict --radar``. The source is ``--watch-source`` or guessed from the file name
(:func:`~floodcast.io.radar_sources.guess_source`). Names that guess a generic stack
(NetCDF, GeoTIFF) and HDF5 files without ODIM's ``/what`` group are rain files on, or
regriddable to, the DEM, read as before (:func:`floodcast.serve.inputs.read_path`).
Before an importer runs, ``read_radar`` checks what the native file declares from its
header (:func:`~floodcast.io.radar_headers.check_radar_header`: a frame too big, an empty
or truncated file is refused naming the file; that message is passed on as it is), and
the read holds a decoding slot shared with uploads (:func:`floodcast.serve.guard.parse_slot`).

Each drop carries the time its last frame is valid at: the radar's own time (file name
pattern or ODIM metadata), or a timestamp in a rain file's name; only a file that says
nothing about its time is stamped with its modification time, and the notes say so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.io.radar import RadarSequence
from floodcast.io.radar_headers import RadarHeaderError
from floodcast.serve.guard import parse_slot
from floodcast.serve.inputs import RainInput, read_path, validate

RAIN_ENDINGS = (".npz", ".nc", ".nc4", ".h5", ".tif", ".tiff")
NATIVE_ENDINGS = (".pgm", ".pgm.gz", ".gif", ".hdf", ".hdf5", ".grib2", ".grib2.gz")
ENDINGS = RAIN_ENDINGS + NATIVE_ENDINGS


@dataclass
class Drop:
    """One ingested file: frames on the DEM grid, valid time of the last one, how read."""

    rin: RainInput
    unix: float | None  # seconds since 1970 of the last frame; None: the file does not say
    source: str  # radar source name, or "rain file"
    # native radar only: its frames on the radar grid around the DEM (the window and margin
    # of ``nowcast --radar``), NaN = no coverage kept, for STEPS (serve.radar_window)
    radar: RadarSequence | None = None


def watchable(name: str) -> bool:
    """Whether a file name is one the watcher reads (by its ending, case-insensitive)."""
    return name.lower().endswith(ENDINGS)


def native_source(path: Path, forced: str | None = None) -> str | None:
    """The radar source to read ``path`` with, or None for a rain file (read_path)."""
    from floodcast.io.radar_sources import GENERIC_SOURCES, get_source, guess_source

    if path.name.lower().endswith(".npz"):
        return None  # always floodcast's own rain file
    if forced:
        name = get_source(forced).name
        return None if name in GENERIC_SOURCES else name
    try:
        spec = get_source(guess_source(path))
    except InputError:
        return None
    if spec.name in GENERIC_SOURCES or (spec.importer == "odim_hdf5" and not _is_odim(path)):
        return None
    return spec.name


def _is_odim(path: Path) -> bool:
    """ODIM HDF5 has a root ``what`` group with ``date``; a NetCDF-4 rain file does not.
    An HDF5 file that cannot be opened (e.g. cut short) counts as ODIM, so that the header
    check of native files says what is wrong with it."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return "what" in f and "date" in f["what"].attrs
    except OSError:
        return True
    except (ImportError, KeyError):
        return False


def read_drop(
    path: Path, dem: Dem, default_interval: float, forced_source: str | None = None
) -> Drop:
    """Frames of one dropped file on the DEM grid (NaN = no coverage set to 0), its valid
    time and source, and for native radar its cropped radar-grid frames. Raises InputError
    naming the file."""
    source = native_source(path, forced_source)
    if source is None:
        rin = read_path(path, dem, None, default_interval, allow_nan=True)
        return Drop(rin, _name_time(path), "rain file")
    return _read_native(path, source, dem, default_interval)


def _name_time(path: Path) -> float | None:
    from floodcast.io.radar_sources import time_from_name

    t = time_from_name(path, None)
    return None if t is None else _unix(t)


def _unix(t) -> float:
    return float(np.datetime64(t, "s").astype(np.int64))


def _read_native(path: Path, source: str, dem: Dem, default_interval: float) -> Drop:
    from floodcast.io.radar import read_radar
    from floodcast.io.radar_sources import get_source
    from floodcast.predict.inputs import radar_on_dem
    from floodcast.predict.radar_nowcast import MARGIN_KM, crop_around

    try:
        with warnings.catch_warnings(record=True) as caught, parse_slot():
            warnings.simplefilter("always")
            seq = read_radar(path, source)
            frames = radar_on_dem(seq, dem)
            crop = crop_around(seq, dem, MARGIN_KM)
    except RadarHeaderError:  # refused before pysteps (read_radar): names the file already
        raise
    except InputError as exc:
        raise InputError(f"{path.name}: {source} radar: {exc}") from None
    except Exception as exc:  # importer errors seldom name the file
        raise InputError(
            f"{path.name}: cannot read as {source} radar ({type(exc).__name__}: {exc})"
        ) from None
    interval = float(seq.interval_s)
    if not (math.isfinite(interval) and interval > 0):  # one frame without an accumulation time
        nominal = get_source(source).timestep_min
        interval = float(nominal) * 60.0 if nominal else float(default_interval)
    t_last = seq.times[-1]
    notes = [
        f"radar {source}: {len(seq.times)} frame(s) to {t_last}, {seq.cell_size:.0f} m cells, "
        "reprojected onto the DEM"
    ]
    notes += [str(w.message)[:200] for w in caught]
    no_cover = int(np.isnan(frames).sum())
    if no_cover:
        notes.append(f"{no_cover} DEM cells outside radar coverage set to 0 mm/h")
    rin = validate(frames, dem, interval, path.name, allow_nan=True, notes=notes)
    return Drop(rin, _unix(t_last), source, crop)
