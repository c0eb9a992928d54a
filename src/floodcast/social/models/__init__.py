"""Text classifiers by name: ``tfidf`` (baseline), ``embed`` (MiniLM + linear head),
``transformer`` (small encoder trained from scratch).

All share one interface: ``fit(texts, labels)``, ``predict(texts)``,
``predict_proba(texts)`` (columns in ``classes_`` order), ``classes_``. Heavy imports
(torch, sentence-transformers) happen only when a model is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np


class TextClassifier(Protocol):
    classes_: list[str]

    def fit(self, texts: list[str], labels: list[str]) -> TextClassifier: ...

    def predict_proba(self, texts: list[str]) -> np.ndarray: ...

    def predict(self, texts: list[str]) -> list[str]: ...


def _tfidf(**kw):
    from floodcast.social.models.tfidf import TfidfClassifier

    return TfidfClassifier(**kw)


def _embed(**kw):
    from floodcast.social.models.embedding import EmbeddingClassifier

    return EmbeddingClassifier(**kw)


def _transformer(**kw):
    from floodcast.social.models.transformer import TransformerClassifier

    return TransformerClassifier(**kw)


MODELS: dict[str, Callable[..., TextClassifier]] = {
    "tfidf": _tfidf,
    "embed": _embed,
    "transformer": _transformer,
}


def make_model(name: str, **kwargs) -> TextClassifier:
    """Build the classifier registered as ``name``; unknown names list the valid ones."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}; choose one of: {', '.join(sorted(MODELS))}"
        ) from None
    return factory(**kwargs)


def resolve_models(spec: str | list[str]) -> list[str]:
    """``'all'`` or comma-separated names -> validated list of model names."""
    names = spec if isinstance(spec, list) else [s.strip() for s in spec.split(",") if s.strip()]
    if names == ["all"]:
        return list(MODELS)
    bad = [n for n in names if n not in MODELS]
    if bad:
        raise ValueError(f"unknown model(s) {bad}; choose from: all, {', '.join(sorted(MODELS))}")
    return names
