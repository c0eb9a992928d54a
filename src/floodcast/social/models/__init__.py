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


def self_train(
    name: str,
    xtr: list[str],
    ytr: list,
    xte: list[str],
    proba: np.ndarray,
    classes: list,
    confidence: float = 0.9,
    weights: np.ndarray | None = None,
    **kwargs,
) -> tuple[TextClassifier, int]:
    """Transductive self-training: refit ``name`` with the test posts whose predicted
    class probability (``proba``, ``[n, classes]``) is >= ``confidence``, labelled with
    that *predicted* class (their true labels are never used: what a deployment has
    during a new flood). ``weights``: training sample weights, 1 for each added post.
    Returns the refitted classifier and how many posts were pseudo-labelled."""
    sel = proba.max(1) >= confidence
    pseudo = [classes[i] for i in proba[sel].argmax(1)]
    fit_kw = {}
    if weights is not None:
        fit_kw["sample_weight"] = np.concatenate([weights, np.ones(int(sel.sum()))])
    xs = xtr + [x for x, s in zip(xte, sel, strict=True) if s]
    return make_model(name, **kwargs).fit(xs, list(ytr) + pseudo, **fit_kw), int(sel.sum())
