"""The reference storm: the solver's depth under a uniform storm, read at each cell's rain."""

import numpy as np
import pytest

from floodcast.data import store
from floodcast.data.channels import PREV_DEPTH_SCALE_M
from floodcast.data.reference_storm import (
    MATCHED_DURATION_S,
    MATCHED_RATES_MMH,
    matched_depth_at,
    matched_series,
    reference_channel,
    reference_depth_at,
    reference_series,
)
from floodcast.data.terrain import DemRouting
from floodcast.data.torchdata import FloodDataset
from floodcast.errors import InputError


def test_closed_flat_basin_holds_every_millimetre():
    # no slope, no outflow: the depth after X mm of rain is X mm everywhere (mass balance)
    totals, depth = reference_series(np.zeros((6, 7)), 10.0, boundary="closed")
    assert totals[0] == 0.0 and totals[-1] == pytest.approx(30.0)  # 5 mm/h for 6 h
    np.testing.assert_allclose(np.diff(totals), 5.0 * 300 / 3600)  # every 5 min: 0.417 mm
    assert depth.shape == (len(totals), 6, 7)
    np.testing.assert_allclose(
        depth, np.broadcast_to(totals[:, None, None] / 1000, depth.shape), atol=1e-6
    )
    assert reference_series(np.zeros((6, 7)), 10.0, boundary="closed")[1] is depth  # cached


def test_read_at_each_cells_rain_total_linearly_and_held_past_the_last():
    totals, depth = reference_series(np.zeros((6, 7)), 10.0, boundary="closed")
    accum = np.zeros((3, 6, 7))
    accum[1] = 15.2  # between two saved totals (15.0 and 15.42 mm): linear
    accum[2] = 50.0  # past the 30 mm the storm delivers: held at its last depth
    accum[2, 0, 0] = 2.5
    d = reference_depth_at(totals, depth, accum)
    assert d.shape == (3, 6, 7)
    np.testing.assert_allclose(d[0], 0.0, atol=1e-9)
    np.testing.assert_allclose(d[1], 0.0152, atol=1e-6)
    np.testing.assert_allclose(d[2, 1:], 0.030, atol=1e-6)
    assert d[2, 0, 0] == pytest.approx(0.0025, abs=1e-6)
    # one grid [H, W] as predict gives it; the channel is log1p(d / 5 cm)
    ch = reference_channel(totals, depth, accum[1])
    np.testing.assert_allclose(ch, np.log1p(0.0152 / PREV_DEPTH_SCALE_M), rtol=1e-5)


def test_water_runs_off_a_slope_and_pools_in_a_pit():
    z = np.tile(np.linspace(5.0, 0.0, 20), (12, 1))  # a 5 % ramp falling east, free edges
    z[5:7, 8:10] -= 1.0  # a 1-m pit halfway down
    _, depth = reference_series(z, 5.0)
    last, pit = depth[-1], (slice(5, 7), slice(8, 10))
    level = z[pit] + last[pit]
    assert level.max() - level.min() < 0.01  # a pool: one flat water surface
    assert last[pit].max() > 0.3  # 0.34 m over the pit's deepest cells
    rest = np.ones(z.shape, bool)
    rest[pit] = False
    assert last[rest].max() < 0.005  # the slope drains: a film, under 1/6 of the 30 mm fallen


def test_bad_input_is_named():
    totals, depth = reference_series(np.zeros((6, 7)), 10.0, boundary="closed")
    with pytest.raises(InputError, match="not on the DEM grid"):
        reference_depth_at(totals, depth, np.zeros((7, 6)))
    with pytest.raises(InputError, match="rate > 0"):
        reference_series(np.zeros((6, 7)), 10.0, rate_mmh=0.0)
    with pytest.raises(InputError, match="valid cells"):
        reference_series(np.full((6, 7), np.nan), 10.0)


def test_matched_storm_keeps_mass_on_a_closed_flat_basin_at_any_rate():
    series = matched_series(np.zeros((6, 7)), 10.0, boundary="closed")
    assert len(series) == len(MATCHED_RATES_MMH) == 5
    for (totals, _), r in zip(series, MATCHED_RATES_MMH, strict=True):
        assert totals[-1] == pytest.approx(r * MATCHED_DURATION_S / 3600)  # 3 h of each storm
    # 12 mm in 0.5 h (24 mm/h, past the 20 mm/h storm) or in 2 h (6 mm/h, between 5 and 10):
    # no outflow, so 12 mm of water either way
    for t in (0.5, 2.0):
        np.testing.assert_allclose(
            matched_depth_at(series, np.full((6, 7), 12.0), t), 0.012, atol=1e-6
        )


def test_matched_storm_reads_the_storm_of_each_cells_mean_rate():
    z = np.tile(np.linspace(5.0, 0.0, 20), (12, 1))  # a 5 % ramp with a pit, free edges
    z[5:7, 8:10] -= 1.0
    series = matched_series(z, 5.0)
    accum = np.full(z.shape, 5.0)
    on = dict(zip(MATCHED_RATES_MMH, series, strict=True))
    # 5 mm in 1 h: exactly the 5 mm/h storm
    np.testing.assert_allclose(
        matched_depth_at(series, accum, 1.0), reference_depth_at(*on[5.0], accum), atol=1e-7
    )
    # 5 mm at 7.07 mm/h, halfway between 5 and 10 mm/h in log rate: the mean of the two
    mid = matched_depth_at(series, accum, 5.0 / np.sqrt(50.0))
    np.testing.assert_allclose(
        mid,
        0.5 * (reference_depth_at(*on[5.0], accum) + reference_depth_at(*on[10.0], accum)),
        atol=1e-6,
    )
    # beyond the ladder: its end storms
    np.testing.assert_allclose(
        matched_depth_at(series, accum, 0.05),  # 100 mm/h
        reference_depth_at(*on[20.0], accum),
        atol=1e-7,
    )
    np.testing.assert_allclose(
        matched_depth_at(series, accum, 10.0),  # 0.5 mm/h
        reference_depth_at(*on[1.25], accum),
        atol=1e-7,
    )
    # per-frame times broadcast over [T, H, W]; the same 5 mm leave a deeper film on the
    # slope when they fell fast (20 mm/h) than slowly (2.5 mm/h): the sheet flow drains less
    two = matched_depth_at(series, np.stack([accum, accum]), np.array([0.25, 2.0]))
    assert (two[0, :4, 12:] > 1.5 * two[1, :4, 12:]).all()
    with pytest.raises(InputError, match="time since the event began"):
        matched_depth_at(series, accum, 0.0)


@pytest.mark.parametrize("channel", ["reference_depth", "matched_depth"])
def test_storm_channels_in_dataset_samples(tiny_store, channel):
    path = tiny_store[0]
    ds = FloodDataset(path, "train", formulation=f"original+{channel}")
    assert ds.channels[-1] == channel
    p = ds.spec["patch"]
    wettest = 0.0
    for i in range(0, len(ds), max(1, len(ds) // 6)):
        e, k, r, c = (int(v) for v in ds.items[i])
        rain, _, attrs = store.read_event(path, ds.event_ids[e])
        z, dattrs = store.read_dem(path, attrs["plan"]["dem_id"])
        dt_h = attrs["plan"]["interval_s"] / 3600.0
        accum = rain[: k + 1].sum(0) * dt_h
        whole = DemRouting(z, dattrs["cell_size"]).grids([channel], accum, (k + 1) * dt_h)
        want = whole[channel][r : r + p, c : c + p]
        np.testing.assert_allclose(ds.sample(i)["x"][-1], want, rtol=1e-5, atol=1e-6)
        wettest = max(wettest, float(want.max()))
    assert wettest > 0.0  # some tile checked has reference water in it
