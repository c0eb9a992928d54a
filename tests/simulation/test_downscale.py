"""Coarse grids, upsampling and the bathtub baseline, checked by hand on 4 x 4 grids."""

import numpy as np
import pytest

from floodcast.errors import InputError
from floodcast.simulation.downscale import (
    CHANNELS,
    FineGrid,
    bathtub_depth,
    block_mean_grid,
    check_coarse_dem,
    check_factor,
    coarse_dem,
    upsample_bilinear,
    upsample_nearest,
    volume_fill_depth,
)

Z = np.array(
    [[0.0, 2.0, 5.0, 5.0], [2.0, 2.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0], [5.0, 5.0, 4.0, 5.0]],
    np.float32,
)
HC = np.array([[1.0, 0.0], [0.0, 0.0]], np.float32)  # only the NW coarse cell is wet


def test_block_mean_by_hand():
    assert block_mean_grid(Z, 2).tolist() == [[1.5, 5.0], [5.0, 4.75]]
    z = Z.copy()
    z[0, :3] = z[1, 0] = np.nan  # NW block: 1 of 4 valid -> wall; NE: 3 valid -> their mean
    np.testing.assert_allclose(block_mean_grid(z, 2), [[np.nan, 5.0], [5.0, 4.75]])


def test_block_min_by_hand():
    """The lowest cell of each block; walls where the block mean has them."""
    assert coarse_dem(Z, 2, method="min").tolist() == [[0.0, 5.0], [5.0, 4.0]]
    z = Z.copy()
    z[0, :3] = z[1, 0] = np.nan  # NW: 1 of 4 valid -> wall; NE: its 3 valid cells' minimum
    z[1, 3] = 3.0
    np.testing.assert_array_equal(coarse_dem(z, 2, method="min"), [[np.nan, 3.0], [5.0, 4.0]])
    with pytest.raises(InputError, match="--coarse-dem 'median': choose one of mean, min"):
        coarse_dem(Z, 2, method="median")


def test_fine_grid_reads_the_coarse_rule():
    """FineGrid's coarse DEM, WSE and DEM detail follow the rule: with the block minimum
    the NW block's water (1 m over its lowest cell at 0 m) stands at 1 m, not 2.5 m."""
    g = FineGrid(Z, 2.0, 2, coarse_dem="min")
    assert g.coarse_dem == "min" and g.zc.tolist() == [[0.0, 5.0], [5.0, 4.0]]
    assert g.wse(HC)[0, 0] == pytest.approx(1.0)
    assert FineGrid(Z, 2.0, 2, coarse_dem="mean").wse(HC)[0, 0] == pytest.approx(2.5)


def test_factor_is_refused_not_padded():
    assert check_factor((4, 8), 4, "x") == 4
    with pytest.raises(InputError, match=r"6x8 is not divisible by --coarsen 4.*crop it to 4x8"):
        check_factor((6, 8), 4, "dem.tif")
    for bad in (1, 0, -4, 2.5, "x"):
        with pytest.raises(InputError, match="integer >= 2"):
            check_factor((8, 8), bad, "x")


def test_upsampling_by_hand():
    a = np.array([[0.0, 4.0]])
    assert upsample_nearest(a, 2).tolist() == [[0, 0, 4, 4], [0, 0, 4, 4]]
    # fine centres at coarse coordinates -0.25, 0.25, 0.75, 1.25; the edges are held
    np.testing.assert_allclose(upsample_bilinear(a, 2), [[0, 1, 3, 4], [0, 1, 3, 4]])
    # NaN (a wall) takes its nearest valid value, so water levels do not vanish at walls
    np.testing.assert_allclose(upsample_bilinear(np.array([[np.nan, 4.0]]), 2), 4.0)


def test_bathtub_by_hand():
    # coarse WSE z_c + h_c = [[2.5, 5], [5, 4.75]]; fine WSE rows 0, 1 (bilinear):
    # [2.5, 3.125, 4.375, 5] and [3.125, 3.578125, 4.484375, 4.9375]; the positive cells
    # at NW are connected to the wet coarse cell; cell (3, 2) at 4 m lies 0.8125 m under the
    # interpolated surface but is an isolated low spot away from the coarse wet area
    d = bathtub_depth(Z, block_mean_grid(Z, 2), HC, 2, threshold_m=0.1)
    want = np.zeros((4, 4))
    want[0, :2] = [2.5, 1.125]
    want[1, :2] = [1.125, 1.578125]
    np.testing.assert_allclose(d, want, atol=1e-6)
    # nothing wet on the coarse grid: nothing wet on the fine grid either
    assert bathtub_depth(Z, block_mean_grid(Z, 2), HC * 0.05, 2, 0.1).max() == 0
    # a float32 coarse depth of exactly the threshold is not wet (compared in float32, as
    # NumPy compares a float32 array with a Python float): no seed, no water
    at = np.where(HC > 0.1, np.float32(0.1), 0.0).astype(np.float32)
    assert bathtub_depth(Z, block_mean_grid(Z, 2), at, 2, 0.1).max() == 0


def test_bathtub_region_reaches_round_corners_and_stops_at_dry_cells():
    # a U-shaped trough (4-connected through the bottom row) under a flat WSE of 1 m: the
    # seed block at the top left floods the whole U, not the isolated hole at the right
    z = np.full((6, 6), 5.0, np.float32)
    z[0:6, 0] = z[5, 0:4] = z[0:6, 3] = 0.0
    z[2, 5] = 0.0  # isolated: only diagonal to nothing, no 4-neighbour below 1 m
    hc = np.zeros((3, 3), np.float32)
    hc[0, 0] = 0.5  # the one wet coarse cell
    zc = 1.0 - hc  # coarse WSE zc + hc = 1 m everywhere
    d = bathtub_depth(z, zc, hc, 2, 0.1)
    want = np.where(z == 0.0, 1.0, 0.0)
    want[2, 5] = 0.0
    np.testing.assert_allclose(d, want)


def test_volume_fill_by_hand():
    hc = np.array([[1.0, 0.0], [0.0, 0.25]])
    # NW block z = 0, 2, 2, 2 holds 1 m x 4 cells = 4: level 2.5 (0 + 2 + 2 + 2 + 4) / 4;
    # SE block z = 5, 5, 4, 5 holds 1: the 4 m cell alone fills to its neighbours' 5 m
    want = np.zeros((4, 4))
    want[:2, :2] = [[2.5, 0.5], [0.5, 0.5]]
    want[3, 2] = 1.0
    np.testing.assert_allclose(volume_fill_depth(Z, hc, 2), want)
    z = Z.copy()
    z[0, 0] = np.nan  # a wall takes no water: the 4 spread over the three 2 m cells
    d = volume_fill_depth(z, hc, 2)
    np.testing.assert_allclose(d[:2, :2], [[0, 4 / 3], [4 / 3, 4 / 3]], rtol=1e-6)
    assert d.sum() == pytest.approx(5.0)  # volume conserved


def test_coarse_dem_mismatch_is_an_error():
    zc = block_mean_grid(Z, 2)
    check_coarse_dem(Z, zc, 2, "ok", "mean")
    with pytest.raises(InputError, match="differs from the block mean.*0.500 m"):
        check_coarse_dem(Z, zc + np.float32(0.5), 2, "run", "mean")
    with pytest.raises(InputError, match="coarse DEM is 1x2"):
        check_coarse_dem(Z, zc[:1], 2, "run", "mean")
    with pytest.raises(InputError, match="walls"):
        check_coarse_dem(Z, np.where([[True, False], [False, False]], np.nan, zc), 2, "run", "mean")
    # the block mean is not the block minimum (NW block: 1.5 m against 0 m)
    with pytest.raises(InputError, match="differs from the block min.*1.500 m"):
        check_coarse_dem(Z, zc, 2, "run", "min")


def test_channels_shape_and_walls():
    z = Z.copy()
    z[3, 3] = np.nan
    g = FineGrid(z, 2.0, 2)
    x = g.channels(HC, 5.0, 30.0)
    assert x.shape == (len(CHANNELS), 4, 4) and x.dtype == np.float32
    assert np.isfinite(x).all() and (x[:, 3, 3] == 0).all()
    assert x[CHANNELS.index("rain_accum"), 0, 0] == pytest.approx(5.0 / 20.0)
    assert x[CHANNELS.index("rain_recent"), 0, 0] == pytest.approx(30.0 / 20.0)
    np.testing.assert_allclose(
        x[CHANNELS.index("bathtub_depth")], np.log1p(g.bathtub(HC) / 0.05), rtol=1e-6
    )


def test_coarse_config_averages_rasters_and_refuses_soil():
    from dataclasses import replace

    from floodcast.physics.solver import SolverConfig
    from floodcast.simulation.downscale import coarse_config

    n = np.array([[0.02, 0.04, 0.1, 0.1]] * 4)
    c = coarse_config(SolverConfig(manning=n, infiltration_mmh=2.0), (4, 4), 2)
    np.testing.assert_allclose(c.manning, [[0.03, 0.1], [0.03, 0.1]])
    assert c.infiltration_mmh == 2.0
    with pytest.raises(InputError, match="not on the DEM grid"):
        coarse_config(SolverConfig(manning=n[:2]), (4, 4), 2)
    with pytest.raises(InputError, match="Green-Ampt"):
        coarse_config(replace(SolverConfig(), soil=object()), (4, 4), 2)


def test_fine_grid_channels_match_the_direct_fields():
    """FineGrid's precomputed weights, walls and block tables give the same channels as the
    per-map functions (bilinear checked against scipy's map_coordinates, order 1)."""
    from scipy import ndimage

    rng = np.random.default_rng(3)
    z = rng.normal(10.0, 1.0, (16, 24)).astype(np.float32)
    z[:4, :4] = np.nan  # a coarse wall (block of NaN) and a partly valid block
    z[8, 9] = np.nan
    hc = np.clip(rng.normal(0.05, 0.2, (4, 6)), 0, None).astype(np.float32)
    g = FineGrid(z, 2.0, 4, coarse_dem="mean")
    zc = block_mean_grid(z, 4)
    a = np.where(np.isnan(zc), 10.0, zc + hc)  # no NaN: compare the interpolation alone
    rr = (np.arange(16) + 0.5) / 4 - 0.5
    cc = (np.arange(24) + 0.5) / 4 - 0.5
    ref = ndimage.map_coordinates(
        a, np.meshgrid(rr, cc, indexing="ij"), order=1, mode="nearest", prefilter=False
    )
    np.testing.assert_allclose(upsample_bilinear(a, 4), ref, atol=1e-9)
    x = g.channels(hc, 12.0, 0.0)
    np.testing.assert_allclose(
        x[2], np.log1p(bathtub_depth(z, zc, hc, 4, 0.1).clip(0) / 0.05)[...] * g.valid, atol=1e-5
    )
    np.testing.assert_allclose(
        x[3], np.log1p(volume_fill_depth(z, hc, 4) / 0.05) * g.valid, atol=1e-5
    )
    assert np.allclose(x[8][g.valid], 12.0 / 20.0) and (x[:, ~g.valid] == 0).all()
    from floodcast.io.dem_tools import depression_depth

    pits = np.log1p(depression_depth(z) / 0.1) / 2  # the pit_depth channel
    np.testing.assert_allclose(x[CHANNELS.index("pit_depth")], pits * g.valid, atol=1e-6)
