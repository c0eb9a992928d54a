"""Coast options of the simulate job (``floodcast.simulation.coast``) and a real coastal tile."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.simulation.coast import check_coast, coast_notes


def test_check_coast():
    assert check_coast("wall", None) == ("wall", None)
    assert check_coast("Open", "-1.5") == ("open", -1.5)
    with pytest.raises(InputError, match="--nodata must be one of wall, open, got 'sea'"):
        check_coast("sea", None)
    with pytest.raises(InputError, match="--sea-level must be a number"):
        check_coast("wall", "high")
    with pytest.raises(InputError, match="--sea-level must be a finite"):
        check_coast("wall", float("inf"))


def test_coast_notes_count_cells():
    z = np.array([[np.nan, 0.0, 1.0], [np.nan, 0.5, 2.0]], np.float32)
    dem = Dem(z, 10.0, source="toy")
    assert coast_notes(dem, "open", None)[0].startswith("--nodata open: the 2 nodata cells")
    notes = coast_notes(dem, "wall", 0.5)
    assert "2 nodata cells" in notes[0] and "--sea-level 0.5 m: 2 cells" in notes[1]
    with pytest.raises(InputError, match="no land to simulate"):
        coast_notes(dem, "wall", 2.0)


@pytest.mark.shared_data
def test_real_azores_coast(shared_data):
    """SRTM-3 N38W028 (Azores), a 100 x 100 crop with 57 % sea (SRTM's sea is 0 m), 30 mm/h
    for 30 min, an hour simulated: with the sea masked as nodata, walls pond runoff against
    the coast (~1 m); open nodata drains it (coast depths of centimetres); the 0 m sea
    without a sea level collects water, with ``--sea-level 0`` it holds the level."""
    import floodcast
    from floodcast.io.dem import read_dem

    tile = shared_data / "dem/srtm/N38W028.SRTMGL3.hgt.zip"
    if not tile.exists():
        pytest.skip(f"{tile} not found: no coastal SRTM tile in the shared data")
    full = read_dem(tile)
    dem = replace(full, elevation=full.elevation[200:300, 1000:1100], transform=None)
    z = dem.elevation
    sea = ~(z > 0)
    coast = ~sea & ndimage.binary_dilation(sea)
    masked = replace(dem, elevation=np.where(sea, np.nan, z).astype(np.float32))

    def run(d, **kw):
        ds = floodcast.simulate(
            d,
            "30mm/h:30min",
            duration_s=3600.0,
            pad_zero=True,
            max_step_s=10.0,
            save_every_s=3600.0,
            **kw,
        )
        import json

        return ds.max_depth.values, json.loads(ds.attrs["stats"])["mass"]

    wall, _ = run(masked)
    opened, m_open = run(masked, nodata="open")
    assert np.percentile(wall[coast], 99) > 0.5  # ponds against the coastline
    assert np.percentile(opened[coast], 99) < 0.1
    assert m_open["outlet_out_m3"] > 0.15 * m_open["rain_in_m3"]
    spread, m_spread = run(dem)
    assert (spread[sea] > 0.05).sum() > 50  # runoff (and rain) spread over the 0 m sea
    held, m_sea = run(dem, sea_level=0.0)
    assert (held[sea] > 0).sum() == 0
    assert m_sea["rain_in_m3"] < 0.5 * m_spread["rain_in_m3"]  # no rain on the sea
    assert m_sea["relative_error"] < 1e-6 and m_sea["outlet_out_m3"] > 0
