"""Sample definition: windows of K rain frames + DEM -> wet mask, cut on the fly.

A sample is (event, frame k, tile). Its input is rain frames k-K+1..k (frames
before the event start are zero rain), the DEM tile and optional state channels;
its target is the depth after frame k (``depth[k]``, at the end of frame k's
interval), wet where depth > threshold. Nothing is copied per window: the store keeps
each frame once and this module only computes indices. The channel vocabulary lives in
``floodcast.data.channels``, the terrain-derived channels in ``floodcast.data.terrain``.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np

from floodcast.data.channels import (
    DERIVED_CHANNELS,
    EXTRA_CHANNELS,
    SURFACE_CHANNELS,
    depth_channel,
)
from floodcast.defaults import WET_THRESHOLD_M
from floodcast.errors import InputError

#: The 8 symmetries of the square grid, by index for ``dihedral``.
DIHEDRAL_NAMES = (
    "as is",
    "flip east-west",
    "flip north-south",
    "rotate 180",
    "transpose",
    "transpose + flip east-west",
    "transpose + flip north-south",
    "anti-transpose",
)


def dihedral(a: np.ndarray, t: int) -> np.ndarray:
    """Symmetry ``t`` (0-7, see ``DIHEDRAL_NAMES``) of the square grid on [..., y, x].

    Terrain, rain and the physics (the solver's square grid, D8 routing) have no preferred
    direction, so a whole world transformed this way is an equally valid flood. Tiles of
    whole-DEM channels (``upslope_area``) stay consistent: the transformed tile is the tile
    of the transformed world.
    """
    b = np.swapaxes(a, -1, -2) if t & 4 else a
    if t & 1:
        b = b[..., ::-1]
    if t & 2:
        b = b[..., ::-1, :]
    return np.ascontiguousarray(b)


def validate_threshold(threshold: float) -> float:
    """Wet/dry threshold in metres, 0 < t < 10 (the original once used 1.5 m by mistake)."""
    t = float(threshold)
    if not (0.0 < t < 10.0) or not np.isfinite(t):
        raise InputError(f"threshold={threshold!r}: must be a depth in metres with 0 < t < 10")
    if t > 1.0:
        warnings.warn(
            f"threshold {t} m is unusually high for a wet/dry depth (default {WET_THRESHOLD_M} m)",
            stacklevel=2,
        )
    return t


@dataclass
class SampleSpec:
    """How samples are cut from the stored events."""

    frames: int = 7  # K, the original choice
    threshold: float = WET_THRESHOLD_M  # m
    patch: int = 128  # tile size (cells); domains smaller than this are an error
    overlap: int = 0  # tile overlap (cells)
    extra_channels: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.threshold = validate_threshold(self.threshold)
        if self.frames < 1:
            raise InputError(f"frames={self.frames}: need at least one rain frame")
        if not 0 <= self.overlap < self.patch:
            raise InputError(f"overlap={self.overlap}: must be >= 0 and < patch ({self.patch})")
        bad = [c for c in self.extra_channels if c not in EXTRA_CHANNELS]
        if bad:
            raise InputError(f"unknown extra channel(s) {bad}; valid: {sorted(EXTRA_CHANNELS)}")

    @property
    def channels(self) -> list[str]:
        """Channel names in order: rain_t-(K-1) … rain_t, dem, extras."""
        rain = [f"rain_t-{self.frames - 1 - i}" for i in range(self.frames)]
        return rain + ["dem"] + list(self.extra_channels)

    def to_dict(self) -> dict:
        return asdict(self)


def tile_origins(n: int, patch: int, overlap: int) -> list[int]:
    """Start offsets covering [0, n) with tiles of ``patch`` (the last tile flush with the end)."""
    if n < patch:
        raise InputError(f"domain of {n} cells is smaller than one patch ({patch}); lower --patch")
    step = patch - overlap
    starts = list(range(0, n - patch + 1, step))
    if starts[-1] != n - patch:
        starts.append(n - patch)
    return starts


def tiles(shape: tuple[int, int], patch: int, overlap: int) -> list[tuple[int, int]]:
    """(row, col) origins of the tiles covering a grid."""
    return [
        (r, c)
        for r in tile_origins(shape[0], patch, overlap)
        for c in tile_origins(shape[1], patch, overlap)
    ]


def rain_window(rain: np.ndarray, k: int, frames: int) -> np.ndarray:
    """Frames k-frames+1..k of ``rain`` [t, y, x]; frames before the start are zero."""
    lo = k - frames + 1
    if lo >= 0:
        return rain[lo : k + 1]
    pad = np.zeros((-lo,) + rain.shape[1:], rain.dtype)
    return np.concatenate([pad, rain[: k + 1]], axis=0)


def sample_hash(rain_win: np.ndarray, dem_key: str, target: np.ndarray, extra: bytes = b"") -> str:
    """Content hash of one sample: identical inputs and target give the same key."""
    h = hashlib.blake2b(digest_size=16)
    h.update(dem_key.encode())
    h.update(np.ascontiguousarray(rain_win, dtype=np.float32).tobytes())
    h.update(np.packbits(np.ascontiguousarray(target, dtype=bool)).tobytes())
    h.update(extra)
    return h.hexdigest()


def split_events(
    event_ids: list[str], fractions: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 0
) -> dict[str, str]:
    """Assign whole events to train/val/test (seeded); never split an event's windows.

    With few events every non-empty fraction still gets at least one event when possible.
    """
    if abs(sum(fractions) - 1.0) > 1e-6 or min(fractions) < 0:
        raise InputError(f"split fractions {fractions} must be >= 0 and sum to 1")
    ids = sorted(event_ids)
    order = np.random.default_rng(seed).permutation(len(ids))
    n = len(ids)
    n_val = int(round(fractions[1] * n))
    n_test = int(round(fractions[2] * n))
    if n >= 3:
        n_val = max(n_val, 1 if fractions[1] > 0 else 0)
        n_test = max(n_test, 1 if fractions[2] > 0 else 0)
    n_train = n - n_val - n_test
    names = ["train"] * n_train + ["val"] * n_val + ["test"] * n_test
    return {ids[i]: names[j] for j, i in enumerate(order)}


def check_test_dems(test_dems: list[str], dems) -> None:
    """``--test-dem`` must name DEMs of the build and leave at least one to train on."""
    dems = sorted(set(dems))
    bad = sorted(set(test_dems) - set(dems))
    if bad:
        raise InputError(f"--test-dem {bad}: not among this build's DEMs {dems}")
    if test_dems and not set(dems) - set(test_dems):
        raise InputError(f"--test-dem holds out every DEM ({dems}): none is left to train on")


def split_events_by_dem(
    event_dems: dict[str, str],
    test_dems: list[str],
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> dict[str, str]:
    """Hold out whole DEMs: every event on ``test_dems`` is test, the others are split into
    train/val in the ratio of ``fractions`` (seeded, by event).

    Splitting by event alone tests known terrain: the models memorise where water collects
    on their training DEMs (``bench_mirror``). A held-out DEM measures skill on new terrain.
    """
    check_test_dems(test_dems, event_dems.values())
    rest = [e for e, d in event_dems.items() if d not in test_dems]
    f_train, f_val = fractions[0], fractions[1]
    if f_train + f_val <= 0:
        raise InputError(f"split fractions {fractions} leave nothing to train on")
    out = split_events(rest, (f_train / (f_train + f_val), f_val / (f_train + f_val), 0.0), seed)
    out.update({e: "test" for e, d in event_dems.items() if d in test_dems})
    return out


def check_wet_balance(wet_fraction: dict[str, float]) -> list[str]:
    """Warnings for splits that come out all-dry or all-wet (a wrong threshold shows here)."""
    msgs = []
    for split, f in wet_fraction.items():
        if f == 0.0:
            msgs.append(f"split '{split}' is all dry at this threshold: check --threshold (m)")
        elif f == 1.0:
            msgs.append(f"split '{split}' is all wet at this threshold: check --threshold (m)")
    for m in msgs:
        warnings.warn(m, stacklevel=2)
    return msgs


def make_input(
    win: np.ndarray,
    dem_tile: np.ndarray,
    stats: dict,
    extras: list[str],
    accum_tile: np.ndarray | None = None,
    time_h: float = 0.0,
    prev_depth: np.ndarray | None = None,
    derived: dict[str, np.ndarray] | None = None,
) -> np.ndarray:
    """Model input [C, H, W] float32 from raw physical fields (one definition for training,
    evaluation and inference).

    Rain frames are standardised with the training statistics; the DEM tile becomes an
    anomaly about its own mean (absolute height carries no flood signal); state
    channels are in mm / h / m as listed in ``EXTRA_CHANNELS``; ``derived`` holds the tiles
    of the ``DERIVED_CHANNELS`` in use, cut from the whole-DEM grids of ``DemRouting``, and
    of the ``SURFACE_CHANNELS`` (``manning``).
    """
    h, w = dem_tile.shape
    chans = [
        (np.asarray(win, np.float32) - stats["rain_mean"]) / stats["rain_std"],
        ((dem_tile - np.nanmean(dem_tile)) / stats["dem_anomaly_std"])[None],
    ]
    for name in extras:
        if name == "rain_accum":
            chans.append(np.asarray(accum_tile, np.float32)[None] / stats["rain_accum_scale_mm"])
        elif name == "time_since_start":
            chans.append(np.full((1, h, w), time_h, np.float32))
        elif name == "prev_depth":
            prev = np.zeros((h, w), np.float32) if prev_depth is None else prev_depth
            chans.append(depth_channel(np.asarray(prev, np.float32))[None])
        elif name in DERIVED_CHANNELS or name in SURFACE_CHANNELS:
            if derived is None or name not in derived:
                src = "the land surface" if name in SURFACE_CHANNELS else "DemRouting(DEM)"
                raise InputError(f"the {name} channel needs its tile, cut from {src}")
            chans.append(np.asarray(derived[name], np.float32)[None])
        else:
            raise InputError(f"unknown extra channel {name!r}; valid: {sorted(EXTRA_CHANNELS)}")
    return np.nan_to_num(np.concatenate(chans, 0).astype(np.float32))
