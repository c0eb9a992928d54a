"""Relevance (is the post about the flood?): cross-event training and evaluation.

Train on one flood, test on another, both ways (CrisisLex T6: Alberta <-> Queensland
2013, on-topic / off-topic). Posts are ingested with the usual cleaning (duplicates and
retweets removed, English only), so a retweet of a test post never sits in training.
Models read the normalised text with hashtags split into words (``#yycflood`` -> ``yyc
flood``), so event-specific tags share the crisis word. Optional transductive
self-training (``adapt``) lets a model use the new event's unlabelled posts.
Every table has the majority-class baseline beside the models, with macro-F1, MCC and
the F1 of each class (the on-topic F1 alone flatters a flood where most posts are on-topic).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from floodcast.io.atomic import atomic_dir
from floodcast.social.floods import NEGATIVE, POSITIVE, relevance_label
from floodcast.social.ingest import load_posts
from floodcast.social.models import make_model, resolve_models, self_train
from floodcast.social.scores import classification_metrics, majority_baseline
from floodcast.social.text import expand_hashtags


def load_labelled(paths, **ingest_kwargs) -> pd.DataFrame:
    """Posts with a relevance label (``label`` column, or T26 informativeness)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    df, _ = load_posts(paths, **ingest_kwargs)
    lab = df["label"].map(relevance_label)
    if "informativeness" in df:
        lab = lab.fillna(df["informativeness"].map(relevance_label))
    df = df.assign(y=lab).dropna(subset=["y"]).reset_index(drop=True)
    return df


def model_text(texts, expand_tags: bool = True) -> list[str]:
    """What the classifiers read: normalised text, hashtags split into words."""
    return [expand_hashtags(t) if expand_tags else str(t) for t in texts]


def _row(model, train, test, pred, fit_s, pred_s, **extra) -> dict:
    row = {
        "model": model,
        "train_event": ",".join(sorted(train["event"].unique())),
        "test_event": ",".join(sorted(test["event"].unique())),
        "n_train": len(train),
        "n_test": len(test),
        "train_on_topic_share": float((train["y"] == POSITIVE).mean()),
        "test_on_topic_share": float((test["y"] == POSITIVE).mean()),
        "fit_seconds": round(fit_s, 2),
        "predict_seconds": round(pred_s, 2),
    } | extra
    row.update(
        classification_metrics(test["y"], pred, positive=POSITIVE, labels=[POSITIVE, NEGATIVE])
    )
    return row


def evaluate(
    train: pd.DataFrame,
    test: pd.DataFrame,
    model: str,
    adapt: bool = False,
    expand_tags: bool = True,
    confidence: float = 0.9,
    **model_kwargs,
) -> list[dict]:
    """Fit ``model`` on ``train`` and score it on ``test``; returns metrics rows.

    With ``adapt``, a second row ``<model>+self-train`` is added: the test event's posts
    that the first model labels with probability >= ``confidence`` are added to the
    training data with those *predicted* labels and the model is refitted (transductive
    self-training: the test labels are never used, only its unlabelled text -- what a
    deployment has during a new flood).
    """
    xtr = model_text(train["text"], expand_tags)
    xte = model_text(test["text"], expand_tags)
    ytr = train["y"].tolist()
    if model == "majority":  # the trivial baseline shown beside every model
        return [_row(model, train, test, majority_baseline(ytr, len(xte)), 0.0, 0.0)]
    clf = make_model(model, **model_kwargs)
    t0 = time.monotonic()
    clf.fit(xtr, ytr)
    fit_s = time.monotonic() - t0
    t0 = time.monotonic()
    proba_all = clf.predict_proba(xte)
    proba = proba_all[:, list(clf.classes_).index(POSITIVE)]
    pred = np.where(proba >= 0.5, POSITIVE, NEGATIVE)
    rows = [_row(model, train, test, pred, fit_s, time.monotonic() - t0)]
    if adapt:
        t0 = time.monotonic()
        clf2, n_pseudo = self_train(
            model, xtr, ytr, xte, proba_all, clf.classes_, confidence, **model_kwargs
        )
        fit2 = time.monotonic() - t0
        t0 = time.monotonic()
        pred2 = clf2.predict(xte)
        rows.append(
            _row(
                f"{model}+self-train",
                train,
                test,
                pred2,
                fit_s + fit2,
                time.monotonic() - t0,
                pseudo_labelled=n_pseudo,
            )
        )
    return rows


def cross_event(
    a: pd.DataFrame,
    b: pd.DataFrame,
    models="all",
    both_ways: bool = True,
    model_kwargs: dict[str, dict] | None = None,
    adapt: bool = False,
    expand_tags: bool = True,
    log=None,
) -> list[dict]:
    """Train on ``a`` / test on ``b`` (and the reverse) for every model."""
    model_kwargs = model_kwargs or {}
    pairs = [(a, b), (b, a)] if both_ways else [(a, b)]
    rows = []
    for name in ["majority", *resolve_models(models)]:
        for tr, te in pairs:
            for row in evaluate(
                tr,
                te,
                name,
                adapt=adapt and name != "majority",
                expand_tags=expand_tags,
                **model_kwargs.get(name, {}),
            ):
                rows.append(row)
                if log:
                    log(
                        f"{row['model']:22s} {row['train_event']} -> {row['test_event']}: "
                        f"F1(on-topic) {row['f1']:.3f}  macro-F1 {row['macro_f1']:.3f}  "
                        f"MCC {row['mcc']:.3f}  acc {row['accuracy']:.3f}  "
                        f"({row['fit_seconds']:.0f}s fit)"
                    )
    return rows


def metrics_markdown(rows: list[dict], title: str = "Cross-event relevance") -> str:
    lines = [
        f"# {title}",
        "",
        (
            "Train on one event, test on the other. F1 on / off: F1 of each class; "
            "`majority`: the training event's most frequent class for every post (the "
            "baseline every model must beat on every column). `+self-train`: refitted "
            "with the test event's confidently predicted posts (their predicted labels; "
            "test labels never used)."
        ),
        "",
        (
            "| model | train | test | n train | n test | macro-F1 | MCC | F1 on | F1 off | "
            "precision on | recall on | accuracy | fit s |"
        ),
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        per = r["f1_per_class"]
        lines.append(
            f"| {r['model']} | {r['train_event']} | {r['test_event']} | {r['n_train']} | "
            f"{r['n_test']} | {r['macro_f1']:.3f} | {r['mcc']:.3f} | {per[POSITIVE]:.3f} | "
            f"{per[NEGATIVE]:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | "
            f"{r['accuracy']:.3f} | {r['fit_seconds']:.0f} |"
        )
    if rows:
        best = {}
        for r in rows:
            best.setdefault(r["model"], []).append(r["macro_f1"])
        lines += [
            "",
            "Mean macro-F1 over directions: "
            + ", ".join(f"{m} {sum(v) / len(v):.3f}" for m, v in best.items()),
        ]
    return "\n".join(lines) + "\n"


def run(
    train_paths,
    test_paths,
    out_dir,
    models="all",
    both_ways=True,
    model_kwargs=None,
    ingest_kwargs=None,
    adapt: bool = False,
    expand_tags: bool = True,
    log=None,
) -> list[dict]:
    """Load both events, evaluate, write ``metrics.json`` and ``metrics.md`` atomically."""
    ingest_kwargs = ingest_kwargs or {}
    a = load_labelled(train_paths, **ingest_kwargs)
    b = load_labelled(test_paths, **ingest_kwargs)
    for name, df in (("train", a), ("test", b)):
        if df.empty or df["y"].nunique() < 2:
            raise ValueError(f"{name} data has no usable on-topic/off-topic labels")
    rows = cross_event(a, b, models, both_ways, model_kwargs, adapt, expand_tags, log=log)
    with atomic_dir(out_dir) as tmp:
        Path(tmp, "metrics.json").write_text(json.dumps(rows, indent=2))
        Path(tmp, "metrics.md").write_text(metrics_markdown(rows))
    return rows
