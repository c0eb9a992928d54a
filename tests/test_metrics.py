import math

import numpy as np

from floodcast.metrics import Contingency, scores


def test_hand_computed_table():
    # a=3 hits, b=1 false alarm, c=2 misses, d=4 correct negatives
    truth = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0, 0], bool)
    pred = np.array([1, 1, 1, 0, 0, 1, 0, 0, 0, 0], bool)
    s = scores(pred, truth)
    assert s["accuracy"] == 0.7
    assert s["all_dry_accuracy"] == 0.5
    assert s["csi"] == 3 / 6
    assert s["pod"] == 3 / 5
    assert s["far"] == 1 / 4
    assert s["bias"] == 4 / 5
    assert s["f1"] == 6 / 9
    assert math.isclose(s["mcc"], (3 * 4 - 1 * 2) / math.sqrt(4 * 5 * 5 * 6))


def test_accumulates_and_nan_when_undefined():
    t = Contingency.from_masks(np.zeros(4, bool), np.zeros(4, bool))
    assert math.isnan(t.scores()["csi"])
    t2 = t + Contingency(1, 0, 0, 0)
    assert t2.scores()["csi"] == 1.0 and t2.n == 5


def test_valid_mask_and_shape_error():
    p = np.ones((2, 2), bool)
    s = Contingency.from_masks(p, p, valid=np.array([[1, 0], [0, 0]], bool))
    assert s.n == 1
    try:
        scores(p, np.ones(3, bool))
    except ValueError as e:
        assert "shape" in str(e)
    else:
        raise AssertionError("no error")
