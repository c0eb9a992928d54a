import json

import pandas as pd
import pytest

from floodcast.social.ingest import ingest, load_posts
from floodcast.social.records import (
    canonical_column,
    event_from_filename,
    read_posts,
    write_posts,
)

from .conftest import write_jsonl


def test_headers_and_event_names():
    assert canonical_column(" Tweet Text") == "text"
    assert canonical_column("tweet id") == "id"
    assert canonical_column(" Information Type") == "info_type"
    assert canonical_column("favourite_colour") is None
    assert event_from_filename("2013_Alberta_Floods-ontopic_offtopic.csv") == "2013_alberta_floods"
    assert event_from_filename("x/2013_Alberta_floods-tweets_labeled.csv") == "2013_alberta_floods"


def test_crisislex_t26_layout_dedup_and_retweets(tmp_path):
    p = tmp_path / "2013_Test_floods-tweets_labeled.csv"
    p.write_text(
        "Tweet ID, Tweet Text, Information Source, Information Type, Informativeness\n"
        '"348000000000000001","Water over the bridge in town, roads closed",Eyewitness,'
        "Infrastructure and utilities,Related and informative\n"
        '"348000000000000002","RT @news: Water over the bridge",Media,Caution and advice,'
        "Related and informative\n"
        '"348000000000000001","Water over the bridge in town, roads closed",Eyewitness,'
        "Infrastructure and utilities,Related and informative\n"  # same id
        '"348000000000000003","Water over the bridge in town, roads closed http://t.co/a",'
        "Media,Other Useful Information,Related and informative\n"  # same text after URL
        '"348000000000000004","@mayor the river is rising near our house",Eyewitness,'
        "Affected individuals,Related and informative\n",
        encoding="utf-8",
    )
    df, st = ingest([p])
    # one duplicate id, one duplicate text (same post, other t.co link), one retweet
    assert (st.rows_read, st.kept, st.duplicates, st.retweets) == (5, 2, 2, 1)
    assert list(df["event"].unique()) == ["2013_test_floods"]
    assert df["info_type"].tolist() == ["Infrastructure and utilities", "Affected individuals"]
    assert df["is_reply"].tolist() == [False, True]
    assert set(df["reply_source"]) == {"text"} and set(df["time_source"]) == {"snowflake"}
    assert df["time"].dt.year.tolist() == [2013, 2013]
    kept, _ = ingest([p], keep_retweets=True)
    assert len(kept) == 3 and kept["is_retweet"].sum() == 1


def test_bad_rows_are_counted_never_fatal(tmp_path):
    p = tmp_path / "bad.csv"
    good = "the river flooded the whole street tonight"
    p.write_bytes(
        b"id,text,label,mood\n"
        + f"1,{good} 1,on-topic,x\n".encode()
        + b"2,too,many,fields,here,really\n"  # malformed
        + b"3,,on-topic,x\n"  # empty text
        + b"4,caf\xe9 flooded \xff\xfe badly,on-topic,x\n"  # non-UTF-8 bytes
        + b"5,http://t.co/abc,off-topic,x\n"  # nothing left but a URL
        + b"6,Alluvione a Olbia: strade chiuse e case allagate stanotte,on-topic,x\n"
        + f"7,{good} 7,on-topic,x\n".encode()
        + b"\n"
    )
    df, st = ingest([p], event="test")
    assert len(df) == 2 and df["post_id"].tolist() == ["1", "7"]
    assert st.rows_read == 7
    assert dict(st.skipped) == {"malformed": 1, "empty": 2, "non_utf8": 1}
    assert st.non_english == 1
    assert st.unknown_columns == {str(p): ["mood"]}
    assert "1 malformed, 2 empty, 1 non-UTF-8" in st.summary()
    # every language kept on request
    df_any, st_any = ingest([p], event="test", languages=None)
    assert len(df_any) == 3 and st_any.non_english == 0


def test_unusable_files_are_skipped(tmp_path):
    no_text = tmp_path / "no_text.csv"
    no_text.write_text("id,colour\n1,red\n")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    df, st = ingest([no_text, empty, tmp_path / "missing.csv"])
    assert df.empty and len(st.skipped_files) == 3
    assert "no text column" in st.skipped_files[str(no_text)]


def test_twitter_api_v2_jsonl(tmp_path):
    page = {
        "data": [
            {
                "id": "1212092628029698048",
                "text": "Flood water in the street, stay safe all",
                "created_at": "2019-12-31T19:26:16.000Z",
                "lang": "en",
            },
            {
                "id": "1212092628029698049",
                "text": "@city when will the road reopen after the flood?",
                "created_at": "2019-12-31T20:00:00.000Z",
                "in_reply_to_user_id": "123",
                "referenced_tweets": [{"type": "replied_to", "id": "1"}],
                "lang": "en",
            },
            {
                "id": "1212092628029698050",
                "text": "Flood water in the street (shared)",
                "referenced_tweets": [{"type": "retweeted", "id": "1"}],
                "lang": "en",
            },
        ],
        "includes": {},
        "meta": {"result_count": 3},
    }
    single = {
        "id": "1212092628029698051",
        "text": "the dam is holding, the river is falling",
        "lang": "en",
    }
    long = {
        "data": {
            "id": "5",
            "text": "truncated…",
            "note_tweet": {"text": "the full long text about the flood relief"},
        },
        "matching_rules": [],
    }
    p = write_jsonl(tmp_path / "stream.jsonl", [page, single, long])
    with open(p, "ab") as fh:
        fh.write(b"{not json\n")
        fh.write(b'{"id": "9", "text": "bad \xff bytes"}\n')
        fh.write(b"[1, 2]\n")
    df, st = ingest([p], event="storm")
    assert df["post_id"].tolist() == [
        "1212092628029698048",
        "1212092628029698049",
        "1212092628029698051",
        "5",
    ]
    assert st.retweets == 1
    assert df["is_reply"].tolist() == [False, True, False, False]
    assert df["reply_source"].tolist() == ["text", "field", "text", "text"]  # no reply fields
    assert df["time_source"].tolist() == ["column", "column", "snowflake", "none"]
    assert df["text"].iloc[3] == "the full long text about the flood relief"
    assert st.skipped["malformed"] == 3 and st.skipped["non_utf8"] == 1


def test_single_json_document(tmp_path):
    p = tmp_path / "page.json"
    p.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "id": "1",
                        "text": "rain and flood on the coast road",
                        "created_at": "Wed Oct 10 20:19:24 +0000 2018",
                    }
                ]
            }
        )
    )
    df, _ = ingest([p], event="e")
    assert df["time"].iloc[0] == pd.Timestamp("2018-10-10T20:19:24Z")


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_write_read_roundtrip(tmp_path, suffix, t6_pair):
    df, _ = ingest([t6_pair[0]], languages=None)
    out = write_posts(df, tmp_path / f"posts{suffix}")
    back = read_posts(out)
    assert back["post_id"].tolist() == df["post_id"].tolist()
    assert back["text"].tolist() == df["text"].tolist()
    assert back["is_reply"].tolist() == df["is_reply"].tolist()
    assert (back["time"] == df["time"]).all()
    both, st = load_posts([out, t6_pair[1]], languages=None)  # a table plus a raw source
    assert len(both) == len(df) + st.kept and st.files == 1
