import csv
import json

import pytest

from floodcast.social import lofo
from floodcast.social.floods import discover, info_type_label, leave_one_flood_out, load_sets
from floodcast.social.lofo_report import run_lofo

from .conftest import PLACES_A, PLACES_B, make_posts, write_t6_csv

TYPES = ["Affected individuals", "Caution and advice", "Donations and volunteering"]
TYPE_WORDS = {
    "Affected individuals": "people trapped and homes lost",
    "Caution and advice": "warning stay away evacuate now",
    "Donations and volunteering": "donate and volunteer to help",
}


def write_t26(path, rows, seed: int):
    """T26 layout (leading spaces in the header); info type follows the text."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write("Tweet ID, Tweet Text, Information Source, Information Type, Informativeness\n")
        w = csv.writer(fh)
        for i, (pid, text, label) in enumerate(rows):
            t = TYPES[(i + seed) % 3]
            if label == "on-topic":
                w.writerow([pid, f"{text} {TYPE_WORDS[t]}", "Media", t, "Related and informative"])
            else:
                w.writerow([pid, text, "Outsiders", "Not applicable", "Not related"])
    return path


@pytest.fixture
def crisislex(tmp_path):
    t6, t26 = tmp_path / "CrisisLexT6", tmp_path / "CrisisLexT26"
    t6.mkdir()
    t26.mkdir()
    write_t6_csv(t6 / "2013_Alpha_Floods-ontopic_offtopic.csv", make_posts(80, PLACES_A, "yyc", 1))
    write_t26(
        t26 / "2013_Alpha_floods-tweets_labeled.csv",
        make_posts(60, PLACES_A, "yyc", 3, start_id=349_000_000_000_000_000),
        0,
    )
    write_t26(
        t26 / "2013_Beta_floods-tweets_labeled.csv",
        make_posts(60, PLACES_B, "qld", 4, start_id=296_000_000_000_000_000),
        1,
    )
    write_t26(
        t26 / "2013_Gamma_floods-tweets_labeled.csv",
        make_posts(60, PLACES_B, "sar", 5, start_id=297_000_000_000_000_000),
        2,
    )
    (t26 / "2013_Beta_floods-event_description.json").write_text(
        json.dumps({"location": {"country": "Australia"}})
    )
    return tmp_path


def test_discover_and_flood_splits(crisislex):
    sets = discover(crisislex)
    assert [s.name for s in sets] == [
        "T6/2013_alpha_floods",
        "T26/2013_alpha_floods",
        "T26/2013_beta_floods",
        "T26/2013_gamma_floods",
    ]
    assert sets[2].country == "Australia" and sets[0].country is None
    df = load_sets(sets, languages=None)
    splits = list(leave_one_flood_out(df))
    assert len(splits) == 4
    for name, train, test in splits:
        # the same flood's T6 and T26 posts never sit on both sides
        assert not set(train["flood"]) & set(test["flood"])
        assert not set(train["dataset"]) & {name}
    train = {n: tr for n, tr, _ in splits}["T6/2013_alpha_floods"]
    assert "T26/2013_alpha_floods" not in set(train["dataset"])
    assert info_type_label(" caution and ADVICE") == "Caution and advice"
    assert info_type_label("Not applicable") is None


def test_lofo_rows_have_majority_first_and_all_metrics(crisislex):
    df = load_sets(discover(crisislex), languages=None)
    rows, preds = lofo.evaluate(df, "relevance", "tfidf", adapt=True)
    assert [r["model"] for r in rows[:4]] == [
        "majority",
        "majority-of-test",
        "tfidf",
        "tfidf+self-train",
    ]
    assert len(rows) == 4 * 4
    for r in rows:
        assert {"macro_f1", "mcc", "f1_per_class", "confusion"} <= set(r)
        assert set(r["f1_per_class"]) == {"on-topic", "off-topic"}
        assert len(preds[(r["dataset"], r["model"])]) == r["n_test"]
    # the templated posts are easy: every model beats the majority class on macro-F1
    maj = {r["dataset"]: r["macro_f1"] for r in rows if r["model"] == "majority"}
    assert all(r["macro_f1"] > maj[r["dataset"]] for r in rows if r["model"] == "tfidf")


def test_run_lofo_types_writes_tables(crisislex, tmp_path):
    rows = run_lofo(crisislex, tmp_path / "out", "types", ["tfidf"], adapt=False)
    assert {r["dataset"] for r in rows} == {
        "T26/2013_alpha_floods",
        "T26/2013_beta_floods",
        "T26/2013_gamma_floods",
    }  # T26 only
    md = (tmp_path / "out" / "lofo.md").read_text()
    assert "| T26/2013_beta_floods |" in md and "Confusion matrix" in md
    saved = json.loads((tmp_path / "out" / "lofo.json").read_text())
    assert len(saved["rows"]) == 9
    assert sum(map(sum, saved["rows"][2]["confusion"])) == saved["rows"][2]["n_test"]


def test_dataset_weights_balance_datasets():
    assert lofo.dataset_weights(["a", "a", "b"]).tolist() == [0.75, 0.75, 1.5]
    with pytest.raises(ValueError, match="balancing needs"):
        lofo.fit_predict("transformer", ["x"], ["y"], ["x"], weights=[1.0])


def test_missing_data_folder_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no CrisisLex"):
        discover(tmp_path)


@pytest.mark.shared_data
def test_real_crisislex_has_six_datasets_over_four_floods(shared_data):
    sets = discover(shared_data)
    assert len(sets) == 6 and len({s.flood for s in sets}) == 4
    assert {s.country for s in sets} == {"Canada", "Australia", "Phillipines", "Italy"}


def test_lofo_cli(crisislex, tmp_path):
    from typer.testing import CliRunner

    from floodcast.cli import app

    out = tmp_path / "cli"
    r = CliRunner().invoke(
        app,
        [
            "social",
            "lofo",
            str(crisislex),
            "--task",
            "relevance",
            "--model",
            "tfidf",
            "--no-adapt",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "majority-of-test" in (out / "lofo.md").read_text()
    r = CliRunner().invoke(
        app, ["social", "lofo", str(crisislex), "--task", "sentiment", "--out", str(out)]
    )
    assert r.exit_code == 2 and "--task must be relevance or types" in r.output
    r = CliRunner().invoke(app, ["social", "lofo", str(tmp_path / "none"), "--out", str(out)])
    assert r.exit_code == 1 and "no CrisisLex" in r.output
