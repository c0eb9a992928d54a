"""What a simulate job is: the request (every setting of `floodcast simulate`), the job
once its inputs are read and checked, and its result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from floodcast.defaults import SAVE_EVERY_S, SIMULATE_MAX_STEP_S, WET_THRESHOLD_M
from floodcast.io.dem import Dem
from floodcast.io.rain import RainSeries

OUTPUT_FILES = ("depth.nc", "max_depth.tif", "mass_balance.csv", "max_depth.png", "run.json")


@dataclass
class SimulateRequest:
    """Settings of one simulate run, as given on the command line (units in names).

    ``dem`` and ``rain`` may be paths/strings or already loaded :class:`Dem` /
    :class:`RainSeries` objects (the demo passes objects).
    """

    dem: str | Path | Dem
    rain: str | Path | RainSeries
    duration_s: float
    out: str | Path | None  # None: nothing written (floodcast.api.simulate)
    manning: float | str | None = None  # a number, a raster file; None: MANNING_N
    boundary: str = "free"
    save_every_s: float = SAVE_EVERY_S
    max_step_s: float = SIMULATE_MAX_STEP_S
    threshold_m: float = WET_THRESHOLD_M
    pad_zero: bool = False
    infiltration_mmh: float | str = 0.0  # a number or a raster file (mm/h)
    inflows: Sequence[str] = ()
    threads: int | None = 1  # None: numba's default; see the README
    fill_sinks: bool = False
    allow_empty_rain: bool = False  # all-NaN rain runs as no rain instead of an error
    elevation_units: str = "m"  # m | ft | ftUS (see floodcast.io.dem_gdal)
    drainage_mmh: float | str = 0.0  # a number or a raster file (mm/h)
    landcover: str | Path | None = None  # class raster -> n via manning_table
    manning_table: str | Path | None = None  # class,n[,name] CSV; None: ESA WorldCover
    soil: str | Path | None = None  # Green-Ampt: "KS,PSI,DEFICIT", class CSV or npz grids
    nodata: str = "wall"  # wall | open (free outflow into nodata cells); simulation.coast
    sea_level: float | None = None  # cells at or below it (m) are a fixed-level sea

    def settings(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("dem", "rain"):
            v = getattr(self, k)
            d[k] = v.source if isinstance(v, (Dem, RainSeries)) else str(v)
        d["out"] = None if self.out is None else str(self.out)
        for k in (
            "manning",
            "infiltration_mmh",
            "drainage_mmh",
            "landcover",
            "manning_table",
            "soil",
        ):
            v = d[k]
            d[k] = v if v is None or isinstance(v, (int, float)) else str(v)
        d["inflows"] = list(self.inflows)
        return d


@dataclass
class PreparedJob:
    """Validated inputs, ready to simulate."""

    request: SimulateRequest
    dem: Dem
    rain: RainSeries
    boundaries: Any
    inflows: list[Any]
    config: Any
    notes: list[str] = field(default_factory=list)


@dataclass
class JobResult:
    """What :func:`execute` produced: output paths and run statistics."""

    out: Path
    files: dict[str, Path]
    stats: dict[str, Any]


# --------------------------------------------------------------------------- prepare
