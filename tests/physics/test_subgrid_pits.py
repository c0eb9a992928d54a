"""Depression storage of the sub-grid solver (``physics.subgrid_pits``): which pits a block
would drain, by hand; the storage in the terrain and the level; rain below the storage kept
in its block (and run off without it); the volume fill that reads it; and the film
roughness (``subgrid_kernels._film``) by hand and on a slope."""

import numpy as np
import pytest

from floodcast.io.dem_tools import depression_depth
from floodcast.physics import subgrid_kernels as SK
from floodcast.physics.subgrid import subgrid_terrain
from floodcast.physics.subgrid_pits import leaky_pits
from floodcast.physics.subgrid_run import simulate_subgrid
from floodcast.simulation.volume_fill import VolumeFill


def slope_with_two_pits() -> np.ndarray:
    """8 x 8 cells falling 0.5 m per column to the east (blocks of 4: 2 x 2 blocks), with
    pits at (1, 1) (8.8 m, spill 9.0 m: above its block's lowest cells, 8.5 m in column 3),
    (5, 1) (8.3 m, spill 9.0 m: its block's lowest cell, but the block has 8.5 m cells below
    the spill) and (5, 6) (6.0 m, spill 6.5 m: no cell of its block below the spill)."""
    z = 10.0 - 0.5 * np.arange(8)[None, :].repeat(8, 0)
    z[1, 1], z[5, 1], z[5, 6] = 8.8, 8.3, 6.0
    return z


def test_only_the_pit_a_block_would_drain_is_storage():
    z = slope_with_two_pits()
    dd = depression_depth(z)
    assert dd[1, 1] == pytest.approx(0.2) and dd[5, 1] == pytest.approx(0.7)
    assert dd[5, 6] == pytest.approx(0.5)
    pits = leaky_pits(z, 4)
    want = np.zeros_like(z)
    want[1, 1], want[5, 1] = 0.2, 0.7  # one level would run over the 8.5 m cells first
    # the pit at (5, 6) fills to 6.5 m before its block's level reaches another cell: live
    np.testing.assert_allclose(pits, want, atol=1e-12)


def test_storage_in_the_terrain_by_hand():
    t = subgrid_terrain(slope_with_two_pits(), 4, 2.0)
    np.testing.assert_allclose(t.dead, [[4.0 * 0.2, 0.0], [4.0 * 0.7, 0.0]])  # 4 m2 x depth
    assert t.vol_at[0, 0, 0] == pytest.approx(0.8)  # the level leaves the bottom past 0.8 m3
    assert 9.0 in t.levels[0, 0] and 8.8 not in t.levels[0, 0]  # the pit filled to its spill
    plain = subgrid_terrain(slope_with_two_pits(), 4, 2.0, depressions=False)
    assert plain.dead.sum() == 0.0 and plain.vol_at[0, 0, 0] == 0.0
    eta, area = np.empty((2, 2)), np.empty((2, 2))
    idx = np.zeros((2, 2), np.int64)
    vol = np.array([[0.5, 0.0], [0.0, 0.0]])  # less than the storage: no level above the bottom
    SK.block_levels(vol, t.levels, t.vol_at, t.nvalid, 4.0, idx, eta, area)
    assert eta[0, 0] == pytest.approx(8.5)  # the block's lowest cell, dry


def test_rain_below_the_storage_stays_in_its_block():
    z = slope_with_two_pits()[:4]  # 4 x 8 cells: the pit's block and its lower neighbour
    # 6 mm on the pit's block only: 0.384 m3 < its 0.8 m3 of storage, which keeps it all
    rain = np.array([[[72.0, 0.0]]])  # mm/h over one 5-min frame
    kept = simulate_subgrid(subgrid_terrain(z, 4, 2.0), rain, 300.0, 0.035, "closed")
    np.testing.assert_allclose(kept["depth"][-1], [[0.006, 0.0]], atol=1e-12)
    plain = subgrid_terrain(z, 4, 2.0, depressions=False)
    lost = simulate_subgrid(plain, rain, 300.0, 0.035, "closed")
    # one level per block: the water stands at 8.5 m above the 8.5 m sill and runs east
    assert lost["depth"][-1][0, 1] > 0.001
    assert abs(lost["mass_relative_error"]) < 1e-12


def test_volume_fill_puts_the_storage_in_its_pit():
    z = slope_with_two_pits()
    fill = VolumeFill(z, 4, leaky_pits(z, 4))
    hc = np.zeros((2, 2))
    hc[0, 0] = 0.4 / 64.0  # half the block's storage (m3 per block area)
    d = fill(hc)
    want = np.zeros_like(z)
    want[1, 1] = 0.1  # 0.4 m3 on one 4 m2 cell
    np.testing.assert_allclose(d, want, atol=1e-6)
    plain = VolumeFill(z, 4)(hc)  # no storage (plain coarse rules): the lowest cells
    np.testing.assert_allclose(plain[:4, 3], 0.025, atol=1e-6)
    hc[0, 0] = 1.6 / 64.0  # storage full, 0.8 m3 more on the filled block: 4 cells at 8.5 m
    d = fill(hc)
    assert d[1, 1] == pytest.approx(0.2, abs=1e-6)
    np.testing.assert_allclose(d[:4, 3], 0.05, atol=1e-6)
    assert d.sum() * 4.0 == pytest.approx(1.6, rel=1e-5)  # mass per block


def test_film_roughness_by_hand():
    f32 = np.float32
    for h, m in ((0.0, 3.0), (0.05, 2.0), (0.1, 1.0), (0.4, 1.0)):  # K = 3, H = 0.1 m
        assert SK._film_factor(f32(h), 3.0, 0.1) == pytest.approx(m, rel=1e-6)
    assert SK._film_factor(f32(0.0), 1.0, 0.1) == 1.0  # K = 1: n at every depth


def test_film_roughness_slows_a_film_not_a_deep_flow():
    # a 2.5 % slope of 8 m blocks draining through a free east edge, 15 min after 5 min of
    # rain: of 2 mm (a film) 3x less has left with the film roughness (measured 3.15 ->
    # 1.07 m3), of 500 mm (0.16 m deep on the east blocks) 1.5 % less (2037 -> 2007 m3)
    zc = np.tile(np.linspace(3.0, 0.0, 16), (4, 1))
    t = subgrid_terrain(np.repeat(np.repeat(zc, 4, 0), 4, 1), 4, 2.0)
    for mm, lo, hi in ((2.0, 0.0, 0.5), (500.0, 0.95, 1.0)):
        rain = np.zeros((3, 4, 16))
        rain[0] = mm * 12.0  # mm/h over the first 5-min frame
        out = {
            k: simulate_subgrid(t, rain, 300.0, 0.035, "E=free", film_roughness=k)
            for k in (1.0, 3.0)
        }
        ratio = out[3.0]["outflow_volume_m3"] / out[1.0]["outflow_volume_m3"]
        assert lo < ratio < hi
        assert abs(out[3.0]["mass_relative_error"]) < 1e-12
