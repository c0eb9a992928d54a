"""Downscaling scores split into the rain frames and the dry tail (hand-counted cells)."""

import numpy as np
import pytest

from floodcast.evaluation.downscale import PARTS, all_dry, score_event
from floodcast.simulation.downscale import FineGrid


def test_rain_and_tail_tallies_split_the_saved_times():
    z = np.zeros((4, 4), np.float32)
    z[0, 0] = -1.0  # one low cell
    truth = np.zeros((3, 4, 4), np.float32)
    truth[0, 0, :2] = 0.2  # rain frames: 2 wet cells, then 3
    truth[1, 0, :3] = 0.2
    truth[2, 0, 0] = 0.2  # dry tail: 1 wet cell left
    pair = {"fine_depth": truth, "rain_frames": 2}
    methods = {"dry": all_dry, "truth": lambda p, g: p["fine_depth"]}
    res = score_event(pair, FineGrid(z, 2.0, 2), methods)
    assert set(PARTS) <= set(res["dry"])
    rep = {k: res["dry"][k].report() for k in PARTS}
    assert rep["times"]["wet_truth@0.1"] == 6
    assert rep["rain"]["wet_truth@0.1"] == 5 and rep["tail"]["wet_truth@0.1"] == 1
    assert rep["max"]["wet_truth@0.1"] == 3
    assert res["truth"]["tail"].report()["csi@0.1"] == 1.0
    assert res["dry"]["rain"].report()["rmse_m"] == pytest.approx(np.sqrt(5 * 0.04 / 32))


def test_no_tail_leaves_the_tail_tally_empty():
    pair = {"fine_depth": np.full((2, 4, 4), 0.2, np.float32)}  # no rain_frames: all rain
    res = score_event(pair, FineGrid(np.zeros((4, 4), np.float32), 2.0, 2), {"dry": all_dry})
    assert res["dry"]["rain"].report()["wet_truth@0.1"] == 32
    assert np.isnan(res["dry"]["tail"].report()["rmse_m"])
