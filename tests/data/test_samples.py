import numpy as np
import pytest

from floodcast.data.samples import (
    SampleSpec,
    rain_window,
    split_events,
    split_events_by_dem,
    tile_origins,
    validate_threshold,
)
from floodcast.errors import InputError


@pytest.mark.parametrize("bad", [0, -0.1, 10, 15.0, float("nan")])
def test_threshold_validated(bad):
    with pytest.raises(InputError, match="threshold"):
        validate_threshold(bad)


def test_high_threshold_warns():
    with pytest.warns(UserWarning, match="unusually high"):
        validate_threshold(1.5)


def test_tiles_cover_domain_flush():
    assert tile_origins(300, 128, 0) == [0, 128, 172]
    assert tile_origins(128, 128, 32) == [0]
    assert tile_origins(200, 128, 64) == [0, 64, 72]
    with pytest.raises(InputError, match="smaller than one patch"):
        tile_origins(100, 128, 0)


def test_rain_window_zero_pads_before_start():
    rain = np.arange(4, dtype=np.float32)[:, None, None] * np.ones((4, 2, 2), np.float32)
    w = rain_window(rain, 1, 3)
    assert w.shape == (3, 2, 2)
    assert w[:, 0, 0].tolist() == [0.0, 0.0, 1.0]
    assert rain_window(rain, 3, 2)[:, 0, 0].tolist() == [2.0, 3.0]


def test_split_by_event_is_seeded_and_whole():
    ids = [f"ev{i}" for i in range(20)]
    a, b = split_events(ids, seed=3), split_events(ids, seed=3)
    assert a == b
    assert sorted(a) == sorted(ids)
    assert [list(a.values()).count(s) for s in ("train", "val", "test")] == [14, 3, 3]
    assert split_events(ids, seed=4) != a


def test_split_by_dem_holds_out_whole_terrain():
    dems = {f"ev{i}": ("a" if i < 17 else "b") for i in range(20)}
    s = split_events_by_dem(dems, ["b"], seed=3)
    assert {e for e, v in s.items() if v == "test"} == {"ev17", "ev18", "ev19"}
    # the 17 events on 'a' keep the train:val ratio 0.7:0.15 -> round(17 * 0.15 / 0.85) = 3 val
    assert [list(s.values()).count(v) for v in ("train", "val")] == [14, 3]
    assert s == split_events_by_dem(dems, ["b"], seed=3)
    with pytest.raises(InputError, match=r"--test-dem \['c'\]: not among this build's DEMs"):
        split_events_by_dem(dems, ["c"])
    with pytest.raises(InputError, match="none is left to train on"):
        split_events_by_dem(dems, ["a", "b"])


def test_spec_channels_and_errors():
    s = SampleSpec(frames=3, extra_channels=["rain_accum"])
    assert s.channels == ["rain_t-2", "rain_t-1", "rain_t-0", "dem", "rain_accum"]
    with pytest.raises(InputError, match="unknown extra channel"):
        SampleSpec(extra_channels=["wind"])


def test_regrid_window_bilinear_and_edges():
    from floodcast.data.events import regrid_window

    rain = np.arange(16, dtype=np.float32).reshape(1, 4, 4)  # value = 4*row + col
    # the whole 4x4 radar grid onto 8x8 cells: centres at radar coords -0.25, 0.25, ...
    out = regrid_window(rain, 0.0, 0.0, 4.0, 4.0, (8, 8))
    assert out[0, 0, 0] == 0.0  # clamped at the edge, not NaN
    assert out[0, 1, 1] == pytest.approx(0.25 * 4 + 0.25)
    assert np.isfinite(out).all()
    rain[0, 2, 2] = np.nan  # no coverage propagates
    assert np.isnan(regrid_window(rain, 0.0, 0.0, 4.0, 4.0, (8, 8))).any()


def test_dihedral_is_the_group_of_the_square():
    from floodcast.data.samples import DIHEDRAL_NAMES, dihedral

    a = np.arange(6).reshape(2, 3)
    np.testing.assert_array_equal(dihedral(a, 1), [[2, 1, 0], [5, 4, 3]])  # east-west
    np.testing.assert_array_equal(dihedral(a, 3), [[5, 4, 3], [2, 1, 0]])  # rotate 180
    np.testing.assert_array_equal(dihedral(a, 4), a.T)
    sq = np.arange(9).reshape(3, 3)
    images = {dihedral(sq, t).tobytes() for t in range(8)}
    assert len(images) == 8 == len(DIHEDRAL_NAMES)  # all distinct
    for t in range(8):  # closed, with an inverse for every element
        assert any(np.array_equal(dihedral(dihedral(sq, t), u), sq) for u in range(8))
    stack = np.stack([sq, 10 * sq])  # leading dims ride along
    np.testing.assert_array_equal(dihedral(stack, 6)[1], 10 * dihedral(sq, 6))
