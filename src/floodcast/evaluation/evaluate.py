"""Score a trained model and the baselines on a held-out split, per event and overall.

Everything is counted in contingency tables (``floodcast.metrics``) summed over cells,
so no metric is an average of per-sample ratios. Baselines are fitted on the
training split only; the model's postprocessed masks are scored beside the raw ones.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import torch

from floodcast.data.reference_storm import check_settings
from floodcast.data.torchdata import FloodDataset
from floodcast.defaults import EVAL_THRESHOLDS_M
from floodcast.errors import InputError
from floodcast.evaluation.baselines import Climatology, TerrainHeuristic, contributing_area
from floodcast.metrics import Contingency
from floodcast.models.cut import model_cut
from floodcast.predict.postprocess import remove_isolated


@dataclass
class EvalConfig:
    model: str
    data: str
    out: str
    split: str = "test"
    thresholds: tuple[float, ...] = EVAL_THRESHOLDS_M
    batch_size: int = 16
    max_train_samples: int = 2000  # for fitting the baselines
    speed: bool = True
    maps: int = 3


@dataclass
class EvalResult:
    threshold: float  # the model's training threshold (m)
    overall: dict = field(default_factory=dict)  # (method, thr) -> Contingency
    per_event: dict = field(default_factory=dict)  # (event, method, thr) -> Contingency
    sample_csi: list = field(default_factory=list)  # (csi, index) for the model at `threshold`
    heuristic_thresholds: dict = field(default_factory=dict)
    n_samples: int = 0
    events: list = field(default_factory=list)


def fit_baselines(train: FloodDataset, thresholds, limit: int, rng) -> tuple[dict, dict, dict]:
    """Fit climatology and the terrain heuristic on (a seeded subset of) the training split."""
    areas: dict[str, np.ndarray] = {}
    clim = {t: Climatology() for t in thresholds}
    heur = {t: TerrainHeuristic() for t in thresholds}
    idx = np.arange(len(train))
    if len(idx) > limit:
        idx = np.sort(rng.choice(idx, limit, replace=False))
    for i in idx:
        key, score, depth = _baseline_inputs(train, int(i), areas)
        for t in thresholds:
            clim[t].add(key, depth > t)
            heur[t].add(score, depth > t)
    fitted = {t: heur[t].fit() for t in thresholds}
    return clim, heur, {"areas": areas, "fitted": fitted}


def _baseline_inputs(ds: FloodDataset, i: int, areas: dict):
    e, k, r, c = (int(v) for v in ds.items[i])
    _rain, depth, accum, dem, _, _ = ds._event(e)
    p = ds.spec["patch"]
    did = _dem_id(ds, e)
    if did not in areas:
        from floodcast.data import store

        _, attrs = store.read_dem(ds.path, did)
        areas[did] = contributing_area(dem, attrs["cell_size"])
    score = accum[k, r : r + p, c : c + p] * areas[did][r : r + p, c : c + p]
    return (did, r, c), score, depth[k, r : r + p, c : c + p]


def _dem_id(ds: FloodDataset, e: int) -> str:
    from floodcast.data import store

    return store.read_event_attrs(ds.path, ds.event_ids[e])["plan"]["dem_id"]


def evaluate(cfg: EvalConfig, model=None, extra: dict | None = None) -> tuple[EvalResult, dict]:
    """Run the model over ``cfg.split`` and score it with the baselines beside it."""
    from floodcast.models.checkpoint import load_model

    if model is None:
        model, extra = load_model(cfg.model)
    model.eval()
    form = extra["data"].get("formulation")
    ds = FloodDataset(cfg.data, cfg.split, formulation=form)
    if len(ds) == 0:
        raise InputError(f"{cfg.data}: split {cfg.split!r} has no samples")
    want = extra["data"]["channels"]
    if want != ds.channels:
        raise InputError(f"model expects channels {want}, dataset {cfg.data} has {ds.channels}")
    check_settings(extra["data"], want, str(cfg.model or "the model"))  # the storm channels' inputs
    th0 = float(ds.spec["threshold"])
    cut = model_cut(extra)  # the validation-fitted probability cut, if any
    thresholds = sorted(set(cfg.thresholds) | {th0})
    rng = np.random.default_rng(0)
    clim, heur, info = fit_baselines(
        FloodDataset(cfg.data, "train", formulation=form), thresholds, cfg.max_train_samples, rng
    )
    res = EvalResult(threshold=th0, heuristic_thresholds=info["fitted"], n_samples=len(ds))
    overall: dict = defaultdict(Contingency)
    per_event: dict = defaultdict(Contingency)
    with torch.no_grad():
        for start in range(0, len(ds), cfg.batch_size):
            ids = range(start, min(start + cfg.batch_size, len(ds)))
            x = torch.stack([ds[i]["x"] for i in ids])
            out = model(x)
            prob = torch.softmax(out["logits"], 1)[:, 1].numpy()
            pdepth = out["depth"][:, 0].numpy() if "depth" in out else None
            for j, i in enumerate(ids):
                key, score, depth = _baseline_inputs(ds, i, info["areas"])
                ev = ds.event_ids[int(ds.items[i][0])]
                preds = {}
                for t in thresholds:
                    truth = depth > t
                    if t == th0:
                        m = prob[j] > cut
                        preds[("model", t)] = m
                        preds[("model+postprocess", t)] = remove_isolated(m)
                    elif pdepth is not None:  # other thresholds need a depth estimate
                        preds[("model", t)] = pdepth[j] > t
                        preds[("model+postprocess", t)] = remove_isolated(pdepth[j] > t)
                    preds[("all_dry", t)] = np.zeros_like(truth)
                    preds[("climatology", t)] = clim[t].predict(key, truth.shape)
                    preds[("terrain_heuristic", t)] = heur[t].predict(score)
                    for (method, tt), m in preds.items():
                        if tt != t:
                            continue
                        tab = Contingency.from_masks(m, truth)
                        overall[(method, t)].update(tab)
                        per_event[(ev, method, t)].update(tab)
                        if method == "model" and t == th0 and (truth.any() or m.any()):
                            res.sample_csi.append((tab.scores()["csi"], i))
    res.overall, res.per_event = dict(overall), dict(per_event)
    res.events = sorted({k[0] for k in per_event})
    return res, {"dataset": ds, "extra": extra, "model": model}
