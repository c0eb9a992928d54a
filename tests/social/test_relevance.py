import json

import pytest

from floodcast.social import relevance
from floodcast.social.relevance import load_labelled, relevance_label


def test_label_mapping():
    assert relevance_label(" on-topic") == "on-topic"
    assert relevance_label("off-topic") == "off-topic"
    assert relevance_label("Related and informative") == "on-topic"
    assert relevance_label("Not related") == "off-topic"
    assert relevance_label("Not applicable") is None and relevance_label(None) is None


def test_cross_event_both_ways_writes_metrics(tmp_path, t6_pair):
    rows = relevance.run(
        [t6_pair[0]],
        [t6_pair[1]],
        tmp_path / "rel",
        models="tfidf",
        ingest_kwargs={"languages": None},
    )
    assert [(r["model"], r["train_event"], r["test_event"]) for r in rows] == [
        ("majority", "2013_alpha_floods", "2013_beta_floods"),
        ("majority", "2013_beta_floods", "2013_alpha_floods"),
        ("tfidf", "2013_alpha_floods", "2013_beta_floods"),
        ("tfidf", "2013_beta_floods", "2013_alpha_floods"),
    ]
    assert all(r["f1"] > 0.9 and r["mcc"] > 0.8 for r in rows if r["model"] == "tfidf")
    assert all(r["macro_f1"] < 0.5 for r in rows if r["model"] == "majority")
    saved = json.loads((tmp_path / "rel" / "metrics.json").read_text())
    assert saved[0]["n_train"] == rows[0]["n_train"] == 160
    assert set(saved[2]["f1_per_class"]) == {"on-topic", "off-topic"}
    assert (
        "| tfidf | 2013_alpha_floods | 2013_beta_floods |"
        in (tmp_path / "rel" / "metrics.md").read_text()
    )


def test_self_training_adds_rows(t6_pair):
    a = load_labelled(t6_pair[0], languages=None)
    b = load_labelled(t6_pair[1], languages=None)
    rows = relevance.cross_event(a, b, "tfidf", both_ways=False, adapt=True)
    assert [r["model"] for r in rows] == ["majority", "tfidf", "tfidf+self-train"]
    assert 0 < rows[2]["pseudo_labelled"] <= len(b)
    assert rows[2]["f1"] >= 0.9


def test_unlabelled_input_is_refused(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("id,text\n1,the river is flooding\n2,water in the street now\n")
    with pytest.raises(ValueError, match="no usable on-topic/off-topic labels"):
        relevance.run([p], [p], tmp_path / "out", models="tfidf")
    assert not (tmp_path / "out").exists()


@pytest.mark.shared_data
def test_real_t6_tfidf_cross_event_smoke(shared_data):
    """Quick real-data check: TF-IDF, 1500 posts per event, both directions."""
    d = shared_data / "social" / "CrisisLexT6"
    a = load_labelled(d / "2013_Alberta_Floods-ontopic_offtopic.csv", languages=None)
    b = load_labelled(d / "2013_Queensland_Floods-ontopic_offtopic.csv", languages=None)
    assert len(a) > 6000 and len(b) > 6000
    assert set(a["time_source"]) == {"snowflake"} and a["time"].dt.year.eq(2013).all()
    rows = relevance.cross_event(
        a.sample(1500, random_state=0), b.sample(1500, random_state=0), "tfidf"
    )
    assert all(r["f1"] > 0.6 for r in rows if r["model"] != "majority"), rows
