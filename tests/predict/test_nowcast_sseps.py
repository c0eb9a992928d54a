"""nowcast method "sseps" (pysteps SSEPS: STEPS with statistics per local window): output
shape and dtype, seeded determinism, finite and non-negative rain, no-coverage NaN, and the
localization window in cells."""

import numpy as np
import pytest

from floodcast.predict.nowcast import extrapolate, min_frames
from floodcast.predict.nowcast_sseps import window_cells


def textured_rain(n=48, nt=3, vel=(1, 2), seed=0):
    """Seeded k^-1.5 rain field (~50 % wet) shifted ``vel`` cells per frame."""
    rng = np.random.default_rng(seed)
    big = n + 20
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(big), np.fft.fftfreq(big)))
    k[0, 0] = 1.0
    f = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((big, big))) * k**-1.5))
    f = (f - f.mean()) / f.std()
    rain = np.where(f > 0.0, 10 ** (0.5 + 0.6 * f) / 3, 0.0)
    fr = [
        np.roll(rain, (vel[0] * t, vel[1] * t), (0, 1))[10 : 10 + n, 10 : 10 + n] for t in range(nt)
    ]
    return np.stack(fr).astype(np.float32)


# a 16-cell window on the 48-cell grid: 3 x 3 local windows, so the local path runs
LOCAL = {"win_size": 16}


def test_sseps_shape_dtype_finite_non_negative():
    obs = textured_rain()
    fc = extrapolate(obs, 3, method="sseps", n_members=2, seed=5, steps_options=LOCAL)
    assert fc.shape == (2, 3, 48, 48) and fc.dtype == np.float32
    known = fc[np.isfinite(fc)]
    assert (known >= 0).all() and np.isinf(fc).sum() == 0
    # NaN only where rain would come from outside the grid (pysteps' outval), as STEPS:
    # the same seeded velocity perturbations give the same unknown fraction per lead
    st = extrapolate(obs, 3, method="steps", n_members=2, seed=5)
    assert np.allclose(np.isnan(fc).mean((0, 2, 3)), np.isnan(st).mean((0, 2, 3)), atol=0.02)
    assert (known > 0.1).mean() > 0.2  # the rain is kept, not a dry forecast
    assert min_frames("sseps") == 3


def test_sseps_is_reproducible_with_a_seed():
    obs = textured_rain()
    a = extrapolate(obs, 2, method="sseps", n_members=2, seed=7, steps_options=LOCAL)
    b = extrapolate(obs, 2, method="sseps", n_members=2, seed=7, steps_options=LOCAL)
    c = extrapolate(obs, 2, method="sseps", n_members=2, seed=8, steps_options=LOCAL)
    assert np.array_equal(a, b, equal_nan=True)
    assert not np.array_equal(a, c, equal_nan=True)
    assert not np.array_equal(a[0], a[1], equal_nan=True)  # members differ


def test_sseps_no_coverage_is_nan_and_dry_input_is_dry():
    obs = textured_rain()
    obs[:, :5, :] = np.nan  # a strip outside the radar footprint
    fc = extrapolate(obs, 2, method="sseps", n_members=2, seed=1, steps_options=LOCAL)
    assert np.isnan(fc[:, :, :5]).all()
    assert np.isfinite(fc[:, 0, 10:]).mean() > 0.9  # elsewhere known (but the inflow edge)
    dry = extrapolate(np.zeros((3, 32, 32), np.float32), 2, method="sseps", n_members=2)
    assert dry.shape == (2, 2, 32, 32) and (dry == 0).all()


@pytest.mark.parametrize(
    "shape, cell_m, cells",
    [
        ((212, 212), 1000.0, 64),  # FMI/MeteoSwiss crop: 64 km = 64 cells
        ((308, 417), 500.0, 128),  # BoM at 500 m
        ((105, 105), 2000.0, 32),  # OPERA at 2 km
        ((40, 60), 1000.0, 40),  # grid smaller than the window: the whole grid (global)
        ((212, 212), 8000.0, 16),  # coarse radar: at least 16 cells
    ],
)
def test_window_cells_by_hand(shape, cell_m, cells):
    assert window_cells(shape, cell_m) == cells


def test_sseps_failure_falls_back_to_steps_members(monkeypatch, caplog):
    """Where SSEPS cannot fit a field (a local window too smooth), the ensemble is STEPS's:
    the same members as method="steps" with the same seed, and a warning says so."""
    import floodcast.predict.nowcast_sseps as ns
    from floodcast.errors import InputError

    def fails(*a, **k):
        raise InputError("SSEPS failed on these frames (singular)")

    monkeypatch.setattr(ns, "sseps_db", fails)
    obs = textured_rain()
    ran: dict = {}
    with caplog.at_level("WARNING", logger="floodcast.predict.nowcast"):
        fc = extrapolate(
            obs, 2, method="sseps", n_members=2, seed=3, steps_options=LOCAL, report=ran
        )
    st = extrapolate(obs, 2, method="steps", n_members=2, seed=3)
    assert np.array_equal(fc, st, equal_nan=True)
    assert "STEPS members instead" in caplog.text
    # the caller learns what ran (nowcast.json's "method", the live page's method)
    assert ran["method"] == "steps" and "singular" in ran["note"]


def test_no_rain_mask_where_the_incremental_one_covers_the_grid():
    """pysteps dilates the rain mask each step by a dense diamond of radius (n - 1) / 2
    cells, n = mask_f * timestep / kmperpixel: 1,249 for rain on a 2 m DEM grid (out of
    memory on 128 x 128). Where it reaches every cell from any wet one (>= ny + nx - 2) the
    dilated mask is all ones, so it is dropped; on a radar grid (1 km: radius 2) and just
    short of the grid (16 x 16, radius 29 < 30) it is kept."""
    from floodcast.predict.nowcast_steps import grid_mask

    kw = {"mask_method": "incremental"}
    assert grid_mask(kw, (128, 128), 2.0, 300.0) == {"mask_method": None}
    assert grid_mask(kw, (128, 128), 1000.0, 300.0) == {}
    assert grid_mask(kw, (16, 16), 1000 * 5 / 59.0, 300.0) == {}  # n = 59: radius 29
    assert grid_mask(kw, (16, 16), 1000 * 5 / 61.5, 300.0) == {"mask_method": None}  # 30
    assert grid_mask({**kw, "mask_kwargs": {"mask_f": 0.01}}, (128, 128), 2.0, 300.0) == {}
    assert grid_mask({"mask_method": "sprog"}, (128, 128), 2.0, 300.0) == {}
