"""Model registry tests: one shared ``ModelTester`` subclassed per architecture (smp style).

Models are built narrow and shallow (encoder_depth 3, decoder_channels 32) on 32x32 to
37x53 inputs so the whole file runs in well under a minute on one CPU thread.
"""

from __future__ import annotations

import math
from typing import ClassVar

import pytest
import torch
import torch.nn.functional as F

from floodcast.models import MODELS, ModelConfig, available_models, build_model
from floodcast.models.registry import crop, pad_to_multiple

FAST = {"encoder_depth": 3, "decoder_channels": 32}


class ModelTester:
    """Shared checks; a subclass sets ``name`` and optionally ``kwargs``."""

    name: str = ""
    kwargs: ClassVar[dict] = {}
    supports_cbam = True

    def config(self, **kw) -> dict:
        return {"name": self.name, "in_channels": 8, **FAST, **self.kwargs, **kw}

    def build(self, seed: int = 0, **kw):
        return build_model(self.config(**kw), seed=seed)

    @pytest.fixture(scope="class")
    def model(self):
        return self.build().eval()

    @pytest.mark.parametrize("hw", [(32, 32), (37, 53), (5, 7)])
    def test_forward_any_size(self, model, hw):
        x = torch.randn(2, 8, *hw)
        with torch.no_grad():
            out = model(x)
        assert set(out) == {"logits"}
        assert out["logits"].shape == (2, 2, *hw)
        assert torch.isfinite(out["logits"]).all()

    def test_backward_with_all_options(self):
        # extra state channels / an autoregressive depth channel only change in_channels
        kw = {"in_channels": 11, "depth_head": True, "upscale": 2, "cbam": self.supports_cbam}
        model = self.build(**kw).train()
        out = model(torch.randn(2, 11, 21, 30))
        assert out["logits"].shape == (2, 2, 21, 30)
        assert out["depth"].shape == (2, 1, 21, 30)
        assert (out["depth"] >= 0).all()
        (out["logits"].square().mean() + out["depth"].mean()).backward()
        missing = [n for n, p in model.named_parameters() if p.grad is None]
        assert not missing, f"parameters without gradient: {missing[:5]}"
        assert all(torch.isfinite(p.grad).all() for p in model.parameters())
        assert type(model.attention).__name__ == ("CBAM" if self.supports_cbam else "Identity")

    def test_shape_errors_say_how_to_fix(self, model):
        with pytest.raises(ValueError, match=r"permute\(0, 3, 1, 2\)"):
            model(torch.randn(2, 32, 32, 8))  # channels-last
        with pytest.raises(ValueError, match=r"unsqueeze\(0\)"):
            model(torch.randn(8, 32, 32))  # no batch dim
        with pytest.raises(ValueError, match="expects 8"):
            model(torch.randn(2, 3, 32, 32))
        with pytest.raises(ValueError, match=r"x\.float\(\)"):
            model(torch.ones(2, 8, 32, 32, dtype=torch.int64))

    def test_deterministic_given_seed(self, model):
        twin = self.build(seed=0).eval()
        for (k, a), b in zip(model.state_dict().items(), twin.state_dict().values(), strict=False):
            assert torch.equal(a, b), k
        x = torch.randn(2, 8, 32, 32, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            y1, y2 = model(x)["logits"], twin(x)["logits"]
            y3 = model(x)["logits"]
        assert torch.equal(y1, y2) and torch.equal(y1, y3)

    def test_channels_last_memory_changes_nothing_but_speed(self, model):
        w = [p for p in model.parameters() if p.ndim == 4]
        assert w and all(p.is_contiguous(memory_format=torch.channels_last) for p in w)
        plain = self.build().eval().to(memory_format=torch.contiguous_format)
        x = torch.randn(2, 8, 37, 53, generator=torch.Generator().manual_seed(2))
        with torch.no_grad():
            a, b = model(x)["logits"], plain(x)["logits"]
        assert a.shape == b.shape == (2, 2, 37, 53)
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4)

    def test_predict_proba(self, model):
        x = torch.randn(2, 8, 16, 20)
        p = model.predict_proba(x)
        assert p.shape == (2, 16, 20)
        assert ((p >= 0) & (p <= 1)).all()
        with torch.no_grad():
            assert torch.allclose(p, torch.softmax(model(x)["logits"], 1)[:, 1])


class TestDeepLabV3Plus(ModelTester):
    name = "deeplabv3plus"


class TestDeepLabV3PlusConvNeXt(ModelTester):
    name = "deeplabv3plus"
    kwargs: ClassVar[dict] = {"encoder": "tu-convnext_atto"}


class TestUnet(ModelTester):
    name = "unet"


class TestPSPNet(ModelTester):
    name = "pspnet"


class TestDeepLabV3(ModelTester):
    name = "deeplabv3"


class TestFPN(ModelTester):
    name = "fpn"


class TestAutoencoderConvNeXt(ModelTester):
    name = "autoencoder"
    kwargs: ClassVar[dict] = {"encoder": "tu-convnext_atto"}


class TestCentrePixel(ModelTester):
    """Also checks that cbam=True is refused (global pooling breaks the patch formulation)."""

    name = "centre_pixel"
    kwargs: ClassVar[dict] = {"patch_size": 7}
    supports_cbam = False


class TestSmallUnet(ModelTester):
    name = "small_unet"
    kwargs: ClassVar[dict] = {"decoder_channels": 8}


class TestLiteUnet(ModelTester):
    name = "lite_unet"
    kwargs: ClassVar[dict] = {"decoder_channels": 8}


class TestSubpixelUnet(ModelTester):
    name = "subpixel_unet"
    kwargs: ClassVar[dict] = {"decoder_channels": 8, "encoder_depth": 4}


class TestSubpixel8Unet(ModelTester):
    name = "subpixel8_unet"
    kwargs: ClassVar[dict] = {"decoder_channels": 8, "encoder_depth": 5}


def test_lite_unet_costs_a_third_of_small_unet():
    """Multiply-adds of the convolutions on 256 x 256, 11 channels, width 8, 3 levels:
    the half-resolution core must make the lite model >= 2.5x cheaper (measured 714 M
    multiply-adds for small_unet, 266 M for lite_unet; by hand, the full-resolution
    layers alone cost small_unet 240 M)."""

    small, lite = conv_macs("small_unet"), conv_macs("lite_unet")
    assert 6.5e8 < small < 7.5e8, small
    assert small / lite >= 2.5, (small, lite)


def test_subpixel_unet_costs_a_fourth_of_small_unet():
    """The sub-pixel model runs every 3x3 convolution on the 4x coarser grid: on 256 x 256,
    11 channels, width 8, one level more than small_unet's 3 (a deeper reach), it costs
    under a fourth. By hand (M multiply-adds): the stem, a 4 x 4 conv of stride 4, 176 -> 16
    on 64^2 11.5; encoder 18.9 + 14.2 + 14.2; decoder 37.7 + 37.7; expansion 16 -> 128 on
    64^2 8.4; the wet head 8 -> 2 per sub-cell as one 128 -> 32 conv on 64^2 (its weight
    Kronecker the identity, zeros counted) 16.8: 159.4."""
    small = conv_macs("small_unet")
    sub = conv_macs("subpixel_unet", encoder_depth=4)
    assert 1.59e8 < sub < 1.6e8, sub
    assert small / sub >= 4.4, (small, sub)


@pytest.mark.parametrize(("name", "s"), [("subpixel_unet", 4), ("subpixel8_unet", 8)])
def test_subpixel_heads_equal_the_heads_on_the_shuffled_features(name, s):
    """The heads run on the space-to-depth features and only their outputs are shuffled:
    the same numbers as shuffling every feature and running the 1x1 heads on the fine grid."""
    torch.manual_seed(0)
    model = build_model(name, in_channels=3, depth_head=True, encoder_depth=4).eval()
    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        out = model(x)
        feats = torch.nn.functional.pixel_shuffle(model.decoder(model.encoder(x)), s)
        assert feats.shape == (2, 8, 32, 48)
        torch.testing.assert_close(out["logits"], model.segmentation_head(feats))
        depth = torch.nn.functional.softplus(model.depth_head(feats))
        torch.testing.assert_close(out["depth"], depth)


@pytest.mark.parametrize(
    ("name", "classes", "prior"),
    [("subpixel_unet", 2, 1), ("subpixel_unet", 2, None), ("small_unet", 1, 1)],
)
def test_wet_margin_is_the_logit_difference(name, classes, prior):
    """``wet_margin``: the wet-minus-dry logit of ``forward`` (prior included), the single
    logit of a one-class model, without running the depth head."""
    torch.manual_seed(0)
    model = build_model(
        name, in_channels=3, num_classes=classes, prior_channel=prior, depth_head=True,
        encoder_depth=3, seed=0,
    ).eval()  # fmt: skip
    torch.nn.init.normal_(model.segmentation_head.weight, std=0.5)  # not the zero start
    x = torch.randn(2, 3, 20, 28)
    with torch.no_grad():
        logits = model(x)["logits"]
        want = logits[:, 1] - logits[:, 0] if classes == 2 else logits[:, 0]
        torch.testing.assert_close(model.wet_margin(x), want, atol=1e-5, rtol=1e-5)


def conv_macs(name: str, encoder_depth: int = 3) -> int:
    """Multiply-adds of a model's convolutions (modules and functional calls) on one
    11-channel 256 x 256 input, width 8."""
    from torch.utils.flop_counter import FlopCounterMode

    model = build_model(
        name, in_channels=11, decoder_channels=8, encoder_depth=encoder_depth
    ).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 11, 256, 256))
    return counter.get_total_flops() // 2  # a multiply-add is two flops


# --- registry ---------------------------------------------------------------------------


def test_registry_names():
    for name in (
        "deeplabv3plus",
        "unet",
        "pspnet",
        "deeplabv3",
        "fpn",
        "autoencoder",
        "centre_pixel",
        "small_unet",
        "tiny",
        "lite_unet",
        "subpixel_unet",
        "subpixel8_unet",
    ):
        assert name in MODELS
    assert ModelConfig().name == "deeplabv3plus"


def test_seed_changes_weights_but_not_global_rng():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a = build_model("small_unet", decoder_channels=4, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = build_model("small_unet", decoder_channels=4, seed=1)
    assert not torch.equal(a.segmentation_head.weight, b.segmentation_head.weight)


def test_centre_pixel_refuses_cbam():
    with pytest.raises(ValueError, match="cbam"):
        build_model("centre_pixel", cbam=True)


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown model 'segformer'") as e:
        build_model({"name": "segformer"})
    assert all(n in str(e.value) for n in available_models())


def test_config_errors():
    with pytest.raises(ValueError, match="unknown model config key.*'encoder_dept'"):
        build_model({"name": "unet", "encoder_dept": 3})
    with pytest.raises(ValueError, match="upscale"):
        build_model("small_unet", upscale=0)
    with pytest.raises(ValueError, match="unknown encoder 'resnet19'.*resnet18"):
        build_model("deeplabv3plus", encoder="resnet19", encoder_depth=3)
    with pytest.raises(ValueError, match="encoder_depth=5"):
        build_model("fpn", encoder="tu-convnext_atto", encoder_depth=3)
    with pytest.raises(ValueError, match="patch_size"):
        build_model("centre_pixel", patch_size=8)


def test_names_are_normalised_and_config_not_mutated():
    cfg = ModelConfig(name="Small-UNet".replace("-", "_"), encoder_depth=2, decoder_channels=4)
    model = build_model(cfg)
    assert cfg.name == "Small_UNet" and model.config.name == "small_unet"
    assert build_model("tiny", decoder_channels=4).config.name == "tiny"


@pytest.mark.parametrize("name", ["pspnet", "fpn"])
def test_head_resizing_for_non_default_depths(name):
    # smp's fixed head upsampling is wrong for these at depth 4; ours resizes to the input
    model = build_model(name, encoder_depth=4, decoder_channels=16).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 8, 40, 40))["logits"].shape == (1, 2, 40, 40)


def test_shallow_resnet_carries_no_dead_stages():
    model = build_model("deeplabv3plus", encoder_depth=3, decoder_channels=16)
    assert not hasattr(model.encoder, "layer3") and not hasattr(model.encoder, "layer4")


@pytest.mark.parametrize("hw,m", [((37, 53), 16), ((5, 3), 8), ((32, 32), 32)])
def test_pad_and_crop_round_trip(hw, m):
    x = torch.randn(1, 2, *hw)
    padded, pads = pad_to_multiple(x, m)
    assert padded.shape[-2] % m == 0 and padded.shape[-1] % m == 0
    assert torch.equal(crop(padded, pads), x)


# --- the two baselines --------------------------------------------------------------------


def test_centre_pixel_grid_equals_patch_classifier():
    torch.manual_seed(0)
    model = build_model(
        "centre_pixel", patch_size=9, decoder_channels=8, depth_head=True, seed=3
    ).eval()
    # random BN statistics so the check is not trivially about zero-mean layers
    for mod in model.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.normal_()
            mod.running_var.uniform_(0.5, 2.0)
    x = torch.randn(1, 8, 13, 17)
    r = 4
    with torch.no_grad():
        grid = model(x)
        padded = F.pad(x, (r, r, r, r), mode="reflect")
        patches = F.unfold(padded, 9).transpose(1, 2).reshape(-1, 8, 9, 9)  # one per pixel
        per_patch = model.forward_patches(patches)
    assert torch.allclose(per_patch["logits"].T.reshape(1, 2, 13, 17), grid["logits"], atol=1e-5)
    assert torch.allclose(per_patch["depth"].T.reshape(1, 1, 13, 17), grid["depth"], atol=1e-5)
    with pytest.raises(ValueError, match=r"\[N, C, 9, 9\]"):
        model.forward_patches(torch.randn(2, 8, 7, 7))


def test_autoencoder_decoder_sees_only_the_bottleneck():
    model = build_model(
        "autoencoder", encoder="tu-convnext_atto", encoder_depth=3, decoder_channels=16
    ).eval()
    feats = model.encoder(torch.randn(1, 8, 32, 32))
    assert len(feats) == 1 and feats[0].shape[-1] == 32 // model.output_stride


# --- heavier: the default configurations --------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "deeplabv3plus",
        "unet",
        "pspnet",
        "deeplabv3",
        "fpn",
        "autoencoder",
        "centre_pixel",
        "small_unet",
        "lite_unet",
    ],
)
@pytest.mark.parametrize("encoder", ["resnet18", "tu-convnext_atto"])
def test_default_depth_models(name, encoder):
    model = build_model(name, encoder=encoder, seed=0)
    out = model(torch.randn(2, 8, 67, 45))
    assert out["logits"].shape == (2, 2, 67, 45)
    out["logits"].mean().backward()


# --- a prior channel: the model as a correction to a physics map ---------------------------


@pytest.mark.parametrize(
    ("name", "classes"),
    [("small_unet", 2), ("small_unet", 1), ("lite_unet", 2), ("subpixel_unet", 2)],
)
def test_untrained_prior_model_is_its_channel_thresholded(name, classes):
    # the head starts at zero, so the wet logit is exactly scale x (channel - offset):
    # log1p(0.1 m / 5 cm) = 1.0986 is the 0.1 m threshold of a depth channel
    offset = math.log1p(0.1 / 0.05)
    model = build_model(
        name,
        in_channels=3,
        num_classes=classes,
        prior_channel=2,
        prior_offset=offset,
        encoder_depth=2,
        seed=0,
    ).eval()
    x = torch.randn(2, 3, 19, 23)
    x[:, 2] = torch.rand(2, 19, 23) * 2.2  # depth channel values from 0 to 0.2 m
    p = model.predict_proba(x)
    assert torch.equal(p > 0.5, x[:, 2] > offset)
    # at depth 0.2 m (channel log1p(4)) the wet logit is 4 x (1.609 - 1.099) = 2.04
    x[:, 2] = math.log1p(4.0)
    assert model.predict_proba(x)[0, 0, 0].item() == pytest.approx(
        1 / (1 + math.exp(-2.043)), abs=1e-3
    )


def test_prior_scale_and_correction_both_learn():
    model = build_model(
        "small_unet", in_channels=3, prior_channel=0, prior_offset=1.0, encoder_depth=2, seed=0
    )
    x, y = torch.randn(2, 3, 16, 16), torch.randint(0, 2, (2, 16, 16))
    F.cross_entropy(model(x)["logits"], y).backward()
    assert model.prior_scale.grad is not None and model.prior_scale.grad != 0
    assert model.segmentation_head.weight.grad.abs().sum() > 0


def test_centre_pixel_prior_reads_the_patch_centre():
    model = build_model(
        "centre_pixel",
        in_channels=3,
        prior_channel=1,
        prior_offset=0.5,
        patch_size=5,
        encoder_depth=2,
        seed=0,
    ).eval()
    torch.nn.init.normal_(model.segmentation_head.weight)  # a trained correction, not zero
    x = torch.randn(1, 3, 9, 11)
    with torch.no_grad():
        grid = model(x)["logits"]
        patches = F.unfold(F.pad(x, (2, 2, 2, 2), mode="reflect"), 5).transpose(1, 2)
        per_patch = model.forward_patches(patches.reshape(-1, 3, 5, 5))["logits"]
    assert torch.allclose(per_patch.T.reshape(1, 2, 9, 11), grid, atol=1e-5)


def test_prior_config_errors():
    with pytest.raises(ValueError, match="prior_channel must index one of the 3 inputs"):
        build_model("small_unet", in_channels=3, prior_channel=3)
    with pytest.raises(ValueError, match="num_classes 1 or 2"):
        build_model("small_unet", in_channels=3, num_classes=3, prior_channel=0)
