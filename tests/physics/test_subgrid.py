"""The sub-grid solver: hypsometry and sills by hand, mass to round-off, a sill that holds
water back until the level tops it, the plain solver recovered on a DEM flat within blocks,
and bad input refused."""

import numpy as np
import pytest

from floodcast.errors import InputError
from floodcast.physics import subgrid_kernels as SK
from floodcast.physics.subgrid import segments, subgrid_terrain
from floodcast.physics.subgrid_run import simulate_subgrid


def test_terrain_by_hand():
    # one row of two 2 x 2 blocks (2 m cells): block 0 = [[3, 1], [0, 2]], block 1 = [[5, 4], [6, 7]]
    z = np.array([[3.0, 1.0, 5.0, 4.0], [0.0, 2.0, 6.0, 7.0]])
    t = subgrid_terrain(z, 2, 2.0)
    np.testing.assert_array_equal(t.levels[0, 0], [0, 1, 2, 3])
    # volume with the level at 2: a * ((2-0) + (2-1)) = 4 * 3
    np.testing.assert_allclose(t.vol_at[0, 0], [0, 4 * 1, 4 * 3, 4 * 6])
    # the face between the blocks: rows 0 and 1, max(1, 5) and max(2, 6); the sills of a
    # face are stored lowest first, as layers [F, ...] of faces
    np.testing.assert_array_equal(t.sill_x[:, 0, 1], [5, 6])
    np.testing.assert_array_equal(t.sill_x[:, 0, 0], [0, 3])  # west edge: the edge cells
    np.testing.assert_array_equal(t.sill_y[:, 0, 0], [1, 3])  # north edge
    np.testing.assert_array_equal(t.sill_y[:, 1, 1], [6, 7])  # south edge of block 1


def test_level_from_volume_by_hand():
    z = np.array([[3.0, 1.0], [0.0, 2.0]])
    t = subgrid_terrain(z, 2, 2.0)
    eta, area = np.empty((1, 1)), np.empty((1, 1))
    idx = np.zeros((1, 1), np.int64)
    # e.g. 18 m3: level 2 holds 12, then 3 wet cells of 4 m2 rise by 6 / 12 = 0.5 m
    for vol, want, wet in ((0.0, 0.0, 1), (2.0, 0.5, 1), (18.0, 2.5, 3), (40.0, 4.0, 4)):
        SK.block_levels(np.array([[vol]]), t.levels, t.vol_at, t.nvalid, 4.0, idx, eta, area)
        assert eta[0, 0] == pytest.approx(want) and area[0, 0] == pytest.approx(4.0 * wet)


def test_closed_domain_holds_the_rain_to_round_off():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 0.5, (32, 32)) + np.linspace(0, 2, 32)[None, :]
    t = subgrid_terrain(z, 4, 2.0)
    rain = np.full((3, 8, 8), 60.0)  # 5 mm per 5-min frame
    out = simulate_subgrid(t, rain, 300.0, 0.035, "closed")
    assert out["outflow_volume_m3"] == 0.0
    assert abs(out["mass_relative_error"]) < 1e-12
    np.testing.assert_allclose(out["depth"].mean((1, 2)), [0.005, 0.010, 0.015], rtol=1e-6)
    assert out["depth"].min() >= 0.0


def levels_of(t, depth):
    """Each block's level (m) from a saved depth map (volume per block area)."""
    f2a = (t.factor * t.cell_fine) ** 2
    eta, area = np.empty(t.shape), np.empty(t.shape)
    vol = np.asarray(depth, np.float64) * f2a
    idx = np.zeros(t.shape, np.int64)
    SK.block_levels(vol, t.levels, t.vol_at, t.nvalid, t.cell_fine**2, idx, eta, area)
    return eta


def test_a_sill_holds_the_pond_back_until_the_level_tops_it():
    # two 4 x 4 blocks of 1 m cells at 0 m; the west block's east column is a wall of 1 m
    # with one notch at 0.3 m, so the face between the blocks has that notch as its only
    # low sill; rain only on the west block (16 m2 of it)
    z = np.zeros((4, 8))
    z[:, 3] = 1.0
    z[2, 3] = 0.3
    t = subgrid_terrain(z, 4, 1.0)
    assert t.sill_x[:, 0, 1].tolist() == [0.3, 1.0, 1.0, 1.0]

    def west_only(mm):  # mm of rain in the first 600 s frame, as mm/h; then a dry frame
        return np.array([[[mm * 3600.0 / 600.0, 0.0]], [[0.0, 0.0]]])

    # 0.2 m of rain = 3.2 m3 on the 12 open cells: level 0.267 m, below the notch
    low = simulate_subgrid(t, west_only(200.0), 600.0, 0.03, "closed")
    assert low["depth"][-1, 0, 1] == 0.0
    assert levels_of(t, low["depth"][-1])[0, 0] == pytest.approx(3.2 / 12)
    # 0.5 m = 8 m3: 12 x 0.3 = 3.6 m3 fill the west block to the notch, the rest spills
    # east (a common level would be (8 + 0.3) / 29 = 0.286 m, below the notch, so the flow
    # stops with the west level at the notch and 4.4 m3 east)
    high = simulate_subgrid(
        t, west_only(500.0), 600.0, 0.03, "closed", save_times_s=np.array([600.0, 14400.0])
    )
    eta = levels_of(t, high["depth"][-1])
    assert eta[0, 0] == pytest.approx(0.3, abs=0.005)
    assert high["depth"][-1, 0, 1] * 16 == pytest.approx(8.0 - 3.6, abs=0.1)
    assert abs(high["mass_relative_error"]) < 1e-12


def test_flat_blocks_give_the_plain_coarse_solver():
    """On a DEM constant within every block, sub-grid storage and sills are the coarse DEM:
    the run must match the plain solver on that coarse DEM (a 1-D slope: no cross flow).
    The schemes still differ in the friction's time discretisation (implicit here,
    semi-implicit there) and float32, which vanish as dt -> 0: at max_step 2 s measured max
    0.65 mm on depths up to 0.35 m, stored volumes within 0.8 % through a free edge. The
    film roughness is off (the plain solver has none)."""
    from floodcast.simulation.downscale import simulate_coarse

    zc = np.tile(np.linspace(3.0, 0.0, 16), (4, 1))  # 4 x 16 blocks of 8 m, 2.5 % slope east
    z = np.repeat(np.repeat(zc, 4, 0), 4, 1)  # 16 x 64 fine cells of 2 m
    rain = np.zeros((4, 4, 16))
    rain[:2] = 200.0  # 10 min of 200 mm/h, then 10 min dry
    for edges in ("closed", "E=free"):
        t = subgrid_terrain(z, 4, 2.0)
        sub = simulate_subgrid(t, rain, 300.0, 0.035, edges, max_step=2.0, film_roughness=1.0)
        solver = {"manning": 0.035, "max_step": 2.0, "boundary": edges, "cfl": 0.7}
        plain = simulate_coarse(zc.astype(np.float32), 8.0, rain.astype(np.float32), 300.0, solver)
        np.testing.assert_allclose(sub["depth"], plain["depth"], atol=1e-3)
        vol_s, vol_p = sub["depth"].sum((1, 2)), plain["depth"].sum((1, 2))
        np.testing.assert_allclose(vol_s, vol_p, rtol=0.01)
    assert sub["outflow_volume_m3"] > 0


def test_implicit_friction_reaches_the_manning_flux_by_hand():
    """q (1 + c|q|) = b, c = g dt n^2 A / K^2, at dt -> inf from rest: q = -K sqrt(S) / n.
    One sub-face (h 0.2 m, S 0.01, n 0.03; A = h, K = h^(5/3)): 0.2^(5/3) * 0.1 / 0.03 =
    0.2279 m2/s; at a small step the frictionless update -g dt h S; a long step never
    exceeds the flux (the semi-implicit form from rest gives g dt h S = 1.96 m2/s at
    dt 100 s). Two sub-faces of 0.2 and 0.05 m on one face: the sum of their own fluxes."""
    h, s, n2 = 0.2, 0.01, 0.03**2

    def q(a, k, gdt):
        return SK._discharge(-gdt * a * s, a, k, gdt, n2)

    manning_q = h ** (5 / 3) * 0.1 / 0.03
    assert q(h, h ** (5 / 3), 9.81 * 1e9) == pytest.approx(-manning_q, rel=1e-4)
    assert q(h, h ** (5 / 3), 9.81 * 1e-4) == pytest.approx(-9.81e-4 * h * s, rel=1e-6)
    assert abs(q(h, h ** (5 / 3), 9.81 * 100)) < manning_q
    two = (0.2 ** (5 / 3) + 0.05 ** (5 / 3)) * 0.1 / 0.03
    assert q(0.25, 0.2 ** (5 / 3) + 0.05 ** (5 / 3), 9.81 * 1e9) == pytest.approx(-two, rel=1e-4)
    assert SK._discharge(1.0, 0.0, 0.0, 9.81, n2) == 0.0  # no wet sub-face: no flow


def test_face_area_and_conveyance_by_hand():
    # one x-face of 4 sub-faces with sills 0, 0.1, 0.3, 2 at level 0.5 (thr 1 mm, no film):
    # A = 0.5 + 0.4 + 0.2 = 1.1 m, K = 0.5^(5/3) + 0.4^(5/3) + 0.2^(5/3); with the film
    # (K x3 at h -> 0, x1 from 0.1 m) every sub-face here is deeper than 0.1 m: the same K
    eta = np.array([[0.5, 0.2]])
    sill_x = np.full((4, 1, 3), np.inf)
    sill_x[:, 0, 1] = [0.0, 0.1, 0.3, 2.0]
    sill_y = np.full((4, 2, 2), np.inf)
    free = np.zeros(4, np.int64)
    ex, ax, kx = np.empty((1, 3)), np.empty((1, 3)), np.empty((1, 3), np.float32)
    ey, ay, ky = np.empty((2, 2)), np.empty((2, 2)), np.empty((2, 2), np.float32)
    want_k = 0.5 ** (5 / 3) + 0.4 ** (5 / 3) + 0.2 ** (5 / 3)
    for fk in (1.0, 3.0):
        SK.faces(eta, sill_x, sill_y, free, 1e-3, fk, 0.1, ex, ey, ax, kx, ay, ky)
        assert ex[0, 1] == 0.5 and ax[0, 1] == pytest.approx(1.1, rel=1e-6)
        assert kx[0, 1] == pytest.approx(want_k, rel=1e-6)
        assert ax[0, 0] == 0.0 and ax[0, 2] == 0.0 and (ay == 0.0).all()  # closed, inf sills
    SK.faces(eta - 0.45, sill_x, sill_y, free, 1e-3, 3.0, 0.1, ex, ey, ax, kx, ay, ky)
    assert kx[0, 1] == pytest.approx(0.05 ** (5 / 3) / 2.0, rel=1e-6)  # a film: n x 2


def test_segments_split_at_frame_changes_and_saves():
    ends, frame, saved = segments(np.array([0.0, 300.0]), 600.0, np.array([200.0, 900.0]))
    np.testing.assert_array_equal(ends, [200, 300, 600, 900])
    np.testing.assert_array_equal(frame, [0, 0, 1, -1])  # after 600 s: no rain
    np.testing.assert_array_equal(saved, [True, False, False, True])


def test_walls_and_bad_input():
    z = np.zeros((8, 8))
    z[:4, :4] = np.nan  # one wall block
    t = subgrid_terrain(z, 4, 1.0)
    assert t.wall.tolist() == [[True, False], [False, False]]
    out = simulate_subgrid(t, np.full((1, 2, 2), 36.0), 600.0, 0.03, "closed")
    assert out["depth"][0, 0, 0] == 0.0 and abs(out["mass_relative_error"]) < 1e-12
    with pytest.raises(InputError, match="north edge 'level'"):
        simulate_subgrid(t, np.zeros((1, 2, 2)), 600.0, 0.03, "level:1.0")
    with pytest.raises(InputError, match=r"rain \(1, 3, 3\)"):
        simulate_subgrid(t, np.zeros((1, 3, 3)), 600.0, 0.03, "closed")
    with pytest.raises(InputError, match="not divisible"):
        subgrid_terrain(np.zeros((6, 8)), 4, 1.0)


def test_a_hot_start_continues_the_run_exactly():
    """Two frames, then two more from the state: the same depths, bit for bit, as four
    frames in one run (the kernel restarts its clock at every save either way); the
    ledger of the second part counts the state's water as initial."""
    from floodcast.io.rain import RainSeries
    from floodcast.physics.boundaries import Boundaries
    from floodcast.physics.solver import SolverConfig
    from floodcast.physics.subgrid_run import advance_subgrid

    rng = np.random.default_rng(1)
    z = rng.normal(0, 0.3, (32, 32)) + np.linspace(2, 0, 32)[None, :]
    t = subgrid_terrain(z, 4, 2.0)
    rain = rng.uniform(0, 80, (4, 8, 8))
    cfg, edges = SolverConfig(manning=0.035), Boundaries.parse("E=free")
    series = RainSeries(rain, np.arange(4) * 300.0, 1200.0, "test")
    whole, _ = advance_subgrid(t, series, cfg, edges, 1200.0, 300.0)
    first, state = advance_subgrid(t, series, cfg, edges, 600.0, 300.0)
    second, _ = advance_subgrid(t, series, cfg, edges, 600.0, 300.0, state)
    np.testing.assert_array_equal(np.concatenate([first.depth, second.depth]), whole.depth)
    np.testing.assert_array_equal(second.times_s, [900.0, 1200.0])
    assert second.mass[-1].initial_m3 == pytest.approx(first.mass[-1].stored_m3)
    assert second.mass[-1].relative_error < 1e-12
    with pytest.raises(InputError, match="not a sub-grid state"):
        advance_subgrid(t, series, cfg, edges, 600.0, 300.0, {**state, "solver": "plain"})
