"""Sentiment: VADER baseline and emoji distant supervision.

Distant supervision (as in the original research): a post containing emoji (or, since
the 2013 CrisisLex tweets hold almost no emoji, ASCII emoticons such as ``:)`` ``:(``)
only from the positive set is labelled positive, only from the negative set negative;
mixed or none -> unlabelled. The emoji/emoticons are removed from the text before a
model is trained on it, so it has to learn from the words. Models are evaluated on a
held-out event against its emoji labels, and compared with VADER.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from floodcast.io.atomic import atomic_dir
from floodcast.social import text as T
from floodcast.social.models import make_model, resolve_models
from floodcast.social.scores import classification_metrics, cohen_kappa

VADER_THRESHOLD = 0.05  # the VADER authors' cut-off on the compound score
# The emoji-labelled sets are small (hundreds of posts): a smaller from-scratch encoder,
# trained for more epochs, does better than the relevance configuration.
SMALL_DATA_TRANSFORMER = {
    "d": 64,
    "heads": 2,
    "layers": 1,
    "max_len": 40,
    "vocab_size": 2000,
    "epochs": 30,
    "lr": 2e-3,
    "dropout": 0.2,
}


@lru_cache(maxsize=1)
def _vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_compound(texts) -> np.ndarray:
    """VADER compound score in [-1, 1] for each text."""
    an = _vader()
    return np.array([an.polarity_scores(str(t))["compound"] for t in texts], dtype=float)


def vader_label(compound, threshold: float = VADER_THRESHOLD) -> list[str]:
    c = np.asarray(compound, float)
    return np.where(
        c >= threshold, "positive", np.where(c <= -threshold, "negative", "neutral")
    ).tolist()


def add_distant_labels(df: pd.DataFrame) -> pd.DataFrame:
    """Columns ``emoji_label`` (positive/negative/None from ``text_raw``) and
    ``text_clean`` (normalised text with emoji and emoticons removed)."""
    raw = df["text_raw"] if "text_raw" in df else df["text"]
    return df.assign(
        emoji_label=[T.emoji_label(t) for t in raw],
        text_clean=[T.strip_emoji(t) for t in df["text"]],
    )


def add_vader(df: pd.DataFrame, col: str = "text") -> pd.DataFrame:
    comp = vader_compound(df[col])
    return df.assign(vader=comp, vader_label=vader_label(comp))


def class_balance(labels) -> dict:
    s = pd.Series(list(labels)).dropna()
    return {str(k): int(v) for k, v in s.value_counts().sort_index().items()}


def evaluate_split(
    train: pd.DataFrame,
    test: pd.DataFrame,
    models="transformer,embed",
    model_kwargs: dict | None = None,
    log=None,
) -> list[dict]:
    """Train each model on ``train``'s distant labels, score on ``test``.

    Both frames need ``add_distant_labels`` and ``add_vader`` applied.
    """
    model_kwargs = model_kwargs or {}
    tr = train.dropna(subset=["emoji_label"])
    tr = tr[tr["text_clean"].str.len() > 0]
    te = test.dropna(subset=["emoji_label"])
    te = te[te["text_clean"].str.len() > 0]
    # VADER on the emoji-free text, against the emoji labels (its non-neutral calls)
    v = te[te["vader_label"] != "neutral"]
    base = {
        "train_event": ",".join(sorted(train["event"].unique())),
        "test_event": ",".join(sorted(test["event"].unique())),
        "train_balance": class_balance(tr["emoji_label"]),
        "test_balance": class_balance(te["emoji_label"]),
    }
    rows = [
        base
        | {"model": "vader", "n_train": 0, "coverage": len(v) / max(1, len(te))}
        | classification_metrics(v["emoji_label"], v["vader_label"], positive="positive")
    ]
    if tr["emoji_label"].nunique() < 2 or te.empty:
        if log:
            log(f"skip {base['train_event']} -> {base['test_event']}: too few labelled posts")
        return rows
    for name in resolve_models(models):
        kw = model_kwargs.get(name, {})
        if name == "transformer":
            kw = SMALL_DATA_TRANSFORMER | kw
        clf = make_model(name, **kw)
        clf.fit(tr["text_clean"].tolist(), tr["emoji_label"].tolist())
        pred = clf.predict(te["text_clean"].tolist())
        row = base | {"model": name, "n_train": len(tr), "coverage": 1.0}
        row |= classification_metrics(te["emoji_label"], pred, positive="positive")
        # agreement with VADER on every post of the test event where VADER is not neutral
        allp = test[test["vader_label"] != "neutral"]
        pa = clf.predict(allp["text_clean"].tolist()) if len(allp) else []
        row["vader_agreement"] = (
            float(np.mean(np.array(pa) == allp["vader_label"].to_numpy()))
            if len(allp)
            else float("nan")
        )
        row["vader_kappa"] = cohen_kappa(allp["vader_label"], pa)
        row["predicted_positive_share"] = (
            float(np.mean(np.array(pa) == "positive")) if len(allp) else float("nan")
        )
        rows.append(row)
        if log:
            log(
                f"{name:12s} {row['train_event']} -> {row['test_event']}: acc "
                f"{row['accuracy']:.3f} macro-F1 {row['macro_f1']:.3f} "
                f"F1(pos) {row['f1']:.3f}  VADER agreement {row['vader_agreement']:.3f}"
            )
    return rows


def leave_one_event_out(
    df: pd.DataFrame,
    models="transformer,embed",
    events=None,
    model_kwargs=None,
    min_labelled: int = 10,
    log=None,
) -> list[dict]:
    """For each event: train on all other events' emoji-labelled posts, test on it."""
    df = add_vader(add_distant_labels(df), col="text_clean")
    events = events or sorted(df["event"].unique())
    rows = []
    for ev in events:
        test, train = df[df["event"] == ev], df[df["event"] != ev]
        if test["emoji_label"].notna().sum() < min_labelled or train.empty:
            if log:
                log(f"skip {ev}: fewer than {min_labelled} emoji-labelled posts")
            continue
        rows += evaluate_split(train, test, models, model_kwargs, log=log)
    return rows


def sentiment_markdown(rows: list[dict]) -> str:
    lines = [
        "# Sentiment: emoji distant supervision, held-out event",
        "",
        (
            "Labels: emoji/emoticons (removed from the text before training). VADER row: "
            "VADER on the emoji-free text, scored where it is not neutral (coverage = that "
            "share). VADER agreement: share of the test event's VADER-non-neutral posts "
            "where the model agrees."
        ),
        "",
        (
            "| model | train | test | train balance | test balance | n scored | accuracy | "
            "macro-F1 | F1 pos | VADER agreement | kappa |"
        ),
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:

        def bal(d):
            return ", ".join(f"{k} {v}" for k, v in d.items())

        lines.append(
            f"| {r['model']} | {r['train_event']} | {r['test_event']} | "
            f"{bal(r['train_balance']) if r['n_train'] else '-'} | {bal(r['test_balance'])} | "
            f"{r['n']} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r.get('f1', float('nan')):.3f} | "
            f"{r.get('vader_agreement', float('nan')):.3f} | {r.get('vader_kappa', float('nan')):.3f} |"
        )
    return "\n".join(lines) + "\n"


def run(
    df: pd.DataFrame, out_dir, models="transformer,embed", events=None, model_kwargs=None, log=None
) -> list[dict]:
    rows = leave_one_event_out(df, models, events, model_kwargs, log=log)
    with atomic_dir(out_dir) as tmp:
        Path(tmp, "sentiment.json").write_text(json.dumps(rows, indent=2, default=float))
        Path(tmp, "sentiment.md").write_text(sentiment_markdown(rows))
    return rows
