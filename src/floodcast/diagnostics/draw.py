"""Draw a ``ModelGraph`` as a top-down flowchart: pure-Python SVG, DOT, standalone HTML.

Layout (Sugiyama-style, simplified for networks that are mostly a chain): layers by
longest path from the input, then every node that feeds a single consumer is pulled
down next to it (so a skip branch like DeepLabV3+'s ``block1`` sits beside the ``cat``
it feeds), then a few barycentre sweeps order each layer. Edges spanning more than one
layer are skip connections: drawn dashed in orange, routed in their own lane at the
side. No system binary is needed; ``to_dot`` gives Graphviz source for those who have
``dot`` (``render_dot``).
"""

from __future__ import annotations

import html
import shutil
import subprocess

from floodcast.diagnostics.graph import ModelGraph, Node

BOX_H, ROW_GAP, COL_GAP, CHAR_W = 46, 28, 30, 6.6
COLOURS = {"input": "#dfe7fd", "module": "#d8f3dc", "op": "#eeeeee", "output": "#fde2e4"}


def _fmt_shape(shape: tuple) -> str:
    return "×".join(str(s) for s in shape[1:]) if len(shape) > 1 else str(shape)


def node_lines(n: Node) -> list[str]:
    """Two text lines per box: name (type), output shape(s) · parameters."""
    head = n.name if n.kind in ("input", "output", "op") else f"{n.name} ({n.type})"
    shapes = ", ".join(_fmt_shape(s) for s in n.out_shapes[:3])
    if len(n.out_shapes) > 3:
        shapes += f", … ({len(n.out_shapes)} tensors)"
    tail = f"{shapes}" + (f" · {n.params:,} params" if n.params else "")
    return [head, tail]


def layout(g: ModelGraph) -> dict[int, tuple[float, float, float]]:
    """Node id -> (x centre, y top, width)."""
    succ = g.successors()
    pred: dict[int, list[int]] = {n.id: [] for n in g.nodes}
    for s, d, _ in g.edges:
        pred[d].append(s)
    order = [n.id for n in g.nodes]  # recording order is a topological order
    layer: dict[int, int] = {}
    for v in order:
        layer[v] = max((layer[p] + 1 for p in pred[v] if p in layer), default=0)
    for v in reversed(order):  # pull single-consumer nodes down beside their consumer
        if len(succ[v]) == 1 and pred[v]:
            layer[v] = max(layer[v], layer[succ[v][0]] - 1)
    rows: dict[int, list[int]] = {}
    for v in order:
        rows.setdefault(layer[v], []).append(v)
    width = {n.id: max(len(t) for t in node_lines(n)) * CHAR_W + 20 for n in g.nodes}
    xpos: dict[int, float] = {}
    for _ in range(3):  # barycentre sweeps: order each row by its parents' positions
        for r in sorted(rows):
            row = rows[r]
            if xpos:
                row.sort(key=lambda v: sum(xpos.get(p, 0) for p in pred[v]) / max(len(pred[v]), 1))
            total = sum(width[v] for v in row) + COL_GAP * (len(row) - 1)
            x = -total / 2
            for v in row:
                xpos[v] = x + width[v] / 2
                x += width[v] + COL_GAP
    return {v: (xpos[v], layer[v] * (BOX_H + ROW_GAP), width[v]) for v in order}


def to_svg(g: ModelGraph) -> str:
    """The flowchart as a standalone SVG string."""
    pos = layout(g)
    layer_of = {v: round(y / (BOX_H + ROW_GAP)) for v, (_, y, _) in pos.items()}
    right = max(x + w / 2 for x, _, w in pos.values())
    left = min(x - w / 2 for x, _, w in pos.values())
    skips = [e for e in g.edges if layer_of[e[1]] - layer_of[e[0]] > 1]
    lane_w = 16
    pad, title_h = 20, 40
    subtitle = (
        f"input {list(g.input_shape)} · {g.total_params:,} parameters · "
        "dashed orange = skip connection"
    )
    width = max(right - left + 2 * pad + lane_w * (len(skips) + 1), len(subtitle) * 6 + 2 * pad)
    height = max(y for _, y, _ in pos.values()) + BOX_H + 2 * pad + title_h
    ox, oy = pad - left, pad + title_h
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica,Arial,sans-serif">'
        ),
        (
            '<defs><marker id="arr" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
            'markerHeight="7" orient="auto"><path d="M0,0L10,5L0,10z" fill="#555"/></marker></defs>'
        ),
        (
            f'<text x="{pad}" y="{pad + 8}" font-size="15" font-weight="bold">'
            f"{html.escape(g.title)}</text>"
        ),
        f'<text x="{pad}" y="{pad + 26}" font-size="11">{html.escape(subtitle)}</text>',
    ]
    # skips: orthogonal routes in their own lanes, shortest span innermost (no crossings)
    skips.sort(key=lambda e: layer_of[e[1]] - layer_of[e[0]])
    lane_of = {e: i + 1 for i, e in enumerate(skips)}
    for s, d, shape in g.edges:
        xs, ys, ws = pos[s]
        xd, yd, _ = pos[d]
        x1, y1, x2, y2 = xs + ox, ys + BOX_H + oy, xd + ox, yd + oy
        tip = html.escape(f"{_fmt_shape(shape)}")
        if (s, d, shape) in lane_of:
            lane = lane_of[(s, d, shape)]
            xl = right + ox + lane * lane_w
            # out of the source's right side, down the lane, along the gap above the target
            sy, sx = ys + oy + BOX_H / 2, xs + ws / 2 + ox
            gap_y = yd + oy - 6 - (lane % 4) * 4
            tx = x2 + 10 + (lane % 4) * 6
            path = f"M{sx:.1f},{sy:.1f} H{xl:.1f} V{gap_y:.1f} H{tx:.1f} V{y2:.1f}"
            parts.append(
                f'<path d="{path}" fill="none" stroke="#e07b00" stroke-width="1.6" '
                f'stroke-dasharray="6,3" marker-end="url(#arr)"><title>skip {tip}</title></path>'
            )
            parts.append(
                f'<text x="{sx + 4:.1f}" y="{sy - 3:.1f}" font-size="9" fill="#e07b00">{tip}</text>'
            )
        else:
            parts.append(
                f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + 14:.1f} {x2:.1f},{y2 - 14:.1f} '
                f'{x2:.1f},{y2:.1f}" fill="none" stroke="#555" stroke-width="1.2" '
                f'marker-end="url(#arr)"><title>{tip}</title></path>'
            )
    for n in g.nodes:
        x, y, w = pos[n.id]
        rx = 18 if n.kind == "op" else 4
        a, b = node_lines(n)
        parts.append(
            f"<g><title>{html.escape(n.name)}</title>"
            f'<rect x="{x - w / 2 + ox:.1f}" y="{y + oy:.1f}" width="{w:.1f}" height="{BOX_H}" '
            f'rx="{rx}" fill="{COLOURS[n.kind]}" stroke="#333" stroke-width="1"/>'
            f'<text x="{x + ox:.1f}" y="{y + oy + 19:.1f}" font-size="11" text-anchor="middle" '
            f'font-weight="bold">{html.escape(a)}</text>'
            f'<text x="{x + ox:.1f}" y="{y + oy + 36:.1f}" font-size="10" text-anchor="middle">'
            f"{html.escape(b)}</text></g>"
        )
    parts.append("</svg>")
    return "\n".join(parts)


def to_dot(g: ModelGraph) -> str:
    """Graphviz DOT source of the same graph (boxes, shapes, parameters, skip edges)."""
    layer = {v: round(y / (BOX_H + ROW_GAP)) for v, (_, y, _) in layout(g).items()}
    out = [
        f'digraph "{g.title}" {{',
        (
            '  rankdir=TB; node [shape=box, style="rounded,filled", '
            "fontname=Helvetica, fontsize=10];"
        ),
    ]
    for n in g.nodes:
        label = "\\n".join(t.replace('"', "'") for t in node_lines(n))
        out.append(f'  n{n.id} [label="{label}", fillcolor="{COLOURS[n.kind]}"];')
    for s, d, shape in g.edges:
        style = ', style=dashed, color="#e07b00"' if layer[d] - layer[s] > 1 else ""
        out.append(f'  n{s} -> n{d} [tooltip="{_fmt_shape(shape)}"{style}];')
    out.append("}")
    return "\n".join(out)


def render_dot(dot_source: str) -> str:
    """SVG from Graphviz's ``dot`` (needs the system package: apt-get install -y graphviz)."""
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError(
            "Graphviz 'dot' not found: apt-get install -y graphviz, "
            "or use the built-in layout (--engine builtin)"
        )
    return subprocess.run(
        [exe, "-Tsvg"], input=dot_source, capture_output=True, text=True, check=True, timeout=120
    ).stdout


def to_html(g: ModelGraph, svg: str, summary: str) -> str:
    """Standalone page: the flowchart, a block table and the torchinfo text summary."""
    rows = "".join(
        f"<tr><td>{html.escape(n.name)}</td><td>{html.escape(n.type)}</td>"
        f"<td>{html.escape(', '.join(str(list(s)) for s in n.out_shapes[:4]))}</td>"
        f"<td style='text-align:right'>{n.params:,}</td></tr>"
        for n in g.nodes
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(g.title)}</title><style>body{{font-family:sans-serif;margin:1em}}"
        "table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
        ".svg{overflow:auto;border:1px solid #ddd}</style></head><body>"
        f"<h2>{html.escape(g.title)}</h2><div class='svg'>{svg}</div>"
        "<h3>Blocks</h3><table><tr><th>block</th><th>type</th><th>output shape(s)</th>"
        f"<th>parameters</th></tr>{rows}</table>"
        f"<h3>Layer summary (torchinfo)</h3><pre>{html.escape(summary)}</pre></body></html>"
    )
