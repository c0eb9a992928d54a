"""Capture a PyTorch model's block graph: modules at a chosen depth + the ops between them.

One forward pass on a dummy input, watched two ways with torch's own machinery:
forward hooks on the chosen *blocks* (modules ``depth`` names deep, e.g.
``encoder.layer1``, ``decoder.aspp``) record their input/output tensors, shapes and
parameter counts; a ``TorchFunctionMode`` records the functional ops *between* blocks
(``cat``, ``add``, ``interpolate``, ``pad`` ...), which is where skip connections are
joined. Edges follow tensor identity from producer to consumer. Unlike ``torch.fx``
this needs no symbolic tracing, so data-dependent Python in ``forward`` (input checks,
padding to the output stride) is fine. Layout and drawing: ``floodcast.diagnostics.draw``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode


@dataclass
class Node:
    id: int
    name: str  # qualified module name, op name, "input" or "output"
    kind: str  # input | module | op | output
    type: str  # module class or op name
    out_shapes: list[tuple] = field(default_factory=list)
    params: int = 0


@dataclass
class ModelGraph:
    title: str
    nodes: list[Node]
    edges: list[tuple[int, int, tuple]]  # (src, dst, tensor shape)
    total_params: int
    input_shape: tuple

    def successors(self) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {n.id: [] for n in self.nodes}
        for s, d, _ in self.edges:
            out[s].append(d)
        return out


def _tensors(obj) -> list[Tensor]:
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors(o)]
    return []


def select_blocks(model: nn.Module, depth: int) -> dict[str, nn.Module]:
    """Modules ``depth`` names deep, plus shallower leaves; Identity is skipped.

    ``ModuleList`` / ``ModuleDict`` are never called themselves, so they do not count as
    a level: their children take their place.
    """
    blocks: dict[str, nn.Module] = {}

    def visit(mod: nn.Module, prefix: str, level: int) -> None:
        for name, child in mod.named_children():
            if isinstance(child, nn.Identity):
                continue
            container = isinstance(child, (nn.ModuleList, nn.ModuleDict))
            if container:
                visit(child, f"{prefix}{name}.", level)
            elif level >= depth or not any(True for _ in child.children()):
                blocks[prefix + name] = child
            else:
                visit(child, f"{prefix}{name}.", level + 1)

    visit(model, "", 1)
    return blocks


class _Recorder(TorchFunctionMode):
    def __init__(self, graph: _Builder):
        super().__init__()
        self.g = graph

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.g.active == 0:
            self.g.record_op(func, args, kwargs or {}, out)
        return out


class _Builder:
    _SKIP_OPS: frozenset = frozenset(
        {
            "__get__",
            "__set__",
            "size",
            "dim",
            "numel",
            "is_floating_point",
            "detach",
            "__len__",
            "__iter__",
            "__bool__",
            "__format__",
            "__repr__",
            "__hash__",
            "item",
            "__eq__",
            "__ne__",
        }
    )

    def __init__(self):
        self.nodes: list[Node] = []
        self.edges: list[tuple[int, int, tuple]] = []
        self.producer: dict[int, int] = {}
        self.keep: list[Tensor] = []  # holds tensors alive so their ids are not reused
        self.active = 0

    def node(self, name: str, kind: str, type_: str, params: int = 0) -> Node:
        n = Node(len(self.nodes), name, kind, type_, params=params)
        self.nodes.append(n)
        return n

    def connect(self, inputs, n: Node) -> int:
        found = 0
        for t in _tensors(inputs):
            src = self.producer.get(id(t))
            if src is not None and (src, n.id, tuple(t.shape)) not in self.edges:
                self.edges.append((src, n.id, tuple(t.shape)))
                found += 1
        return found

    def produce(self, outputs, n: Node) -> None:
        for t in _tensors(outputs):
            self.producer[id(t)] = n.id
            self.keep.append(t)
            n.out_shapes.append(tuple(t.shape))

    def record_op(self, func, args, kwargs, out) -> None:
        name = getattr(func, "__name__", str(func))
        if name in self._SKIP_OPS or not _tensors(out):
            return
        tracked = [t for t in _tensors((args, kwargs)) if id(t) in self.producer]
        if not tracked:
            return
        label = {"__getitem__": "slice", "__add__": "add", "__iadd__": "add", "__mul__": "mul"}.get(
            name, name.strip("_")
        )
        n = self.node(label, "op", name)
        self.connect((args, kwargs), n)
        self.produce(out, n)


def capture(model: nn.Module, input_shape: tuple, depth: int = 2, title: str = "") -> ModelGraph:
    """Run ``model`` once on zeros of ``input_shape`` (eval mode) and record its block graph."""
    b = _Builder()
    blocks = select_blocks(model, depth)
    current: dict[int, Node] = {}

    def pre(mod, args, kwargs):
        if b.active == 0:
            n = b.node(
                names[id(mod)],
                "module",
                type(mod).__name__,
                sum(p.numel() for p in mod.parameters()),
            )
            b.connect((args, kwargs), n)  # smp passes skips as keywords
            current[id(mod)] = n
        b.active += 1

    def post(mod, args, kwargs, out):
        b.active -= 1
        if b.active == 0 and id(mod) in current:
            b.produce(out, current.pop(id(mod)))

    names = {id(m): n for n, m in blocks.items()}
    handles = [m.register_forward_pre_hook(pre, with_kwargs=True) for m in blocks.values()]
    handles += [m.register_forward_hook(post, with_kwargs=True) for m in blocks.values()]
    was_training = model.training
    model.eval()
    try:
        x = torch.zeros(input_shape)
        b.produce(x, b.node("input", "input", "input"))
        with torch.no_grad(), _Recorder(b):
            out = model(x)
        sink = b.node("output", "output", "output")
        b.connect(out, sink)
        sink.out_shapes = [tuple(t.shape) for t in _tensors(out)]
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    graph = ModelGraph(
        title or type(model).__name__,
        b.nodes,
        b.edges,
        sum(p.numel() for p in model.parameters()),
        tuple(input_shape),
    )
    return prune_dead(graph)


def prune_dead(g: ModelGraph) -> ModelGraph:
    """Drop nodes from which the output cannot be reached (shape probes, discarded ops)."""
    succ = g.successors()
    sink = next(n.id for n in g.nodes if n.kind == "output")
    alive, stack = {sink}, [sink]
    pred: dict[int, list[int]] = {n.id: [] for n in g.nodes}
    for s, d, _ in g.edges:
        pred[d].append(s)
    while stack:
        for p in pred[stack.pop()]:
            if p not in alive:
                alive.add(p)
                stack.append(p)
    del succ
    nodes = [n for n in g.nodes if n.id in alive]
    edges = [e for e in g.edges if e[0] in alive and e[1] in alive]
    return ModelGraph(g.title, nodes, edges, g.total_params, g.input_shape)


def text_summary(model: nn.Module, input_shape: tuple, depth: int = 3) -> str:
    """torchinfo's layer table (input/output sizes, parameters) as text."""
    import torchinfo

    s = torchinfo.summary(
        model,
        input_size=input_shape,
        depth=depth,
        verbose=0,
        device="cpu",
        col_names=("input_size", "output_size", "num_params"),
        row_settings=("var_names",),
    )
    return str(s)


def model_graph(
    name: str, in_channels: int = 8, size: int = 64, depth: int = 2, **overrides
) -> tuple:
    """Build a registry model (random weights) and capture it: (model, graph, summary)."""
    from floodcast.models import build_model

    model = build_model(name, in_channels=in_channels, seed=0, **overrides)
    shape = (1, in_channels, size, size)
    cfg = model.config
    title = f"{cfg.name} / {cfg.encoder} (encoder_depth {cfg.encoder_depth})"
    if cfg.name in ("small_unet", "centre_pixel"):
        title = cfg.name
    g = capture(model, shape, depth=depth, title=title)
    return model, g, text_summary(model, shape, depth=depth + 1)
