"""``floodcast social report``: per-event volume, sentiment, information types and topics,
plus the cross-event correlation between post volume and share positive.

Sentiment here is VADER's compound score on the normalised text (emoji kept: VADER reads
them); a post is positive when compound >= 0.05. Time bins: ``freq`` (pandas offset,
default chosen per event so it has at least ~8 bins). Share positive of a bin is taken
only over bins with at least ``min_posts`` posts; the correlation pools those
(event, bin) points over all events. "Without replies" recomputes both volume and share
positive on the posts that are not replies.
"""

# size: the per-event impact report: tables, maps and text of one document, written together.

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from floodcast.io.atomic import atomic_dir
from floodcast.social.scores import pearson
from floodcast.social.sentiment import VADER_THRESHOLD, vader_compound
from floodcast.social.topics import fit_lda, topic_table


def auto_freq(times: pd.Series) -> str:
    """Bin width giving at least ~8 bins over the event's time span."""
    t = pd.to_datetime(times, utc=True).dropna()
    if t.empty:
        return "D"
    span = (t.max() - t.min()) / pd.Timedelta(hours=1)
    for freq, hours in (("D", 24), ("6h", 6), ("h", 1)):
        if span / hours >= 8:
            return freq
    return "h"


def time_series(df: pd.DataFrame, freq: str | None = None, min_posts: int = 5) -> pd.DataFrame:
    """Per time bin: volume and share positive, for all posts and for non-replies."""
    d = df.dropna(subset=["time"])
    if d.empty:
        return pd.DataFrame(
            columns=[
                "time",
                "volume",
                "share_positive",
                "volume_no_replies",
                "share_positive_no_replies",
            ]
        )
    freq = freq or auto_freq(d["time"])
    g = d.set_index("time").sort_index()
    pos = (g["vader"] >= VADER_THRESHOLD).astype(float)
    nr = ~g["is_reply"].astype(bool)
    out = pd.DataFrame(
        {
            "volume": pos.resample(freq).size(),
            "positive": pos.resample(freq).sum(),
            "volume_no_replies": pos[nr].resample(freq).size(),
            "positive_no_replies": pos[nr].resample(freq).sum(),
        }
    ).fillna(0)
    out["share_positive"] = np.where(
        out["volume"] >= min_posts, out["positive"] / out["volume"].clip(lower=1), np.nan
    )
    out["share_positive_no_replies"] = np.where(
        out["volume_no_replies"] >= min_posts,
        out["positive_no_replies"] / out["volume_no_replies"].clip(lower=1),
        np.nan,
    )
    out = out.drop(columns=["positive", "positive_no_replies"]).reset_index()
    out["freq"] = freq
    return out


def info_type_table(df: pd.DataFrame) -> pd.DataFrame:
    """Sentiment by CrisisLex T26 information type (posts with a type only)."""
    d = df.dropna(subset=["info_type"])
    d = d[~d["info_type"].isin(["Not labeled"])]
    if d.empty:
        return pd.DataFrame(
            columns=[
                "info_type",
                "posts",
                "predicted",
                "mean_sentiment",
                "share_positive",
                "share_negative",
            ]
        )
    g = d.groupby("info_type")["vader"]
    pred = (
        (d["info_type_source"] == "predicted")
        if "info_type_source" in d
        else pd.Series(False, d.index)
    )
    return (
        pd.DataFrame(
            {
                "posts": g.size(),
                "predicted": pred.groupby(d["info_type"]).sum().astype(int),
                "mean_sentiment": g.mean(),
                "share_positive": g.apply(lambda s: float((s >= VADER_THRESHOLD).mean())),
                "share_negative": g.apply(lambda s: float((s <= -VADER_THRESHOLD).mean())),
            }
        )
        .reset_index()
        .sort_values("posts", ascending=False)
    )


@dataclass
class EventReport:
    event: str
    posts: int
    replies: int
    share_positive: float
    share_positive_no_replies: float
    mean_sentiment: float
    series: pd.DataFrame
    info_types: pd.DataFrame
    topics: pd.DataFrame
    time_sources: dict = field(default_factory=dict)


def event_report(df: pd.DataFrame, freq=None, min_posts=5, n_topics=6, seed=0) -> EventReport:
    pos = df["vader"] >= VADER_THRESHOLD
    nr = ~df["is_reply"].astype(bool)
    tm = fit_lda(df["text"].tolist(), n_topics=n_topics, seed=seed)
    return EventReport(
        event=str(df["event"].iloc[0]),
        posts=len(df),
        replies=int((~nr).sum()),
        share_positive=float(pos.mean()),
        share_positive_no_replies=float(pos[nr].mean()) if nr.any() else float("nan"),
        mean_sentiment=float(df["vader"].mean()),
        series=time_series(df, freq, min_posts),
        info_types=info_type_table(df),
        topics=topic_table(tm, df["vader"].to_numpy()),
        time_sources={str(k): int(v) for k, v in df["time_source"].value_counts().items()},
    )


def correlations(reports: list[EventReport]) -> dict:
    """Pearson(volume, share positive) pooled over events' bins, and per event."""
    if not reports:
        return {
            "pooled": {"all": float("nan"), "no_replies": float("nan"), "bins": 0},
            "per_event": {},
        }
    s = pd.concat([r.series.assign(event=r.event) for r in reports], ignore_index=True)
    out = {
        "pooled": {
            "all": pearson(s["volume"], s["share_positive"]),
            "no_replies": pearson(s["volume_no_replies"], s["share_positive_no_replies"]),
            "bins": int(s["share_positive"].notna().sum()),
        },
        "per_event": {},
    }
    for r in reports:
        out["per_event"][r.event] = {
            "all": pearson(r.series["volume"], r.series["share_positive"]),
            "no_replies": pearson(
                r.series["volume_no_replies"], r.series["share_positive_no_replies"]
            ),
            "bins": int(r.series["share_positive"].notna().sum()),
        }
    return out


def _fmt(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.3f}"


def _plots(reports: list[EventReport], corr: dict, folder: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    for r in reports:
        s = r.series
        if s.empty:
            continue
        fig, ax = plt.subplots(figsize=(8, 3.5))
        width = (s["time"].diff().median() if len(s) > 1 else pd.Timedelta("1D")) * 0.8
        ax.bar(s["time"], s["volume"], width=width, color="#9ecae1", label="posts")
        ax.set_ylabel("posts per bin")
        ax2 = ax.twinx()
        ax2.plot(s["time"], s["share_positive"], "o-", color="#d95f02", label="share positive")
        ax2.plot(
            s["time"],
            s["share_positive_no_replies"],
            "s--",
            color="#1b9e77",
            label="share positive (no replies)",
        )
        ax2.set_ylim(0, 1)
        ax2.set_ylabel("share positive (VADER)")
        ax.set_title(f"{r.event}: volume and sentiment ({s['freq'].iloc[0]} bins)")
        ax2.legend(loc="upper right", fontsize=8)
        fig.autofmt_xdate()
        fig.tight_layout()
        name = f"volume_{r.event}.png"
        fig.savefig(folder / name, dpi=100)
        plt.close(fig)
        names.append(name)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    for ax, (vcol, scol, title) in zip(
        axes,
        [
            ("volume", "share_positive", "all posts"),
            ("volume_no_replies", "share_positive_no_replies", "without replies"),
        ],
        strict=False,
    ):
        for r in reports:
            ax.scatter(r.series[vcol], r.series[scol], s=18, label=r.event)
        key = "all" if vcol == "volume" else "no_replies"
        ax.set_title(f"{title}: r = {_fmt(corr['pooled'][key])}")
        ax.set_xlabel("posts per bin")
    axes[0].set_ylabel("share positive")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "volume_vs_positive.png", dpi=100)
    plt.close(fig)
    names.append("volume_vs_positive.png")
    it = [r for r in reports if not r.info_types.empty]
    if it:
        fig, ax = plt.subplots(figsize=(9, 4))
        types = sorted({t for r in it for t in r.info_types["info_type"]})
        w = 0.8 / len(it)
        for i, r in enumerate(it):
            m = r.info_types.set_index("info_type")["share_positive"].reindex(types)
            ax.bar(np.arange(len(types)) + i * w, m.to_numpy(), width=w, label=r.event)
        ax.set_xticks(
            np.arange(len(types)) + 0.4 - w / 2, types, rotation=30, ha="right", fontsize=8
        )
        ax.set_ylabel("share positive (VADER)")
        ax.legend(fontsize=7)
        ax.set_title("Sentiment by information type (CrisisLex T26)")
        fig.tight_layout()
        fig.savefig(folder / "sentiment_by_info_type.png", dpi=100)
        plt.close(fig)
        names.append("sentiment_by_info_type.png")
    return names


def _markdown(reports, corr, plots, ingest_summary: str | None) -> str:
    L = [
        "# Social-media flood impact report",
        "",
        (
            "Sentiment: VADER compound on the normalised post text (positive >= 0.05). Time: "
            "the post's time field, else derived from the Twitter snowflake id. Replies: the "
            "API reply field, else text starting with '@'."
        ),
        "",
    ]
    if ingest_summary:
        L += ["## Input", "", "```", ingest_summary, "```", ""]
    L += [
        "## Across events",
        "",
        (
            "| event | posts | replies | share positive | share positive (no replies) | "
            "mean compound | Pearson vol~pos | Pearson vol~pos (no replies) | bins |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in reports:
        c = corr["per_event"].get(r.event, {})
        L.append(
            f"| {r.event} | {r.posts} | {r.replies} | {_fmt(r.share_positive)} | "
            f"{_fmt(r.share_positive_no_replies)} | {_fmt(r.mean_sentiment)} | "
            f"{_fmt(c.get('all'))} | {_fmt(c.get('no_replies'))} | {c.get('bins', 0)} |"
        )
    p = corr["pooled"]
    L += [
        "",
        (
            f"**Pooled over all events' time bins ({p['bins']} bins): Pearson(volume, share "
            f"positive) = {_fmt(p['all'])} with replies, {_fmt(p['no_replies'])} without.** "
            "(The original study reported -0.54 and -0.31 on its data.)"
        ),
        "",
    ]
    if "volume_vs_positive.png" in plots:
        L += ["![volume vs share positive](volume_vs_positive.png)", ""]
    if "sentiment_by_info_type.png" in plots:
        L += ["![sentiment by information type](sentiment_by_info_type.png)", ""]
    for r in reports:
        L += [
            f"## {r.event}",
            "",
            f"{r.posts} posts ({r.replies} replies); time from "
            + ", ".join(f"{k}: {v}" for k, v in r.time_sources.items())
            + ".",
            "",
        ]
        if f"volume_{r.event}.png" in plots:
            L += [f"![volume {r.event}](volume_{r.event}.png)", ""]
        if not r.info_types.empty:
            L += [
                (
                    "| information type | posts | of which predicted | mean compound | "
                    "share positive | share negative |"
                ),
                "|---|---:|---:|---:|---:|---:|",
            ]
            for _, t in r.info_types.iterrows():
                L.append(
                    f"| {t['info_type']} | {t['posts']} | {t['predicted']} | "
                    f"{_fmt(t['mean_sentiment'])} | "
                    f"{_fmt(t['share_positive'])} | {_fmt(t['share_negative'])} |"
                )
            L.append("")
        if not r.topics.empty:
            L += [
                "| topic | top words | posts | mean compound | share positive |",
                "|---:|---|---:|---:|---:|",
            ]
            for _, t in r.topics.iterrows():
                L.append(
                    f"| {t['topic']} | {t['top_words']} | {t['posts']} | "
                    f"{_fmt(t['mean_sentiment'])} | {_fmt(t['share_positive'])} |"
                )
            L.append("")
    return "\n".join(L) + "\n"


def predict_types(df: pd.DataFrame, train: pd.DataFrame, model: str = "tfidf") -> pd.DataFrame:
    """Posts without an information-type label get the type a classifier trained on
    ``train``'s labelled posts predicts (relevant posts only; see ``label_posts``);
    ``info_type_source`` says which are predicted."""
    from floodcast.social.labelling import label_posts

    lab = label_posts(df, train, model)
    pred = lab["type_source"] == "predicted"
    return df.assign(
        info_type=lab["type"].where(pred, lab["info_type"]), info_type_source=lab["type_source"]
    )


def build_report(
    df: pd.DataFrame,
    out_dir,
    freq=None,
    min_posts=5,
    n_topics=6,
    seed=0,
    ingest_summary: str | None = None,
    plots: bool = True,
    types_train: pd.DataFrame | None = None,
) -> dict:
    """Compute everything and write report.md, summary.json, CSV tables and PNG plots.

    ``types_train``: labelled posts; unlabelled posts then get predicted information
    types (:func:`predict_types`)."""
    if types_train is not None:
        df = predict_types(df, types_train)
    if "vader" not in df:
        df = df.assign(vader=vader_compound(df["text"]))
    reports = [
        event_report(g, freq, min_posts, n_topics, seed)
        for _, g in df.groupby("event", sort=True)
        if len(g)
    ]
    corr = correlations(reports)
    summary = {
        "events": {
            r.event: {
                "posts": r.posts,
                "replies": r.replies,
                "share_positive": r.share_positive,
                "share_positive_no_replies": r.share_positive_no_replies,
                "mean_sentiment": r.mean_sentiment,
            }
            for r in reports
        },
        "correlation": corr,
    }
    with atomic_dir(out_dir) as tmp:
        tmp = Path(tmp)
        names = _plots(reports, corr, tmp) if plots and reports else []
        frames = {
            "timeseries.csv": [r.series.assign(event=r.event) for r in reports],
            "info_types.csv": [r.info_types.assign(event=r.event) for r in reports],
            "topics.csv": [r.topics.assign(event=r.event) for r in reports],
        }
        for name, parts in frames.items():
            (pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()).to_csv(
                tmp / name, index=False
            )
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        (tmp / "report.md").write_text(_markdown(reports, corr, names, ingest_summary))
    return summary
