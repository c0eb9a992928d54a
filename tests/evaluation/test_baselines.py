import numpy as np

from floodcast.evaluation.baselines import Climatology, TerrainHeuristic, contributing_area
from floodcast.predict.postprocess import remove_isolated


def test_d8_area_on_a_v_valley_outlet_collects_everything():
    # V valley draining south along column 2: every cell ends at the outlet (4, 2)
    z = np.add.outer(np.arange(5)[::-1] * 1.0, np.abs(np.arange(5) - 2) * 3.0)
    a = contributing_area(z, 10.0)
    assert a[4, 2] == 25
    assert a[0, 0] == 1
    # side slopes (3 m per cell) are steeper than the axis (1 m per cell): each row drains
    # sideways into the axis, which then adds 5 cells per row
    assert a[:, 2].tolist() == [5, 10, 15, 20, 25]
    assert a[:, 1].tolist() == [2] * 5


def test_pit_keeps_its_area():
    z = np.ones((3, 3))
    z[1, 1] = 0.0
    a = contributing_area(z, 1.0)
    assert a[1, 1] == 9


def test_remove_isolated_pixels():
    m = np.zeros((5, 5), bool)
    m[0, 0] = True  # isolated
    m[2, 2] = m[3, 3] = True  # diagonal neighbours stay
    out = remove_isolated(m)
    assert not out[0, 0] and out[2, 2] and out[3, 3]


def test_climatology_majority_and_unseen_terrain():
    c = Climatology()
    for w in ([1, 0], [1, 1], [1, 0]):
        c.add(("d", 0, 0), np.array(w, bool))
    assert c.predict(("d", 0, 0), (2,)).tolist() == [True, False]
    assert not c.predict(("other", 0, 0), (2,)).any()


def test_heuristic_fits_the_separating_threshold():
    h = TerrainHeuristic(candidates=np.array([1.0, 10.0, 100.0]))
    score = np.array([5.0, 50.0, 500.0, 0.5])
    wet = np.array([False, True, True, False])
    h.add(score, wet)
    assert h.fit() == 10.0
    assert h.predict(score).tolist() == wet.tolist()
