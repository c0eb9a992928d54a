import json

from typer.testing import CliRunner

from floodcast.cli import app

runner = CliRunner()


def test_ingest_cli_counts_and_writes(tmp_path, t6_pair):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(
        b"id,text,extra\n1,the river flooded our road today,x\n2,a,b,c,d\n"
        b"3,\xff\xfe broken,x\n4,,x\n"
    )
    out = tmp_path / "posts.jsonl"
    summary = tmp_path / "summary.json"
    r = runner.invoke(
        app,
        [
            "social",
            "ingest",
            str(t6_pair[0]),
            str(bad),
            "--out",
            str(out),
            "--lang",
            "any",
            "--summary-json",
            str(summary),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "1 malformed, 1 empty, 1 non-UTF-8" in r.output
    assert "ignored unknown columns in bad.csv: extra" in r.output
    s = json.loads(summary.read_text())
    assert s["kept"] == 161 and s["skipped"] == {"malformed": 1, "empty": 1, "non_utf8": 1}
    assert len(out.read_text().splitlines()) == 161


def test_ingest_cli_bad_arguments(tmp_path, t6_pair):
    r = runner.invoke(app, ["social", "ingest", str(t6_pair[0]), "--out", str(tmp_path / "x.xls")])
    assert r.exit_code == 2 and "--out must end in" in r.output
    r = runner.invoke(
        app, ["social", "ingest", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "x.csv")]
    )
    assert r.exit_code == 2 and "input not found" in r.output


def test_relevance_cli(tmp_path, t6_pair):
    out = tmp_path / "rel"
    r = runner.invoke(
        app,
        [
            "social",
            "relevance",
            "--train",
            str(t6_pair[0]),
            "--test",
            str(t6_pair[1]),
            "--model",
            "tfidf",
            "--out",
            str(out),
            "--lang",
            "any",
            "--no-adapt",
        ],
    )
    assert r.exit_code == 0, r.output
    assert [m["model"] for m in json.loads((out / "metrics.json").read_text())] == [
        "majority"
    ] * 2 + ["tfidf"] * 2
    r = runner.invoke(
        app,
        [
            "social",
            "relevance",
            "--train",
            str(t6_pair[0]),
            "--test",
            str(t6_pair[1]),
            "--model",
            "bert",
            "--out",
            str(out),
        ],
    )
    assert r.exit_code == 2 and "choose from: all, embed, tfidf, transformer" in r.output


def test_report_and_sentiment_cli(tmp_path, t6_pair):
    posts = tmp_path / "posts.parquet"
    r = runner.invoke(
        app, ["social", "ingest", *map(str, t6_pair), "--out", str(posts), "--lang", "any"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["social", "report", str(posts), "--out", str(tmp_path / "rep"), "--topics", "3"]
    )
    assert r.exit_code == 0, r.output
    assert "Pearson(volume, share positive)" in r.output
    assert (tmp_path / "rep" / "report.md").is_file()
    assert (tmp_path / "rep" / "volume_vs_positive.png").is_file()
    # generated posts carry no emoji: every event is skipped, the run still succeeds
    r = runner.invoke(
        app, ["social", "sentiment", str(posts), "--out", str(tmp_path / "s"), "--model", "tfidf"]
    )
    assert r.exit_code == 0, r.output
    assert "skip 2013_alpha_floods" in r.output
