"""The channel vocabulary: which input channels exist, what each means, how a depth is
encoded, and the identity key of a DEM grid (every whole-DEM cache uses it).

Training, inference and the reference storms all read channel names and encodings from here.
"""

from __future__ import annotations

import hashlib

import numpy as np

from floodcast.defaults import DEPTH_SCALE_M
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
    "manning": "Manning n of the cell the solver ran with, ln(n / 0.035): 0 at the default n, "
    "-0.85 on a road (0.015), +1.05 in a thicket (0.1)",
}
PREV_DEPTH_SCALE_M = DEPTH_SCALE_M  # the name the channels and the training task use
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
DERIVED_CHANNELS = (
    "upslope_area",
    "upslope_rain",
    "depression_depth",
    "reference_depth",
    "matched_depth",
)


#: Extra channels read from the land surface of a DEM (the Manning raster a store keeps once
#: per DEM, a uniform n otherwise), so every store has them.
SURFACE_CHANNELS = ("manning",)


def manning_channel(n: np.ndarray | float, shape: tuple[int, int]) -> np.ndarray:
    """The ``manning`` channel [H, W]: ln(n / MANNING_N), float32 (0 in walls, NaN n).

    Log, because friction acts through n² / h^(4/3): a road and a thicket differ by a factor
    of 7 in n, and log puts the six classes of a land-cover map at comparable spacing."""
    from floodcast.defaults import MANNING_N

    n = np.broadcast_to(np.asarray(n, np.float64), shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log(n / MANNING_N)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def grid_key(elevation: np.ndarray, cell_size: float) -> tuple:
    """Identity of one DEM grid by content (shape, cell size, hash of the heights), the key
    of every cache of whole-DEM work (``FloodMapper``'s routing, the reference storm)."""
    z = np.ascontiguousarray(elevation)
    return z.shape, float(cell_size), hashlib.blake2b(z.tobytes(), digest_size=16).digest()
