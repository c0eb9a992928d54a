"""One tiling for predict and serve, blended without seams (issue #20, part 3)."""

from __future__ import annotations

import numpy as np
import torch

from floodcast.defaults import PREDICT_TILE
from floodcast.predict.mapper import FloodMapper, _blend_weights


class BadEdges(torch.nn.Module):
    """Logit 0 (p = 0.5) everywhere but +5 on each tile's outermost cells: the zero-padding
    artefact of a conv net, which shows as straight seams along tile edges if blended in."""

    def forward(self, x):
        z = torch.zeros(x.shape[0], 2, *x.shape[2:])
        z[:, 1, [0, -1], :] = 5.0
        z[:, 1, :, [0, -1]] = 5.0
        return {"logits": z}


class TileMean(torch.nn.Module):
    """Logits = the tile's mean input: a different constant in every tile."""

    def forward(self, x):
        m = x[:, 0].mean((1, 2), keepdim=True).expand(-1, *x.shape[2:])
        return {"logits": torch.stack([torch.zeros_like(m), m], 1)}


def test_weights_are_a_partition_of_unity_in_the_overlap():
    p, ov = 32, 8
    w = _blend_weights(p, ov)[p // 2]
    both = w[p - ov :] + w[:ov]  # tile k's right overlap + tile k+1's left overlap
    np.testing.assert_allclose(both, 1.0, rtol=1e-6)
    assert w[0] < 0.01 and w.max() == 1.0


def test_no_seams_along_tile_edges(make_extra):
    n = 104  # 4 tiles of 32 with an 8-cell overlap each way
    m = FloodMapper(BadEdges(), make_extra(), patch=32, overlap=8)
    p = m.predict(
        np.ones((3, n, n), np.float32), np.zeros((n, n), np.float32), 50.0, 300.0
    ).probability
    inner = p[1:-1, 1:-1]  # the grid's own border has one tile only
    # the old linear ramp gave the bad edge cells 1/9 of the weight: |p - 0.5| = 0.05
    assert np.abs(inner - 0.5).max() < 0.01


def test_transitions_between_tiles_are_smooth(make_extra):
    n = 96
    rain = np.broadcast_to(np.linspace(0, 40, n, dtype=np.float32), (3, n, n)).copy()
    m = FloodMapper(TileMean(), make_extra(), patch=32, overlap=8)
    p = m.predict(rain, np.zeros((n, n), np.float32), 50.0, 300.0).probability
    steps = np.abs(np.diff(p, axis=1))
    assert steps.max() < 0.35 * (p.max() - p.min())  # spread over the overlap, no jump


def test_cli_and_server_tile_the_same_and_map_the_same(model_file, tmp_path):
    from floodcast.io.dem import Dem
    from floodcast.serve.app import ServeConfig, Server

    rng = np.random.default_rng(0)
    z = np.add.outer(np.arange(300) * 0.5, np.abs(np.arange(280) - 140)).astype(np.float32)
    dem = Dem(z, 50.0)
    cli = FloodMapper.load(model_file)  # what predict/nowcast build
    srv = Server(ServeConfig(model_file, dem, state_dir=tmp_path)).mapper
    assert (cli.patch, cli.overlap) == (srv.patch, srv.overlap) == (PREDICT_TILE, 64)
    rain = rng.gamma(1.0, 5.0, (3, *z.shape)).astype(np.float32)
    a = cli.predict(rain, z, 50.0, 300.0)
    b = srv.predict(rain, z, 50.0, 300.0)
    np.testing.assert_allclose(a.probability, b.probability, atol=1e-5)
    assert (a.wet != b.wet).sum() == 0


def test_predict_reports_progress_per_batch_of_tiles(make_extra):
    calls = []
    m = FloodMapper(TileMean(), make_extra(), patch=32, overlap=8)
    m.predict(
        np.ones((3, 104, 104), np.float32),
        np.zeros((104, 104), np.float32),
        50.0,
        300.0,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(8, 16), (16, 16)]  # 4 x 4 tiles in batches of 8
