"""Embedding plots that come with numbers: UMAP scatter, parallel coordinates, a null.

Two traps of looking at UMAP pictures are closed here:

- *Structure from nothing.* UMAP draws clumps even for random vectors. Each plot states
  a number - kNN label agreement in the 2-D layout against a label-permutation null
  (z-score, p) - and ``--check-random`` lays out random vectors of the same shape the
  same way, so the two numbers can be compared.
- *Misaligned labels.* Every point carries its sample key (event, frame, row, col), and
  so does every colouring (``Labels``); plotting refuses labels whose keys differ from the
  points' keys (the author once coloured points with labels in another order, and UMAP
  "found" groups).
"""

from __future__ import annotations

import numpy as np

from floodcast.defaults import WET_THRESHOLD_M
from floodcast.diagnostics.labels import Labels, make_labels


def layout_2d(
    vectors: np.ndarray, method: str = "umap", seed: int = 0, n_neighbors: int = 15
) -> np.ndarray:
    """2-D layout: ``umap`` (umap-learn), or ``pca`` (fast, for smoke tests)."""
    x = np.asarray(vectors, np.float32)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(x)
    if method == "umap":
        import warnings

        import umap

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*n_jobs value.*")
            reducer = umap.UMAP(
                n_components=2,
                n_neighbors=min(n_neighbors, len(x) - 1),
                random_state=seed,
                init="random" if len(x) < 10 else "spectral",
            )
            return reducer.fit_transform(x)
    raise ValueError(f"unknown layout {method!r}; valid: umap, pca")


def _codes(values: np.ndarray) -> np.ndarray:
    return np.unique(values, return_inverse=True)[1]


def neighbour_agreement(
    points: np.ndarray,
    labels: Labels,
    keys: np.ndarray,
    k: int = 10,
    n_perm: int = 200,
    seed: int = 0,
) -> dict:
    """How much a point's neighbours share its label, against permuted labels.

    Categorical labels: the mean fraction of the k nearest neighbours with the same
    label. Continuous: the correlation of a value with its neighbours' mean. The null
    permutes labels over points (``n_perm`` times); ``z`` and the one-sided ``p`` say
    whether the layout holds more label structure than chance.
    """
    from sklearn.neighbors import NearestNeighbors

    labels.check_aligned(keys)
    pts = np.asarray(points, np.float64)
    k = max(1, min(k, len(pts) - 1))
    nbr = NearestNeighbors(n_neighbors=k + 1).fit(pts).kneighbors(pts, return_distance=False)[:, 1:]

    if labels.categorical:
        codes = _codes(labels.values)

        def stat(c):
            return float((c[nbr] == c[:, None]).mean())
    else:
        codes = np.asarray(labels.values, np.float64)

        def stat(c):
            if c.std() == 0:
                return 0.0
            return float(np.corrcoef(c, c[nbr].mean(1))[0, 1])

    rng = np.random.default_rng(seed)
    score = stat(codes)
    null = np.array([stat(rng.permutation(codes)) for _ in range(n_perm)])
    sd = float(null.std()) or 1e-12
    return {
        "label": labels.name,
        "k": k,
        "score": score,
        "null_mean": float(null.mean()),
        "null_std": float(null.std()),
        "z": (score - float(null.mean())) / sd,
        "p": float((1 + (null >= score).sum()) / (1 + n_perm)),
        "n": len(pts),
    }


def random_like(vectors: np.ndarray, seed: int = 0) -> np.ndarray:
    """Gaussian vectors with the same shape and per-dimension mean/std: no structure at all."""
    v = np.asarray(vectors, np.float64)
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(v.shape) * v.std(0) + v.mean(0)).astype(np.float32)


def embeddings_from_checkpoint(
    checkpoint: str,
    data: str,
    split: str = "test",
    tower: str = "rain",
    formulation: str | None = None,
    max_samples: int | None = None,
    seed: int = 0,
) -> dict:
    """Embeddings of a store split from a pretrain checkpoint, with keys and depth maps.

    Args:
        tower: ``rain`` or ``depth`` (projection-head output), or ``rain_features`` (the
            pooled encoder features that ``--init-encoder`` transfers).
    """
    import torch

    from floodcast.data.torchdata import FloodDataset
    from floodcast.training.pretrain import PairView, load_pretrained
    from floodcast.training.retrieval import embed_pairs

    model, extra = load_pretrained(checkpoint)
    form = formulation or extra.get("result", {}).get("config", {}).get("formulation", "original")
    ds = FloodDataset(data, split, formulation=form)
    view = PairView(ds)
    if max_samples and len(view) > max_samples:
        rows = np.sort(np.random.default_rng(seed).choice(len(view), max_samples, replace=False))
        view = torch.utils.data.Subset(view, rows.tolist())
    if tower == "rain_features":
        model.rain.forward = model.rain.pooled  # same pipeline, stop before the head
        tower = "rain"
    emb = embed_pairs(model, view)
    if tower not in ("rain", "depth"):
        raise ValueError(f"unknown tower {tower!r}; valid: rain, depth, rain_features")
    from floodcast.data import store

    sources = {}
    for eid in ds.event_ids:
        plan = store.read_event_attrs(data, eid).get("plan", {})
        sources[eid] = plan.get("radar_source") or plan.get("radar_id", "?")
    return {
        "vectors": emb[tower],
        "keys": emb["meta"],
        "depth_maps": emb["depth_maps"],
        "event_names": list(ds.event_ids),
        "event_sources": sources,
        "threshold": float(ds.spec["threshold"]),
    }


def run_embed(
    vectors: np.ndarray,
    keys: np.ndarray,
    out: str,
    colour_by: list[str],
    depth_maps: np.ndarray | None = None,
    event_names: list[str] | None = None,
    event_sources: dict | None = None,
    threshold: float = WET_THRESHOLD_M,
    method: str = "umap",
    check_random: bool = False,
    html: bool = True,
    seed: int = 0,
    k: int = 10,
    title: str = "embeddings",
) -> dict:
    """Layout, structure numbers and plots for real (and optionally random) vectors."""
    import json
    from pathlib import Path

    from floodcast.diagnostics import plots

    outp = Path(out)
    outp.mkdir(parents=True, exist_ok=True)
    sets = {"embeddings": np.asarray(vectors)}
    if check_random:
        sets["random"] = random_like(vectors, seed)
    result: dict = {
        "method": method,
        "n": len(keys),
        "dims": int(np.shape(vectors)[1]),
        "files": [],
        "structure": {},
    }
    for name, vec in sets.items():
        pts = layout_2d(vec, method, seed)
        label_title = (
            f"{title} - {name}" if name == "embeddings" else f"random vectors ({title} shape)"
        )
        for kind in colour_by:
            lab = make_labels(keys, kind, event_names, event_sources, depth_maps, threshold)
            st = neighbour_agreement(pts, lab, keys, k=k, seed=seed)
            result["structure"][f"{name}/{kind}"] = st
            png = outp / f"{name}_{method}_{kind}.png"
            plots.scatter_png(pts, keys, lab, png, f"{label_title} ({method})", st)
            result["files"].append(str(png))
            if html:
                page = outp / f"{name}_{method}_{kind}.html"
                plots.scatter_html(pts, keys, lab, page, f"{label_title} ({method})", st)
                result["files"].append(str(page))
        lab = make_labels(keys, colour_by[0], event_names, event_sources, depth_maps, threshold)
        par = outp / f"{name}_parallel_{colour_by[0]}.png"
        plots.parallel_png(vec, keys, lab, par, f"{label_title}: parallel coordinates")
        result["files"].append(str(par))
    (outp / "structure.json").write_text(json.dumps(result, indent=2, default=str))
    return result
