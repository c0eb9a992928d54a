"""Relevance and information type for every post: its label if it has one, else predicted.

Used by ``social map`` and ``social report``: a new flood's posts carry no labels, so a
classifier trained on labelled posts (e.g. the CrisisLex floods) fills them in, and each
post records where its value came from (``label``, ``predicted`` or ``none``).
"""

from __future__ import annotations

import pandas as pd

from floodcast.social.floods import INFO_TYPES, POSITIVE, info_type_label, relevance_label
from floodcast.social.models import make_model
from floodcast.social.text import expand_hashtags

UNKNOWN_TYPE = "unknown"  # no label and no classifier to predict one


def _labels(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    rel = df["label"].map(relevance_label) if "label" in df else pd.Series(None, df.index)
    if "informativeness" in df:
        rel = rel.fillna(df["informativeness"].map(relevance_label))
    typ = df["info_type"].map(info_type_label) if "info_type" in df else pd.Series(None, df.index)
    return rel, typ


def _predict(train_x, train_y, x, model: str, **kw) -> list[str]:
    clf = make_model(model, **kw).fit([expand_hashtags(t) for t in train_x], list(train_y))
    return clf.predict([expand_hashtags(t) for t in x])


def label_posts(
    posts: pd.DataFrame, train: pd.DataFrame | None = None, model: str = "tfidf", **model_kwargs
) -> pd.DataFrame:
    """Add ``relevant`` (bool), ``relevance_source``, ``type`` and ``type_source``.

    ``train``: labelled posts (any mix of relevance and type labels) to predict the
    missing values with ``model``; without it, unlabelled posts count as relevant
    (``relevance_source='assumed'``) and get type ``unknown``. A predicted type is given
    to relevant posts only (the six types describe flood information).
    """
    rel, typ = _labels(posts)
    out = posts.assign(
        relevance_source=rel.notna().map({True: "label", False: "assumed"}),
        type=typ,
        type_source=typ.notna().map({True: "label", False: "none"}),
    )
    need_rel = rel.isna()
    if train is not None and need_rel.any():
        trel, _ = _labels(train)
        t = train[trel.notna()]
        if trel.dropna().nunique() >= 2:
            rel = rel.copy()
            rel[need_rel] = _predict(
                t["text"], trel.dropna(), posts.loc[need_rel, "text"], model, **model_kwargs
            )
            out.loc[need_rel, "relevance_source"] = "predicted"
    out["relevant"] = rel.fillna(POSITIVE).eq(POSITIVE).to_numpy()
    need_type = typ.isna() & out["relevant"]
    if train is not None and need_type.any():
        _, ttyp = _labels(train)
        t = train[ttyp.notna()]
        if ttyp.dropna().nunique() >= 2:
            out.loc[need_type, "type"] = _predict(
                t["text"], ttyp.dropna(), posts.loc[need_type, "text"], model, **model_kwargs
            )
            out.loc[need_type, "type_source"] = "predicted"
    out["type"] = out["type"].fillna(UNKNOWN_TYPE)
    return out


def type_order(types) -> list[str]:
    """The six CrisisLex types in their fixed order, then any others (``unknown``)."""
    seen = set(types)
    return [t for t in INFO_TYPES if t in seen] + sorted(seen - set(INFO_TYPES))
