import json

import numpy as np
import pandas as pd
import pytest

from floodcast.social.report import auto_freq, build_report, time_series
from floodcast.social.scores import cohen_kappa, pearson
from floodcast.social.topics import fit_lda, topic_table


def test_pearson_hand_example():
    # x = 1..5, y = 2,4,5,4,5: r = 6 / sqrt(10 * 6) = 0.7745967
    assert pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]) == pytest.approx(0.7745967, abs=1e-6)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(pearson([1, 2], [1, 2]))  # too few points
    assert np.isnan(pearson([1, 1, 1], [1, 2, 3]))  # constant
    assert pearson([1, 2, np.nan, 4], [1, 2, 3, 4]) == pytest.approx(1.0)  # NaN pairs dropped


def test_cohen_kappa():
    assert cohen_kappa(list("aabb"), list("aabb")) == pytest.approx(1.0)
    assert cohen_kappa(list("aabb"), list("abab")) == pytest.approx(0.0)


def _posts(event, start, n_days, per_day, pos_share):
    """Posts per day with an exact share positive (the first round(share * n) of a day)."""
    rows = []
    for d in range(n_days):
        for i in range(per_day[d]):
            pos = i < round(pos_share[d] * per_day[d])
            rows.append(
                {
                    "event": event,
                    "time": pd.Timestamp(start, tz="UTC") + pd.Timedelta(days=d, minutes=i),
                    "text": (
                        "so happy and safe, thanks volunteers"
                        if pos
                        else "the flood destroyed our street, terrible"
                    )
                    + f" {d} {i}",
                    "is_reply": bool(i % 4 == 0),
                    "time_source": "snowflake",
                    "info_type": "Sympathy and support" if pos else "Affected individuals",
                }
            )
    return pd.DataFrame(rows)


def test_time_series_bins_and_shares():
    df = _posts("e", "2013-06-20", 3, [10, 20, 4], [0.5, 0.25, 1.0])
    df["vader"] = np.where(df["text"].str.contains("happy"), 0.8, -0.6)
    s = time_series(df, "D", min_posts=5)
    assert s["volume"].tolist() == [10, 20, 4]
    assert np.isnan(s["share_positive"].iloc[2])  # fewer than 5 posts
    assert s["share_positive"].iloc[:2].tolist() == [0.5, 0.25]
    assert s["volume_no_replies"].tolist() == [7, 15, 3]
    times = pd.Series(pd.date_range("2013-01-01", periods=20, freq="D", tz="UTC"))
    assert auto_freq(times) == "D"
    assert auto_freq(times[:3]) == "6h"


def test_lda_topics():
    texts = ["river flood water bridge"] * 10 + ["donate money relief volunteers"] * 10
    tm = fit_lda(texts, n_topics=2, seed=0)
    assert tm.n_topics == 2
    tops = {frozenset(w[:4]) for w in tm.top_words}
    assert frozenset({"river", "flood", "water", "bridge"}) in tops
    t = topic_table(tm, np.r_[np.full(10, -0.5), np.full(10, 0.5)])
    assert sorted(t["posts"]) == [10, 10] and sorted(t["share_positive"]) == [0.0, 1.0]
    assert fit_lda(["a", "b"], n_topics=3).n_topics == 0  # no vocabulary: no crash


def test_build_report_writes_everything(tmp_path):
    # volume up -> share positive down in event a; the reverse in b
    a = _posts(
        "a",
        "2013-06-20",
        8,
        [10, 40, 30, 20, 15, 12, 10, 8],
        [0.8, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.8],
    )
    b = _posts(
        "b",
        "2013-01-20",
        8,
        [8, 10, 12, 30, 25, 10, 8, 8],
        [0.3, 0.3, 0.4, 0.8, 0.7, 0.4, 0.3, 0.3],
    )
    s = build_report(pd.concat([a, b], ignore_index=True), tmp_path / "rep", freq="D", n_topics=2)
    out = tmp_path / "rep"
    for f in (
        "report.md",
        "summary.json",
        "timeseries.csv",
        "info_types.csv",
        "topics.csv",
        "volume_a.png",
        "volume_b.png",
        "volume_vs_positive.png",
        "sentiment_by_info_type.png",
    ):
        assert (out / f).is_file(), f
    c = s["correlation"]
    assert c["per_event"]["a"]["all"] < -0.8 and c["per_event"]["b"]["all"] > 0.8
    vol = [10, 40, 30, 20, 15, 12, 10, 8, 8, 10, 12, 30, 25, 10, 8, 8]
    share = [0.8, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.8, 0.3, 0.3, 0.4, 0.8, 0.7, 0.4, 0.3, 0.3]
    exact = [round(s * v) / v for s, v in zip(share, vol, strict=False)]
    assert c["pooled"]["all"] == pytest.approx(pearson(vol, exact), abs=1e-9)
    assert c["pooled"]["bins"] == 16
    assert json.loads((out / "summary.json").read_text())["events"]["a"]["posts"] == len(a)
    md = (out / "report.md").read_text()
    assert "Pooled over all events' time bins (16 bins)" in md
    assert "| Sympathy and support |" in md
    assert s["events"]["a"]["share_positive"] == pytest.approx(
        (a["text"].str.contains("happy")).mean()
    )


def test_report_uses_predicted_types_for_unlabelled_posts(tmp_path):
    import pandas as pd

    from floodcast.social.report import build_report, predict_types

    words = {
        "Caution and advice": "warning evacuate now stay away",
        "Donations and volunteering": "donate volunteer help relief",
    }
    train = pd.DataFrame(
        {
            "text": [f"{w} {i}" for i in range(10) for w in words.values()],
            "label": "on-topic",
            "info_type": [t for _ in range(10) for t in words],
        }
    )
    posts = pd.DataFrame(
        {
            "post_id": ["1", "2", "3"],
            "event": "e",
            "time": pd.to_datetime(["2013-06-20T10:00Z", "2013-06-20T11:00Z", "2013-06-20T12:00Z"]),
            "time_source": "column",
            "text": ["please evacuate now", "donate to relief", "warning issued"],
            "text_raw": "x",
            "is_reply": False,
            "label": None,
            "info_type": [None, None, "Caution and advice"],
        }
    )
    typed = predict_types(posts, train)
    assert typed["info_type"].tolist() == [
        "Caution and advice",
        "Donations and volunteering",
        "Caution and advice",
    ]
    assert typed["info_type_source"].tolist() == ["predicted", "predicted", "label"]
    build_report(posts, tmp_path / "r", n_topics=1, plots=False, types_train=train)
    md = (tmp_path / "r" / "report.md").read_text()
    assert "| Caution and advice | 2 | 1 |" in md
