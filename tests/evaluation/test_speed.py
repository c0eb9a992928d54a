"""Speed table: the model against the simulator, and the reference storm's one-off cost."""

import pytest
import torch

from floodcast.evaluation.speed import speed_table


def test_speed_table_times_the_reference_storm_for_models_that_read_it():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = torch.nn.Conv2d(3, 2, 3, padding=1)
    plain = speed_table(model, 3, n=32, frames=2)
    assert "reference_storm_s" not in plain
    assert plain["speedup_vs_cold"] == pytest.approx(plain["cold_s"] / plain["model_s"])
    ref = speed_table(model, 3, n=32, frames=2, reference=True)
    assert ref["reference_storm_s"] > 0
    # a new DEM's first map pays the reference run and the model, against the cold simulation
    assert ref["speedup_first_map_vs_cold"] == pytest.approx(
        ref["cold_s"] / (ref["reference_storm_s"] + ref["model_s"]))
    assert ref["speedup_first_map_vs_cold"] < ref["speedup_vs_cold"]
