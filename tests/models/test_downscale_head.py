"""A downscaler's wet mask + depth source -> one map, and the source fitted on validation
maps (``training.downscale.fit_depth_source``), with a stub net whose outputs are set by
hand: the fit must pick the source whose depth equals the truth."""

import numpy as np
import pytest
import torch

from floodcast.errors import InputError
from floodcast.models.downscale_head import combine, fine_depth, model_depth_source
from floodcast.simulation.downscale import CHANNELS, DEPTH_SCALE_M
from floodcast.training.downscale import fit_depth_source

VF = CHANNELS.index("volume_fill")


class Stub(torch.nn.Module):
    """Wet everywhere (logit 5 vs 0); depth head = a fixed map."""

    def __init__(self, head: np.ndarray):
        super().__init__()
        self.head = torch.from_numpy(head)

    def forward(self, x):
        n = x.shape[0]
        logits = torch.stack([torch.zeros_like(self.head), torch.full_like(self.head, 5.0)])
        return {"logits": logits.expand(n, -1, -1, -1), "depth": self.head.expand(n, 1, -1, -1)}


def sample(vf_depth: np.ndarray, truth: np.ndarray) -> dict:
    x = np.zeros((len(CHANNELS),) + truth.shape, np.float32)
    x[VF] = np.log1p(vf_depth / DEPTH_SCALE_M)  # the channel's code
    return {"x": x, "depth": truth.astype(np.float32)}


def test_combine_and_sources_by_hand():
    wet = np.array([[True, False]])
    np.testing.assert_allclose(combine(wet, np.array([[0.05, 0.4]]), 0.1), [[0.101, 0.1]])
    x = sample(np.array([[0.5, 0.2]]), np.zeros((1, 2)))["x"][None]
    out = {"depth": torch.full((1, 1, 1, 2), 0.3)}
    np.testing.assert_allclose(fine_depth(out, x, "volume_fill"), [[[0.5, 0.2]]], rtol=1e-6)
    np.testing.assert_allclose(fine_depth(out, x, "head"), [[[0.3, 0.3]]])
    assert model_depth_source({}) == "head"  # models before the choice
    with pytest.raises(InputError, match="depth source 'deep' of the model"):
        model_depth_source({"depth_source": "deep"})


def test_fit_picks_the_source_that_matches_the_truth():
    truth = np.array([[0.5, 0.8], [0.2, 0.4]])
    right, wrong = truth.astype(np.float32), np.full((2, 2), 0.15, np.float32)
    # the head is right, volume fill off (0.15 m: never deep): the head (RMSE 0, CSI@0.3 1)
    fit = fit_depth_source(Stub(right), [sample(wrong, truth)] * 3, 0.5, 0.1)
    assert fit["depth_source"] == "head" and fit["val_rmse_head_m"] == pytest.approx(0, abs=1e-6)
    # volume fill right, the head off: volume fill; RMSE of the head by hand
    fit = fit_depth_source(Stub(wrong), [sample(right, truth)] * 3, 0.5, 0.1)
    assert fit["depth_source"] == "volume_fill"
    assert fit["val_rmse_head_m"] == pytest.approx(np.sqrt(((truth - 0.15) ** 2).mean()), rel=1e-5)
    assert fit["val_rmse_wet_head_m"] == fit["val_rmse_head_m"]  # every cell is flooded here
    # a tie keeps the head
    assert fit_depth_source(Stub(right), [sample(right, truth)], 0.5, 0.1)["depth_source"] == "head"


def test_fit_prefers_the_source_that_draws_the_deep_water():
    """Cell 0 holds 0.5 m: the head draws 0.29 m (a miss at 0.3 m), volume fill 0.5 m (a hit).
    Ten cells hold 0.2 m: the head exact, volume fill 0.28 m. The head has the lower RMSE
    (sqrt(0.21^2 / 11) = 0.063 m against sqrt(10 * 0.08^2 / 11) = 0.076 m) but CSI@0.3 = 0
    against volume fill's 1: the fit takes volume fill."""
    truth = np.array([[0.5] + [0.2] * 10], np.float32)
    head = np.array([[0.29] + [0.2] * 10], np.float32)
    vf = np.array([[0.5] + [0.28] * 10], np.float32)
    fit = fit_depth_source(Stub(head), [sample(vf, truth)], 0.5, 0.1)
    assert fit["val_rmse_wet_head_m"] == pytest.approx(0.21 / np.sqrt(11), rel=1e-4)
    assert fit["val_rmse_wet_volume_fill_m"] == pytest.approx(0.08 * np.sqrt(10 / 11), rel=1e-4)
    assert fit["val_csi@0.3_head"] == 0 and fit["val_csi@0.3_volume_fill"] == 1
    assert fit["depth_source"] == "volume_fill"


def test_equal_csi_is_decided_on_the_flooded_cells_not_the_dry_background():
    """No cell reaches 0.3 m (CSI 0 for both). 99 dry cells (truth 0; the head draws 0 there,
    volume fill 0.1 m, the most a dry cell may show) and one flooded cell of 0.25 m (the head
    0.12 m, volume fill exact). Over all 100 cells the head has the lower RMSE
    (0.13 / 10 = 0.013 m against sqrt(99 * 0.01 / 100) = 0.0995 m); over the flooded cell
    volume fill is exact and the head 0.13 m off: volume fill."""
    truth = np.zeros((1, 100), np.float32)
    truth[0, 0] = 0.25
    head = np.zeros((1, 100), np.float32)
    head[0, 0] = 0.12
    vf = np.full((1, 100), 0.1, np.float32)
    vf[0, 0] = 0.25

    class Mask(Stub):  # wet at the flooded cell only
        def forward(self, x):
            o = super().forward(x)
            lg = o["logits"].clone()
            lg[:, 1, :, 1:] = -5.0
            return {"logits": lg, "depth": o["depth"]}

    fit = fit_depth_source(Mask(head), [sample(vf, truth)], 0.5, 0.1)
    assert fit["val_rmse_head_m"] == pytest.approx(0.013, rel=1e-4)
    assert fit["val_rmse_volume_fill_m"] == pytest.approx(np.sqrt(0.0099), rel=1e-4)
    assert fit["flooded_cells"] == 1
    assert fit["val_rmse_wet_head_m"] == pytest.approx(0.13, rel=1e-4)
    assert fit["val_rmse_wet_volume_fill_m"] == pytest.approx(0, abs=1e-6)
    assert fit["val_csi@0.3_head"] == fit["val_csi@0.3_volume_fill"] == 0
    assert fit["depth_source"] == "volume_fill"
