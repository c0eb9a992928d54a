import math

from floodcast.social.scores import (
    binary_mcc,
    classification_metrics,
    confusion,
    majority_baseline,
    majority_class,
)


def test_majority_class_is_deterministic():
    assert majority_class(["b", "a", "b"]) == "b"
    assert majority_class(["b", "a"]) == "a"  # tie -> alphabetical
    assert majority_baseline(["x", "x", "y"], 3) == ["x", "x", "x"]


def test_binary_mcc_hand_calculation():
    # hits 3, false alarms 1, misses 1, correct negatives 5:
    # (3*5 - 1*1) / sqrt(4*4*6*6) = 14/24
    t = ["p"] * 4 + ["n"] * 6
    p = ["p", "p", "p", "n", "p", "n", "n", "n", "n", "n"]
    assert math.isclose(binary_mcc(t, p, "p"), 14 / 24)
    assert math.isnan(binary_mcc(t, ["p"] * 10, "p"))  # constant prediction: undefined


def test_majority_on_a_skewed_flood_looks_good_only_on_f1_and_accuracy():
    t = ["on"] * 92 + ["off"] * 8
    m = classification_metrics(t, ["on"] * 100, positive="on", labels=["on", "off"])
    assert math.isclose(m["accuracy"], 0.92) and m["f1"] > 0.95
    assert math.isclose(m["macro_f1"], (2 * 92 / 192) / 2)  # off-topic F1 is 0
    assert m["f1_per_class"] == {"on": m["f1"], "off": 0.0} and math.isnan(m["mcc"])


def test_multiclass_metrics_and_confusion():
    t = ["a", "a", "b", "c"]
    p = ["a", "b", "b", "c"]
    m = classification_metrics(t, p, labels=["a", "b", "c"])
    assert math.isclose(m["macro_f1"], (2 / 3 + 2 / 3 + 1) / 3)
    assert 0 < m["mcc"] < 1
    assert confusion(t, p, ["a", "b", "c"]) == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert classification_metrics(t, ["a"] * 4)["mcc"] == 0.0  # sklearn: constant -> 0
