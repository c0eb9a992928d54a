"""Sample definition: windows of K rain frames + DEM -> wet mask, cut on the fly.

A sample is (event, frame k, tile). Its input is rain frames k-K+1..k (frames
before the event start are zero rain), the DEM tile and optional state channels;
its target is the depth after frame k (``depth[k]``, at the end of frame k's
interval), wet where depth > threshold. Nothing is copied per window: the store keeps
each frame once and this module only computes indices.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np

from floodcast.errors import InputError

#: Optional input channels beyond the K rain frames and the DEM.
EXTRA_CHANNELS = {
    "rain_accum": "rain accumulated since the event began (mm)",
    "time_since_start": "time since the event began (h)",
    "prev_depth": "depth one radar interval earlier, as log1p(depth / 0.05 m) - autoregressive input",
    "upslope_area": "log10 of the D8 upslope contributing area (m2), scaled: (log10 A - 4) / 2",
    "upslope_rain": "rain since the event began on the D8 upslope area, log10(1 + m3) / 4",
    "depression_depth": "depth below the spill level of a closed depression, log1p(m / 0.1 m) / 2",
    "reference_depth": "depth a uniform 5 mm/h storm gives on the DEM after as much rain as has "
                       "fallen on the cell since the event began, log1p(m / 0.05 m)",
    "matched_depth": "depth a uniform storm at the cell's own mean rate since the event began "
                     "gives after as much rain as has fallen there, log1p(m / 0.05 m)",
}
PREV_DEPTH_SCALE_M = 0.05
#: Channels that hold a depth as log1p(depth / 5 cm): each can serve as a model's prior
#: (``--prior``), its value at the wet threshold being log1p(threshold / 5 cm).
DEPTH_CHANNELS = ("prev_depth", "reference_depth", "matched_depth")


def depth_channel(depth_m: np.ndarray | float) -> np.ndarray:
    """A depth (m) as the ``DEPTH_CHANNELS`` encode it: log1p(depth / 5 cm), float32, depth
    clipped at 0. O(1) at the wet threshold (0.1 m -> 1.1, 1 m -> 3.0): raw metres left the
    wet/dry edge a tiny signal beside standardised rain."""
    return np.log1p(np.clip(np.asarray(depth_m), 0, None) / PREV_DEPTH_SCALE_M).astype(np.float32)


def prior_offset(channel: str, threshold_m: float) -> float:
    """The value of depth channel ``channel`` at the wet threshold (``--prior``'s offset)."""
    if channel not in DEPTH_CHANNELS:
        raise InputError(f"--prior {channel!r} is not a depth channel; valid: {DEPTH_CHANNELS}")
    return float(depth_channel(threshold_m))

#: Extra channels derived from the DEM (and rain) when a sample is cut, so no store rebuild
#: needs them.
DERIVED_CHANNELS = ("upslope_area", "upslope_rain", "depression_depth", "reference_depth",
                    "matched_depth")
UPSLOPE_RAIN_LOG_SCALE = 4.0  # log10(1 + m3) / 4: 1e4 m3 upstream -> 1.0
DEPRESSION_SCALE_M = 0.1  # log1p(d / 0.1 m) / 2: 0.1 m deep -> 0.35, 1 m -> 1.2, 10 m -> 2.3


class DemRouting:
    """D8 routing of one whole DEM (before tiling), computed once and reused.

    Where water collects depends on terrain and rain far outside a 128-cell patch. The
    contributing area (``upslope_area``) carries the terrain's upstream context into every
    tile, the same quantity the terrain-heuristic baseline uses; ``upslope_rain`` routes the
    rain itself: the volume fallen since the event began on every cell's upslope area, which
    is what fills a depression or a channel (pits are kept, so water stops where it pools).
    ``depression_depth`` marks where it pools: how far each cell lies below the spill level
    of its closed depression, the storage that must fill before water moves on.
    ``reference_depth`` is the solver's own answer for a uniform design storm, read at each
    cell's rain total (``floodcast.data.reference_storm``); ``matched_depth`` reads it on the
    storm of each cell's own mean rate.
    """

    def __init__(self, elevation: np.ndarray, cell_size: float):
        self.shape = np.shape(elevation)
        self.cell_size = float(cell_size)
        self.valid = np.isfinite(np.asarray(elevation, np.float64))
        self.elevation = elevation
        self._area: np.ndarray | None = None
        self._pits: np.ndarray | None = None

    @cached_property
    def d8(self) -> tuple[np.ndarray, np.ndarray]:
        """``(order, receiver)`` of the D8 routing, computed on first use: only the routed
        channels need it, not ``depression_depth``."""
        from floodcast.io.dem_tools import d8_routing

        return d8_routing(self.elevation, self.cell_size)

    def area_channel(self) -> np.ndarray:
        """log10 of the upslope area (m2), scaled: (log10 A - 4) / 2, so 1e4 m2 -> 0, 1e6 -> 1."""
        if self._area is None:
            from floodcast.io.dem_tools import upslope_cells

            area_m2 = upslope_cells(*self.d8, self.valid) * self.cell_size ** 2
            self._area = ((np.log10(area_m2) - 4.0) / 2.0).astype(np.float32)
        return self._area

    def depression_channel(self) -> np.ndarray:
        """log1p(depth below the spill level / 0.1 m) / 2 (0 outside closed depressions)."""
        if self._pits is None:
            from floodcast.io.dem_tools import depression_depth

            d = depression_depth(self.elevation)
            self._pits = (np.log1p(d / DEPRESSION_SCALE_M) / 2.0).astype(np.float32)
        return self._pits

    def rain_channel(self, accum_mm: np.ndarray) -> np.ndarray:
        """log10(1 + upslope rain volume in m3) / 4 for rain totals [..., H, W] in mm."""
        from floodcast.io.dem_tools import d8_accumulate

        a = np.asarray(accum_mm, np.float64)
        if a.shape[-2:] != self.shape:
            raise InputError(f"rain totals {a.shape} are not on the DEM grid {self.shape}")
        w = np.where(self.valid, a, 0.0).reshape(-1, a.shape[-1] * a.shape[-2])
        vol_m3 = d8_accumulate(*self.d8, w) * (self.cell_size ** 2 / 1000.0)
        return (np.log10(1.0 + vol_m3) / UPSLOPE_RAIN_LOG_SCALE).astype(np.float32).reshape(a.shape)

    def reference_grid(self, accum_mm: np.ndarray) -> np.ndarray:
        """The ``reference_depth`` channel for rain totals [..., H, W] in mm (one reference
        simulation per DEM, cached)."""
        from floodcast.data.reference_storm import reference_channel, reference_series

        return reference_channel(*reference_series(self.elevation, self.cell_size), accum_mm)

    def matched_grid(self, accum_mm: np.ndarray, time_h: float | np.ndarray) -> np.ndarray:
        """The ``matched_depth`` channel for rain totals [..., H, W] in mm after ``time_h``
        hours (one run per storm of the ladder and DEM, cached)."""
        from floodcast.data.reference_storm import matched_depth_at, matched_series

        return depth_channel(matched_depth_at(matched_series(self.elevation, self.cell_size),
                                              accum_mm, time_h))

    def grids(self, names: list[str], accum_mm: np.ndarray,
              time_h: float | np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Whole-DEM grids of the derived channels in ``names``: ``upslope_area`` and
        ``depression_depth`` [H, W]; ``upslope_rain``, ``reference_depth`` and
        ``matched_depth`` shaped like the rain totals ``accum_mm`` ([T, H, W] or [H, W]);
        ``matched_depth`` also needs the hours since the event began, ``time_h`` ([T] or
        a scalar)."""
        if "matched_depth" in names and time_h is None:
            raise ValueError("the matched_depth channel needs time_h, the hours since the event began")
        make = {"upslope_area": self.area_channel, "depression_depth": self.depression_channel,
                "upslope_rain": lambda: self.rain_channel(accum_mm),
                "reference_depth": lambda: self.reference_grid(accum_mm),
                "matched_depth": lambda: self.matched_grid(accum_mm, time_h)}
        return {n: make[n]() for n in names if n in DERIVED_CHANNELS}


def grid_key(elevation: np.ndarray, cell_size: float) -> tuple:
    """Identity of one DEM grid by content (shape, cell size, hash of the heights), the key
    of every cache of whole-DEM work (``FloodMapper``'s routing, the reference storm)."""
    z = np.ascontiguousarray(elevation)
    return z.shape, float(cell_size), hashlib.blake2b(z.tobytes(), digest_size=16).digest()


def upslope_area_channel(elevation: np.ndarray, cell_size: float) -> np.ndarray:
    """The ``upslope_area`` channel for a whole DEM (see ``DemRouting``)."""
    return DemRouting(elevation, cell_size).area_channel()


#: The 8 symmetries of the square grid, by index for ``dihedral``.
DIHEDRAL_NAMES = ("as is", "flip east-west", "flip north-south", "rotate 180", "transpose",
                  "transpose + flip east-west", "transpose + flip north-south",
                  "anti-transpose")


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
        warnings.warn(f"threshold {t} m is unusually high for a wet/dry depth (default 0.1 m)")
    return t


@dataclass
class SampleSpec:
    """How samples are cut from the stored events."""

    frames: int = 7  # K, the original choice
    threshold: float = 0.1  # m
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
    return [(r, c) for r in tile_origins(shape[0], patch, overlap)
            for c in tile_origins(shape[1], patch, overlap)]


def rain_window(rain: np.ndarray, k: int, frames: int) -> np.ndarray:
    """Frames k-frames+1..k of ``rain`` [t, y, x]; frames before the start are zero."""
    lo = k - frames + 1
    if lo >= 0:
        return rain[lo:k + 1]
    pad = np.zeros((-lo,) + rain.shape[1:], rain.dtype)
    return np.concatenate([pad, rain[:k + 1]], axis=0)


def sample_hash(rain_win: np.ndarray, dem_key: str, target: np.ndarray, extra: bytes = b"") -> str:
    """Content hash of one sample: identical inputs and target give the same key."""
    h = hashlib.blake2b(digest_size=16)
    h.update(dem_key.encode())
    h.update(np.ascontiguousarray(rain_win, dtype=np.float32).tobytes())
    h.update(np.packbits(np.ascontiguousarray(target, dtype=bool)).tobytes())
    h.update(extra)
    return h.hexdigest()


def split_events(event_ids: list[str], fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
                 seed: int = 0) -> dict[str, str]:
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


def split_events_by_dem(event_dems: dict[str, str], test_dems: list[str],
                        fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
                        seed: int = 0) -> dict[str, str]:
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
        warnings.warn(m)
    return msgs


def make_input(win: np.ndarray, dem_tile: np.ndarray, stats: dict, extras: list[str],
               accum_tile: np.ndarray | None = None, time_h: float = 0.0,
               prev_depth: np.ndarray | None = None,
               derived: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Model input [C, H, W] float32 from raw physical fields (one definition for training,
    evaluation and inference).

    Rain frames are standardised with the training statistics; the DEM tile becomes an
    anomaly about its own mean (absolute height carries no flood signal); state
    channels are in mm / h / m as listed in ``EXTRA_CHANNELS``; ``derived`` holds the tiles
    of the ``DERIVED_CHANNELS`` in use, cut from the whole-DEM grids of ``DemRouting``.
    """
    h, w = dem_tile.shape
    chans = [(np.asarray(win, np.float32) - stats["rain_mean"]) / stats["rain_std"],
             ((dem_tile - np.nanmean(dem_tile)) / stats["dem_anomaly_std"])[None]]
    for name in extras:
        if name == "rain_accum":
            chans.append(np.asarray(accum_tile, np.float32)[None] / stats["rain_accum_scale_mm"])
        elif name == "time_since_start":
            chans.append(np.full((1, h, w), time_h, np.float32))
        elif name == "prev_depth":
            prev = np.zeros((h, w), np.float32) if prev_depth is None else prev_depth
            chans.append(depth_channel(np.asarray(prev, np.float32))[None])
        elif name in DERIVED_CHANNELS:
            if derived is None or name not in derived:
                raise InputError(f"the {name} channel needs its tile, cut from DemRouting(DEM)")
            chans.append(np.asarray(derived[name], np.float32)[None])
        else:
            raise InputError(f"unknown extra channel {name!r}; valid: {sorted(EXTRA_CHANNELS)}")
    return np.nan_to_num(np.concatenate(chans, 0).astype(np.float32))
