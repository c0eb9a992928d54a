"""Printed numbers (floodcast/display.py): 3 significant digits, integer part kept."""

from __future__ import annotations

import math

import numpy as np

from floodcast.display import dumps, rounded


def test_three_significant_digits_inside_dicts_and_lists():
    # the issue's example: the demo's and `dataset info`'s wet fraction per split
    assert rounded({"train": 0.009634496466431096, "n": 3}) == {"train": 0.00963, "n": 3}
    assert rounded([0.123456, (2.71828,)]) == [0.123, [2.72]]
    assert rounded(np.float32(0.3333333)) == 0.333  # numpy floats too


def test_integer_part_ints_bools_and_non_finite_left_alone():
    assert rounded(1234.5678) == 1235.0  # not 1230.0: never cut the integer part
    assert rounded(99.96) == 100.0 and rounded(-0.0012345) == -0.00123
    assert rounded(7) == 7 and rounded(True) is True and rounded("0.123456") == "0.123456"
    assert math.isnan(rounded(float("nan"))) and rounded(float("inf")) == float("inf")
    assert rounded(0.0) == 0.0


def test_dumps_is_indented_rounded_json():
    assert dumps({"csi": 0.41666666, "path": "m.pt"}) == '{\n  "csi": 0.417,\n  "path": "m.pt"\n}'
