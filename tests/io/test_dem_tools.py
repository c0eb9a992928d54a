"""DEM tools: sink filling on a tiny synthetic pit, block-mean pinned values, real DEMs."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.io.dem_tools import block_mean, fill_sinks


def _pit_dem() -> Dem:
    """A 6 x 7 plane rising to the east (outlet: west edge) with a 2-cell pit."""
    z = np.tile(np.arange(7, dtype=np.float32), (6, 1)) + 10.0  # 10 .. 16 m west -> east
    z[2, 3], z[3, 3] = 8.0, 9.5  # pit; lowest rim cell is 12 m (column 2)
    z[4, 5] = np.nan  # interior hole: a wall
    return Dem(z, 10.0, Affine(10, 0, 500000, 0, -10, 4e6), "EPSG:32633", "synthetic")


def test_fill_pit_skimage_pinned():
    dem = _pit_dem()
    out = fill_sinks(dem, "skimage")
    assert out.elevation[2, 3] == 12.0 and out.elevation[3, 3] == 12.0
    np.testing.assert_array_equal(
        np.delete(out.elevation.ravel(), [17, 24]), np.delete(dem.elevation.ravel(), [17, 24])
    )  # nothing else
    assert np.isnan(out.elevation[4, 5]) and out.elevation.dtype == np.float32
    info = out.attrs["sink_fill"]
    assert info["cells_raised"] == 2 and info["max_raise_m"] == 4.0
    assert info["volume_m3"] == pytest.approx((4.0 + 2.5) * 100.0)
    assert "sinks filled" in out.notes[-1] and dem.attrs == {}  # input untouched


def test_fill_nan_collar_is_outside():
    z = np.full((5, 5), 20.0, np.float32)
    z[:, 0] = np.nan  # nodata collar on the west
    z[2, 1] = 5.0  # low cell next to the collar: water leaves through it, not a pit
    z[2, 3] = 1.0  # a real pit
    out = fill_sinks(Dem(z, 1.0), "skimage")
    assert out.elevation[2, 1] == 5.0 and out.elevation[2, 3] == 20.0
    assert np.isnan(out.elevation[:, 0]).all()


def test_fill_errors():
    with pytest.raises(InputError, match="valid: pysheds, skimage, richdem"):
        fill_sinks(_pit_dem(), "magic")
    with pytest.raises(InputError, match="all cells are nodata"):
        fill_sinks(Dem(np.full((3, 3), np.nan, np.float32), 1.0), "skimage")


@pytest.mark.slow  # pysheds JIT-compiles numba code on import: ~15 s warm, minutes cold
def test_fill_pit_pysheds_matches_skimage():
    dem = _pit_dem()
    a, b = fill_sinks(dem), fill_sinks(dem, "skimage")
    np.testing.assert_array_equal(a.elevation, b.elevation)
    assert a.attrs["sink_fill"]["method"] == "pysheds"


def test_block_mean_pinned():
    z = np.arange(24, dtype=np.float32).reshape(4, 6)
    z[0, 0] = np.nan
    dem = Dem(z, 5.0, Affine(5, 0, 100, 0, -5, 200), "EPSG:32632", "t")
    out = block_mean(dem, 10.0)
    # blocks (rows 0-1, cols 0-1): nan,1,6,7 -> 14/3; (0-1, 2-3): 2,3,8,9 -> 5.5 ...
    np.testing.assert_allclose(out.elevation, [[14 / 3, 5.5, 7.5], [15.5, 17.5, 19.5]])
    assert out.cell_size == 10.0 and out.transform == Affine(10, 0, 100, 0, -10, 200)
    assert out.attrs["block_factor"] == 2 and out.elevation.dtype == np.float32
    strict = block_mean(dem, 10.0, min_valid=1.0)
    assert np.isnan(strict.elevation[0, 0]) and strict.elevation[0, 1] == 5.5
    odd = block_mean(dem, 15.0)  # 4x6 by 3: one row dropped, said so
    assert odd.shape == (1, 2) and "dropped 1 south rows" in odd.notes[-1]
    assert block_mean(dem, 5.0) is dem


def test_block_mean_errors():
    dem = _pit_dem()
    with pytest.raises(InputError, match="not an integer multiple"):
        block_mean(dem, 25.0)
    with pytest.raises(InputError, match="smaller than one"):
        block_mean(dem, 100.0)


@pytest.mark.shared_data
def test_real_srtm_fill_and_coarsen(shared_data):
    from floodcast.io.dem import read_dem

    dem = read_dem(shared_data / "dem/pysheds/roi.tif")
    filled = fill_sinks(dem, "skimage")
    assert np.all(filled.elevation >= dem.elevation)
    assert fill_sinks(filled, "skimage").attrs["sink_fill"]["cells_raised"] == 0  # idempotent
    assert dem.cell_size == pytest.approx(30 * 1200 / 3937)  # 30 US survey feet (EPSG:3089)
    coarse = block_mean(filled, 3 * dem.cell_size)
    assert coarse.shape == (33, 23) and coarse.cell_size == pytest.approx(3 * dem.cell_size)
    assert coarse.elevation[0, 0] == pytest.approx(filled.elevation[:3, :3].mean(), rel=1e-6)


def test_d8_accumulate_sums_weights_downslope_by_hand():
    from floodcast.io.dem_tools import contributing_area, d8_accumulate, d8_routing

    # a 1 x 4 ramp falling east: each cell drains to its east neighbour, the last is a pit
    order, recv = d8_routing(np.array([[4.0, 3.0, 2.0, 1.0]]), 10.0)
    assert recv.tolist() == [1, 2, 3, -1]
    w = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 0.0, 1.0, 0.0]])  # two weight fields at once
    np.testing.assert_array_equal(d8_accumulate(order, recv, w), [[1, 3, 6, 10], [0, 0, 1, 1]])
    with pytest.raises(InputError, match="flat DEM cells"):
        d8_accumulate(order, recv, np.ones((1, 3)))
    # a V valley draining south: the middle cell takes the top row (3 cells, and itself);
    # the middle row's flanks fall steepest diagonally (2 m over sqrt 2) to the outlet
    z = np.array([[5.0, 4.0, 5.0], [4.0, 3.0, 4.0], [3.0, 2.0, 3.0]])
    np.testing.assert_array_equal(contributing_area(z, 1.0), [[1, 1, 1], [1, 4, 1], [1, 9, 1]])


def test_depression_depth_is_the_fill_above_the_ground():
    from floodcast.io.dem_tools import depression_depth

    z = np.full((5, 5), 10.0)
    z[1:4, 1:4] = 8.0  # a bowl ...
    z[2, 2] = 7.0
    z[0, 2] = 9.0  # ... that spills over the lowest rim cell, at 9 m
    d = depression_depth(z)
    expect = np.zeros((5, 5))
    expect[1:4, 1:4] = 1.0
    expect[2, 2] = 2.0
    np.testing.assert_allclose(d, expect)
    z[0, 2] = 7.5  # a breach below the bowl floor: the bowl drains, the centre pit (7 m,
    d = depression_depth(z)  # ringed by 8 m) still holds 1 m
    assert d[2, 2] == pytest.approx(1.0) and d.sum() == pytest.approx(1.0)
    z[4, 4] = np.nan
    assert depression_depth(z)[4, 4] == 0.0
    with pytest.raises(InputError, match="all cells are nodata"):
        depression_depth(np.full((3, 3), np.nan))


def test_depression_depth_is_the_reconstruction_fill():
    """pyflwdir's priority flood from ``fill_sinks``'s outlets gives the scikit-image
    reconstruction's depths: a rough float32 DEM with a nodata collar (outlets beside it)
    and an interior nodata hole (a wall), seeded."""
    from floodcast.io.dem_tools import _fill_skimage, depression_depth

    rng = np.random.default_rng(3)
    z = (rng.normal(0, 0.3, (60, 80)).cumsum(1) + rng.normal(0, 0.5, (60, 80))).astype(np.float32)
    z[:, :6] = np.nan  # a collar on the west edge
    z[20:26, 30:37] = np.nan  # a hole inside
    z = z.astype(np.float64)
    valid = np.isfinite(z)
    want = np.where(valid, np.maximum(_fill_skimage(z, valid) - z, 0.0), 0.0)
    got = depression_depth(z)
    assert want.max() > 0.5 and (want > 0).sum() > 100  # many pits, some deep
    np.testing.assert_array_equal(got, want)


def _coastal_bowl(sea: float) -> Dem:
    """A 7 x 7 plateau at 5 m with an inner sea (3 x 3 at ``sea``, not touching the border)
    and a coastal depression at 1 m beside it: it spills into the sea, not over the 5 m."""
    z = np.full((7, 7), 5.0, np.float32)
    z[1:4, 1:4] = sea
    z[2, 4] = 1.0  # the coastal depression, next to the sea cell (2, 3)
    return Dem(z, 10.0, source="coastal-bowl")


def test_fill_sinks_takes_open_nodata_as_outlets():
    dem = _coastal_bowl(np.nan)
    walls = fill_sinks(dem)
    assert walls.elevation[2, 4] == pytest.approx(5.0)  # NaN is a wall: filled to the rim
    opened = fill_sinks(dem, nodata="open")
    assert opened.elevation[2, 4] == pytest.approx(1.0)  # drains to the open nodata cells
    assert opened.attrs["sink_fill"]["cells_raised"] == 0
    assert np.isnan(opened.elevation[1:4, 1:4]).all()


def test_fill_sinks_takes_sea_cells_as_outlets():
    dem = _coastal_bowl(-3.0)
    plain = fill_sinks(dem)
    assert plain.elevation[2, 4] == pytest.approx(5.0) and plain.elevation[2, 2] == 5.0
    sea = fill_sinks(dem, sea_level=0.0)
    np.testing.assert_array_equal(sea.elevation, dem.elevation)  # sea and coast untouched
    with pytest.raises(InputError, match="needs the skimage method"):
        fill_sinks(dem, "pysheds", sea_level=0.0)
