"""Rollout mechanics: the model's own depth is fed back as the next prev_depth."""

import numpy as np
import pytest
import torch

from floodcast.data import store
from floodcast.data.channels import PREV_DEPTH_SCALE_M
from floodcast.errors import InputError
from floodcast.evaluation.rollout import GridBaselines, rollout_scores, rollout_table
from floodcast.predict.mapper import FloodMapper


class GrowModel(torch.nn.Module):
    """depth = prev_depth + 0.04 m each step; wet where depth > 0.1 m."""

    def forward(self, x):
        prev = torch.expm1(x[:, -1:]) * PREV_DEPTH_SCALE_M  # undo the channel's log scaling
        depth = prev + 0.04
        wet = 100.0 * (depth[:, 0] - 0.1)
        return {"logits": torch.stack([torch.zeros_like(wet), wet], 1), "depth": depth}


class GrowResidual(GrowModel):
    """The same growth from a residual depth head: +0.04 m, added by the mapper."""

    config = type("Cfg", (), {"depth_residual": True})()

    def forward(self, x):
        out = super().forward(x)
        return {**out, "depth": torch.full_like(out["depth"], 0.04)}


def _mapper(tiny_store, extras, model):
    path, summary = tiny_store
    spec = {**summary["spec"], "extra_channels": extras, "threshold": 0.1}
    extra = {
        "data": {
            "channels": summary["channels"][:4] + extras,
            "stats": summary["stats"],
            "spec": spec,
            **store.grid_info(path),
        }
    }
    return FloodMapper(model, extra)


def test_autoregressive_rollout_feeds_back_own_depth(tiny_store):
    m = _mapper(tiny_store, ["prev_depth"], GrowModel())
    res = rollout_scores(m, str(tiny_store[0]), split="test", steps=4)
    assert res["autoregressive"] and res["steps"] == 4
    n = res["per_step"][0].n
    predicted_wet = [res["per_step"][k].hits + res["per_step"][k].false_alarms for k in range(4)]
    assert predicted_wet == [0, 0, n, n]  # 0.04, 0.08, 0.12, 0.16 m
    lines = rollout_table({"ar": res})
    assert lines[2].startswith("| ar |")
    res2 = rollout_scores(
        _mapper(tiny_store, ["prev_depth"], GrowResidual()),
        str(tiny_store[0]),
        split="test",
        steps=4,
    )
    assert [
        res2["per_step"][k].hits + res2["per_step"][k].false_alarms for k in range(4)
    ] == predicted_wet


def test_autoregressive_needs_depth_head(tiny_store):
    class NoDepth(GrowModel):
        def forward(self, x):
            return {"logits": super().forward(x)["logits"]}

    with pytest.raises(InputError, match="depth head"):
        rollout_scores(_mapper(tiny_store, ["prev_depth"], NoDepth()), str(tiny_store[0]), steps=2)


def test_baselines_scored_on_the_same_grids(tiny_store):
    path = str(tiny_store[0])
    gb = GridBaselines(path, 0.1)
    res = rollout_scores(
        _mapper(tiny_store, ["prev_depth"], GrowModel()), path, split="test", steps=3, baselines=gb
    )
    base = res["baselines"]
    assert set(base) == {
        "all_dry",
        "climatology",
        "terrain_heuristic",
        "reference_storm",
        "matched_storm",
    }
    for b in base.values():  # same cells, same frames as the model
        assert [b["per_step"][k].n for k in range(3)] == [res["per_step"][k].n for k in range(3)]
    dry = base["all_dry"]["overall"]
    assert dry.hits == dry.false_alarms == 0
    truth_wet = res["overall"].hits + res["overall"].misses
    assert dry.misses == truth_wet
    # the heuristic is the fitted threshold on (rain since start) x (contributing area)
    assert gb.heur.threshold is not None
    # the reference storm: the solver's uniform-storm depth at each cell's rain, > 0.1 m
    from floodcast.data.reference_storm import (
        matched_depth_at,
        matched_series,
        reference_depth_at,
        reference_series,
    )

    z, attrs = store.read_dem(path, "valley")
    accum = np.full(z.shape, 25.0)
    want = reference_depth_at(*reference_series(z, attrs["cell_size"]), accum) > 0.1
    got = gb.predict("reference_storm", "valley", z, attrs["cell_size"], accum, 2.0)
    assert got.any() and np.array_equal(got, want)
    # the matched storm: the same, on the storm of the cells' mean rate (25 mm in 2 h)
    want = matched_depth_at(matched_series(z, attrs["cell_size"]), accum, 2.0) > 0.1
    got = gb.predict("matched_storm", "valley", z, attrs["cell_size"], accum, 2.0)
    assert got.any() and np.array_equal(got, want)
    lines = rollout_table({"ar": res})
    assert any(line.startswith("| baseline: climatology |") for line in lines)


class HoldModel(GrowModel):
    """depth = prev_depth: a model that only persists the state it is given."""

    def forward(self, x):
        depth = torch.expm1(x[:, -1:]) * PREV_DEPTH_SCALE_M
        wet = 100.0 * (depth[:, 0] - 0.1)
        return {"logits": torch.stack([torch.zeros_like(wet), wet], 1), "depth": depth}


def test_hot_start_hands_over_the_simulator_depth(tiny_store):
    import numpy as np

    path = str(tiny_store[0])
    gb = GridBaselines(path, 0.1)
    res = rollout_scores(
        _mapper(tiny_store, ["prev_depth"], HoldModel()),
        path,
        split="test",
        steps=3,
        start=2,
        baselines=gb,
    )
    assert res["start"] == 2 and res["steps"] == 3
    pers = res["baselines"]["persistence"]["per_step"]
    for k in range(3):  # holding the handed-over depth is exactly the persistence forecast
        assert vars(res["per_step"][k]) == vars(pers[k])
    # growing from the handed-over depth: 0.04 m per step on top of the simulator's depth[1]
    grow = rollout_scores(
        _mapper(tiny_store, ["prev_depth"], GrowModel()), path, split="test", steps=3, start=2
    )
    want = [0, 0, 0]
    for ev in grow["events"]:
        _, depth, _ = store.read_event(path, ev)
        for j in range(3):
            want[j] += int((np.nan_to_num(depth[1]) + 0.04 * (j + 1) > 0.1).sum())
    got = [grow["per_step"][j].hits + grow["per_step"][j].false_alarms for j in range(3)]
    assert got == want and want[0] < want[2]
    cold = rollout_scores(
        _mapper(tiny_store, ["prev_depth"], HoldModel()), path, split="test", steps=2, baselines=gb
    )
    assert "persistence" not in cold["baselines"]
    with pytest.raises(InputError, match="start=99"):
        rollout_scores(_mapper(tiny_store, ["prev_depth"], HoldModel()), path, start=99)
