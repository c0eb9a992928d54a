"""model-graph: every registry model renders; skips and parameters are right."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from floodcast.diagnostics.draw import layout, render_dot, to_dot, to_html, to_svg
from floodcast.diagnostics.graph import model_graph
from floodcast.models import available_models


@pytest.mark.parametrize("name", available_models())
def test_every_registry_model_renders(name):
    model, g, summary = model_graph(name, in_channels=5, size=32, depth=2, encoder_depth=3)
    kinds = [n.kind for n in g.nodes]
    assert kinds[0] == "input" and kinds[-1] == "output" and kinds.count("module") >= 2
    assert g.nodes[-1].out_shapes[0][-2:] == (32, 32)
    assert sum(n.params for n in g.nodes) <= g.total_params == model.n_parameters
    ids = {n.id for n in g.nodes}
    assert all(s in ids and d in ids for s, d, _ in g.edges)
    svg = to_svg(g)
    ET.fromstring(svg)  # well-formed XML
    assert svg.count("<rect") == len(g.nodes)
    assert "Total params" in summary
    assert to_dot(g).startswith("digraph")
    assert "<svg" in to_html(g, svg, summary)


@pytest.mark.parametrize(
    "name,min_skips", [("deeplabv3plus", 1), ("unet", 2), ("small_unet", 3), ("autoencoder", 0)]
)
def test_skip_connections_are_drawn(name, min_skips):
    _, g, _ = model_graph(name, in_channels=4, size=32, encoder_depth=3)
    rows = {v: y for v, (_, y, _) in layout(g).items()}
    step = min(y for y in rows.values() if y > 0)
    n_skips = sum(rows[d] - rows[s] > step for s, d, _ in g.edges)
    assert n_skips >= min_skips if min_skips else n_skips == 0
    assert to_svg(g).count("stroke-dasharray") == n_skips


def test_deeplab_blocks_and_params():
    _, g, _ = model_graph("deeplabv3plus", in_channels=8, size=64)
    names = [n.name for n in g.nodes]
    for block in (
        "encoder.layer1",
        "encoder.layer4",
        "decoder.aspp",
        "decoder.block1",
        "cat",
        "segmentation_head",
    ):
        assert block in names
    by = {n.name: n for n in g.nodes}
    assert by["encoder.layer1"].params == 147_968  # 2 resnet18 BasicBlocks of 64 channels
    assert by["cat"].out_shapes == [(1, 304, 16, 16)]  # 256 ASPP + 48 skip channels
    edges = {(s, d) for s, d, _ in g.edges}
    assert (by["encoder.layer1"].id, by["decoder.block1"].id) in edges  # the stride-4 skip


def test_model_graph_cli(tmp_path):
    from floodcast.cli import app

    r = CliRunner().invoke(
        app,
        ["model-graph", "--model", "deeplabv3plus", "--out", str(tmp_path), "--in-channels", "5"],
    )
    assert r.exit_code == 0, r.output
    for f in (
        "deeplabv3plus.svg",
        "deeplabv3plus.html",
        "deeplabv3plus_summary.txt",
        "deeplabv3plus.dot",
    ):
        assert (tmp_path / f).stat().st_size > 500, f
    r = CliRunner().invoke(app, ["model-graph", "--model", "nope", "--out", str(tmp_path)])
    assert r.exit_code == 1 and "valid are" in r.output


@pytest.mark.skipif(
    shutil.which("dot") is None,
    reason="Graphviz 'dot' not installed (apt-get install -y graphviz); "
    "the built-in renderer is tested above",
)
def test_dot_engine_renders():
    _, g, _ = model_graph("deeplabv3plus", in_channels=4, size=32)
    assert "<svg" in render_dot(to_dot(g))
