"""Read posts from CSV / JSONL into one clean table, counting everything that is dropped.

Sources understood:

* CSV with a header (CrisisLex T6 ``tweet id, tweet, label`` and T26 ``Tweet ID, Tweet
  Text, Information Source, Information Type, Informativeness`` -- headers with leading
  spaces and ids wrapped in quotes -- or any CSV with a recognisable text column);
* JSON Lines / JSON in the X/Twitter API v2 layout (one tweet object per line, or
  response pages ``{"data": [...], "includes": ...}``), and the older v1.1 objects.

Each row becomes a post with ``post_id, event, time, time_source, text, text_raw,
is_reply, reply_source, lang`` and the labels present in the source. Exact duplicates
(same id, or same normalised text -- links ignored -- within an event) and retweets are removed and counted;
bad rows (malformed, empty, non-UTF-8, non-English) are skipped and counted. A bad row
never stops the run: see :class:`~floodcast.social.records.IngestStats`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from floodcast.social import text as T
from floodcast.social.records import (
    POST_COLUMNS,
    IngestStats,
    canonical_column,
    event_from_filename,
    is_post_table,
    read_posts,
)


def _has_surrogates(s: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in s)


def _iter_csv(path: Path, stats: IngestStats) -> Iterator[dict]:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    data = raw.decode("utf-8", errors="surrogateescape")
    reader = csv.reader(io.StringIO(data, newline=""), skipinitialspace=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        stats.skip_file(path, "empty file or unreadable header")
        return
    cols = [canonical_column(h) for h in header]
    unknown = [h.strip() for h, c in zip(header, cols, strict=False) if c is None]
    if unknown:
        stats.unknown_columns[str(path)] = unknown
    if "text" not in cols:
        stats.skip_file(path, f"no text column among {[h.strip() for h in header]}")
        return
    n = len(header)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            stats.bad(path, reader.line_num, "malformed", str(exc))
            continue
        if not row or all(not f.strip() for f in row):
            continue  # blank line
        stats.rows_read += 1
        if len(row) != n:
            stats.bad(path, reader.line_num, "malformed", f"{len(row)} fields, header has {n}")
            continue
        yield {"_line": reader.line_num} | {
            c: v for c, v in zip(cols, row, strict=False) if c is not None
        }


def _tweet_from_api(obj: dict) -> dict:
    """Map one v2 (or v1.1) tweet object onto canonical fields."""
    rec: dict = {}
    rec["id"] = obj.get("id_str") or obj.get("id")
    note = obj.get("note_tweet") or {}
    rec["text"] = note.get("text") or obj.get("full_text") or obj.get("text")
    rec["time"] = obj.get("created_at")
    rec["lang"] = obj.get("lang")
    refs = obj.get("referenced_tweets") or []
    types = {r.get("type") for r in refs if isinstance(r, dict)}
    if refs or "in_reply_to_user_id" in obj or "in_reply_to_status_id" in obj:
        rec["is_reply"] = bool(
            "replied_to" in types
            or obj.get("in_reply_to_user_id")
            or obj.get("in_reply_to_status_id")
        )
    rec["is_retweet"] = "retweeted" in types or "retweeted_status" in obj
    return rec


def _iter_json(path: Path, stats: IngestStats) -> Iterator[dict]:
    """JSON Lines (one object per line), or one JSON document (page, list or tweet)."""
    raw = path.read_bytes()
    objs: list[tuple[int, object]] = []
    try:  # a whole JSON document?
        objs = [(1, json.loads(raw.decode("utf-8")))]
    except (UnicodeDecodeError, json.JSONDecodeError):
        for i, line in enumerate(raw.splitlines(), 1):
            if not line.strip():
                continue
            try:
                s = line.decode("utf-8")
            except UnicodeDecodeError:
                stats.rows_read += 1
                stats.bad(path, i, "non_utf8", "line is not valid UTF-8")
                continue
            try:
                objs.append((i, json.loads(s)))
            except json.JSONDecodeError as exc:
                stats.rows_read += 1
                stats.bad(path, i, "malformed", f"invalid JSON: {exc.msg}")
    for line, obj in objs:
        tweets = obj.get("data", []) if isinstance(obj, dict) and "data" in obj else obj
        if isinstance(tweets, dict):
            tweets = [tweets]
        if not isinstance(tweets, list):
            stats.rows_read += 1
            stats.bad(path, line, "malformed", "JSON value is not a tweet object")
            continue
        for t in tweets:
            stats.rows_read += 1
            if not isinstance(t, dict):
                stats.bad(path, line, "malformed", "JSON value is not a tweet object")
                continue
            rec = _tweet_from_api(t)
            for k, v in t.items():  # extra labelled fields (event, label ...) in our schema
                c = canonical_column(k)
                if c is not None and c not in rec:
                    rec[c] = v
            rec["_line"] = line
            yield rec


def _parse_time(v) -> tuple[pd.Timestamp | None, str]:
    if v is None or (isinstance(v, str) and not v.strip()):
        return None, "none"
    if isinstance(v, (int, float)):  # epoch seconds or ms
        unit = "ms" if v > 1e11 else "s"
        return pd.Timestamp(v, unit=unit, tz="UTC"), "column"
    s = str(v).strip()
    for fmt in (None, "%a %b %d %H:%M:%S %z %Y"):
        try:
            ts = pd.to_datetime(s, utc=True, format=fmt)
            if not pd.isna(ts):
                return ts, "column"
        except (ValueError, TypeError, OverflowError):
            continue
    return None, "none"


def _as_bool(v) -> bool | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "y", "t"):
        return True
    # anything else is a reply id / retweeted status id: present means True
    return s not in ("0", "false", "no", "n", "f", "")


def iter_records(path: Path, stats: IngestStats) -> Iterator[dict]:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return _iter_json(path, stats)
    return _iter_csv(path, stats)


def ingest(
    paths: Iterable[str | os.PathLike],
    event: str | None = None,
    keep_retweets: bool = False,
    languages: tuple[str, ...] | None = ("en",),
    stats: IngestStats | None = None,
) -> tuple[pd.DataFrame, IngestStats]:
    """Read, clean and deduplicate posts from ``paths``; returns (posts, stats).

    ``languages=None`` keeps every language; otherwise posts whose detected language is
    not listed are skipped (``'und'`` -- undeterminable, e.g. only hashtags -- is kept).
    """
    stats = stats or IngestStats()
    rows: list[dict] = []
    seen_ids: set[str] = set()
    seen_text: set[tuple[str, str]] = set()
    for p in map(Path, paths):
        if not p.is_file():
            stats.skip_file(p, "not a file")
            continue
        stats.files += 1
        ev_default = event or event_from_filename(p)
        try:
            records = iter_records(p, stats)
            for rec in records:
                line = rec.pop("_line", None)
                raw = rec.get("text")
                if raw is None or not str(raw).strip():
                    stats.bad(p, line, "empty", "no text")
                    continue
                raw = str(raw)
                if _has_surrogates(raw) or any(
                    isinstance(v, str) and _has_surrogates(v) for v in rec.values()
                ):
                    stats.bad(p, line, "non_utf8", "text is not valid UTF-8")
                    continue
                is_rt = _as_bool(rec.get("is_retweet")) or T.is_retweet_text(raw)
                if is_rt:
                    stats.retweets += 1
                    if not keep_retweets:
                        continue
                text = T.normalise(raw)
                if not any(ch.isalnum() for ch in text.replace("URL", "").replace("@USER", "")):
                    stats.bad(p, line, "empty", "no words after normalisation")
                    continue
                pid = str(rec.get("id") or "").strip().strip("'\"") or None
                ev = event or (str(rec["event"]).strip() if rec.get("event") else ev_default)
                if pid is not None:
                    if (ev, pid) in seen_ids:
                        stats.duplicates += 1
                        continue
                    seen_ids.add((ev, pid))
                key = (ev, _dedup_key(text))
                if key in seen_text:
                    stats.duplicates += 1
                    continue
                seen_text.add(key)
                ts, tsrc = _parse_time(rec.get("time"))
                if ts is None and pid is not None:
                    st = T.snowflake_time(pid)
                    if st is not None:
                        ts, tsrc = pd.Timestamp(st), "snowflake"
                reply = _as_bool(rec.get("is_reply"))
                rsrc = "field"
                if reply is None:
                    reply, rsrc = T.is_reply_text(raw), "text"
                rows.append(
                    {
                        "post_id": pid,
                        "event": ev,
                        "time": ts,
                        "time_source": tsrc,
                        "text": text,
                        "text_raw": raw,
                        "is_reply": bool(reply),
                        "reply_source": rsrc,
                        "is_retweet": bool(is_rt),
                        "lang": (str(rec["lang"]) if rec.get("lang") else None),
                        "label": _clean(rec.get("label")),
                        "info_type": _clean(rec.get("info_type")),
                        "info_source": _clean(rec.get("info_source")),
                        "informativeness": _clean(rec.get("informativeness")),
                        "source": p.name,
                    }
                )
        except OSError as exc:
            stats.skip_file(p, f"read error: {exc}")
    df = pd.DataFrame(rows, columns=POST_COLUMNS)
    if languages is not None and len(df):
        langs = [
            lg if isinstance(lg, str) and lg and lg != "und" else T.detect_language(t)
            for lg, t in zip(df["lang"], df["text"], strict=False)
        ]
        df["lang"] = langs
        keep = df["lang"].isin(list(languages) + ["und"])
        stats.non_english += int((~keep).sum())
        df = df[keep].reset_index(drop=True)
    df["time"] = pd.to_datetime(df["time"], utc=True)
    stats.kept = len(df)
    return df, stats


def _dedup_key(text: str) -> str:
    """Normalised text without link placeholders: the same post shared with another
    t.co link is still the same post."""
    return " ".join(w for w in text.split() if w != "URL")


def _clean(v) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def load_posts(paths, **ingest_kwargs) -> tuple[pd.DataFrame, IngestStats]:
    """Posts from already-ingested tables and/or raw sources (ingested on the fly)."""
    paths = [Path(p) for p in paths]
    tables = [read_posts(p) for p in paths if p.is_file() and is_post_table(p)]
    raw = [p for p in paths if not (p.is_file() and is_post_table(p))]
    stats = IngestStats()
    if raw:
        df, stats = ingest(raw, **ingest_kwargs)
        tables.append(df)
    df = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=POST_COLUMNS)
    return df, stats
