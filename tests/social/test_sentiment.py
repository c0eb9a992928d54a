import json

import numpy as np
import pandas as pd

from floodcast.social import sentiment as S

POS = [
    "so glad everyone is safe",
    "thank you volunteers, amazing work",
    "love this city",
    "great news the water is going down",
    "happy to be home again",
    "proud of our town",
]
NEG = [
    "lost everything in the flood",
    "so sad about the damage",
    "terrible news tonight",
    "our house is ruined",
    "scared of the rising water",
    "awful day for everyone",
]


def _event(name, n, seed):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        pos = rng.random() < 0.6
        base = (POS if pos else NEG)[rng.integers(6)]
        mark = rng.choice([":)", "😊", "❤️"]) if pos else rng.choice([":(", "😢", "😭"])
        raw = f"{base} {mark}" if rng.random() < 0.8 else base  # some posts carry no emoji
        rows.append({"event": name, "text": raw, "text_raw": raw, "is_reply": bool(i % 5 == 0)})
    return pd.DataFrame(rows)


def test_vader_baseline():
    c = S.vader_compound(["I love this, great!", "this is terrible and sad", "the bus is red"])
    assert c[0] > 0.5 and c[1] < -0.5 and c[2] == 0
    assert S.vader_label(c) == ["positive", "negative", "neutral"]


def test_distant_labels_remove_emoji():
    df = S.add_distant_labels(_event("a", 20, 0))
    lab = df.dropna(subset=["emoji_label"])
    assert len(lab) > 0 and set(lab["emoji_label"]) <= {"positive", "negative"}
    assert not df["text_clean"].str.contains(r":\)|:\(|😊|😢|😭|❤", regex=True).any()
    assert S.class_balance(["positive", "negative", "positive", None]) == {
        "negative": 1,
        "positive": 2,
    }


def test_leave_one_event_out_with_tfidf(tmp_path):
    df = pd.concat([_event("a", 150, 1), _event("b", 150, 2)], ignore_index=True)
    rows = S.run(df, tmp_path / "sent", models="tfidf")
    assert [(r["model"], r["test_event"]) for r in rows] == [
        ("vader", "a"),
        ("tfidf", "a"),
        ("vader", "b"),
        ("tfidf", "b"),
    ]
    for r in rows:
        assert r["accuracy"] > 0.9, r
        assert sum(r["test_balance"].values()) > 100
    assert rows[1]["vader_agreement"] > 0.8
    saved = json.loads((tmp_path / "sent" / "sentiment.json").read_text())
    assert len(saved) == 4
    assert "| tfidf | b | a |" in (tmp_path / "sent" / "sentiment.md").read_text()


def test_too_few_labels_is_skipped_not_fatal():
    df = pd.concat([_event("a", 30, 1), _event("b", 3, 2)], ignore_index=True)
    rows = S.leave_one_event_out(df, models="tfidf", min_labelled=10)
    assert {r["test_event"] for r in rows} == {"a"}
