"""Is the contrastive model learning anything? Retrieval accuracy against chance.

For every rain input of the held-out events, rank N candidate depth maps (the true one
plus N - 1 others from held-out events) by cosine similarity; top-k accuracy is the
fraction of queries whose true map is among the k best. Chance is k / N. Candidates
are de-duplicated first: identical depth maps (all-dry tiles) cannot be told apart by
any model, and keeping them would make chance ill-defined.

The "shuffled" control scores the same embeddings with the depth side permuted; it must
sit at chance, which checks the metric itself.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor


@dataclass
class RetrievalResult:
    """Top-1 / top-5 retrieval accuracy with chance levels and a one-sided binomial p."""

    n_candidates: int
    n_queries: int
    top1: float
    top5: float
    chance_top1: float
    chance_top5: float
    p_top1: float  # P(>= observed hits | chance), one partition of independent queries
    p_top5: float

    @property
    def top1_over_chance(self) -> float:
        return self.top1 / self.chance_top1

    def to_dict(self) -> dict:
        return {**asdict(self), "top1_over_chance": self.top1_over_chance}

    def line(self, label: str = "retrieval") -> str:
        return (
            f"{label}: top-1 {self.top1:.3f} (chance {self.chance_top1:.3f}, "
            f"x{self.top1_over_chance:.1f}, p={self.p_top1:.2g}), top-5 {self.top5:.3f} "
            f"(chance {self.chance_top5:.3f}, p={self.p_top5:.2g}); N={self.n_candidates}, "
            f"{self.n_queries} queries"
        )


def unique_rows(depth: np.ndarray | Tensor) -> np.ndarray:
    """Indices of the first occurrence of each distinct depth map, in original order."""
    flat = np.asarray(depth).reshape(len(depth), -1)
    _, first = np.unique(flat, axis=0, return_index=True)
    return np.sort(first)


def _binom_sf(hits: int, n: int, p: float) -> float:
    from scipy.stats import binom

    return float(binom.sf(hits - 1, n, p)) if n else math.nan


def retrieval_accuracy(
    z_rain: Tensor | np.ndarray,
    z_depth: Tensor | np.ndarray,
    n_candidates: int = 32,
    repeats: int = 5,
    seed: int = 0,
    shuffle_pairs: bool = False,
) -> RetrievalResult:
    """Top-1 / top-5 accuracy of finding the paired depth embedding among N candidates.

    Args:
        z_rain, z_depth: paired embeddings [n, d] (row i of each belongs to sample i),
            already de-duplicated by depth map (``unique_rows``).
        n_candidates: N; capped at n. The samples are cut into disjoint blocks of N,
            each sample queried once per repeat, over ``repeats`` random partitions.
        shuffle_pairs: permute the depth side first (the at-chance control).
    """
    zr = torch.as_tensor(z_rain, dtype=torch.float32)
    zd = torch.as_tensor(z_depth, dtype=torch.float32)
    if zr.shape[0] != zd.shape[0]:
        raise ValueError(f"{zr.shape[0]} rain vs {zd.shape[0]} depth embeddings: pairs must align")
    n = zr.shape[0]
    n_cand = min(n_candidates, n)
    if n_cand < 2:
        raise ValueError(f"retrieval needs >= 2 distinct held-out pairs, got {n}")
    rng = np.random.default_rng(seed)
    if shuffle_pairs:
        zd = zd[torch.as_tensor(rng.permutation(n))]
    zr, zd = torch.nn.functional.normalize(zr, dim=1), torch.nn.functional.normalize(zd, dim=1)
    k5 = min(5, n_cand)
    hits1 = hits5 = queries = 0
    first = (0, 0, 0)
    for rep in range(repeats):
        perm = rng.permutation(n)
        blocks = [perm[i : i + n_cand] for i in range(0, n - n_cand + 1, n_cand)]
        for idx in blocks:
            sim = zr[idx] @ zd[idx].t()
            true = sim.diagonal()[:, None]
            # rank = candidates strictly better + half the ties (ties are not free hits)
            rank = (sim > true).sum(1).float() + 0.5 * ((sim == true).sum(1).float() - 1)
            hits1 += int((rank < 1).sum())
            hits5 += int((rank < k5).sum())
            queries += len(idx)
        if rep == 0:
            first = (hits1, hits5, queries)
    c1, c5 = 1.0 / n_cand, k5 / n_cand
    return RetrievalResult(
        n_candidates=n_cand,
        n_queries=queries,
        top1=hits1 / queries,
        top5=hits5 / queries,
        chance_top1=c1,
        chance_top5=c5,
        p_top1=_binom_sf(first[0], first[2], c1),
        p_top5=_binom_sf(first[1], first[2], c5),
    )


@torch.no_grad()
def embed_pairs(model, dataset, batch_size: int = 64) -> dict[str, np.ndarray]:
    """Rain and depth embeddings of every sample, with its (event, frame, row, col) key.

    Args:
        model: a ``DualEncoder`` (put in eval mode here).
        dataset: items with ``x``, ``depth`` and optionally ``event``/``frame``/``row``/``col``.
    """
    from torch.utils.data import DataLoader

    model.eval()
    zr, zd, depth, meta = [], [], [], []
    for b in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        zr.append(model.embed_rain(b["x"].float()))
        zd.append(model.embed_depth(b["depth"].float()))
        depth.append(b["depth"].numpy())
        n = len(b["x"])
        meta.append(
            np.stack(
                [
                    np.asarray(b.get(k, torch.full((n,), -1)))
                    for k in ("event", "frame", "row", "col")
                ],
                1,
            )
        )
    return {
        "rain": torch.cat(zr).numpy(),
        "depth": torch.cat(zd).numpy(),
        "depth_maps": np.concatenate(depth),
        "meta": np.concatenate(meta).astype(np.int64),
    }


def evaluate_retrieval(
    model, dataset, n_candidates: int = 32, repeats: int = 5, seed: int = 0
) -> dict:
    """Retrieval on ``dataset`` (held-out events) and its shuffled-pairs control."""
    emb = embed_pairs(model, dataset)
    keep = unique_rows(emb["depth_maps"])
    res = retrieval_accuracy(emb["rain"][keep], emb["depth"][keep], n_candidates, repeats, seed)
    null = retrieval_accuracy(
        emb["rain"][keep], emb["depth"][keep], n_candidates, repeats, seed, shuffle_pairs=True
    )
    return {
        "samples": len(dataset),
        "distinct_depth_maps": len(keep),
        "retrieval": res.to_dict(),
        "shuffled_control": null.to_dict(),
        "text": [res.line("held-out"), null.line("shuffled pairs")],
    }
