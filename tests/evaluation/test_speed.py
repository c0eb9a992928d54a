"""Speed table: the model against the simulator, and the storm runs' one-off cost."""

import pytest
import torch

from floodcast.evaluation.speed import speed_table


def test_speed_table_times_the_storm_runs_for_models_that_read_them():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = torch.nn.Conv2d(3, 2, 3, padding=1)
    plain = speed_table(model, 3, n=32, frames=2, channels=["rain_accum", "upslope_area"])
    assert "storm_runs_s" not in plain
    assert plain["speedup_vs_cold"] == pytest.approx(plain["cold_s"] / plain["model_s"])
    ref = speed_table(model, 3, n=32, frames=2, channels=["dem", "reference_depth"])
    assert ref["storm_runs_s"] > 0 and ref["storm_channels"] == ["reference_depth"]
    # a new DEM's first map pays the storm runs and the model, against the cold simulation
    assert ref["speedup_first_map_vs_cold"] == pytest.approx(
        ref["cold_s"] / (ref["storm_runs_s"] + ref["model_s"])
    )
    assert ref["speedup_first_map_vs_cold"] < ref["speedup_vs_cold"]
    both = speed_table(model, 3, n=32, frames=2, channels=["matched_depth", "reference_depth"])
    assert both["storm_channels"] == ["matched_depth", "reference_depth"]
