"""The post table: its columns, header synonyms, run statistics and (atomic) file I/O.

The bottom of social: imports nothing from it (ingest builds on it, not the reverse)."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from floodcast.io.atomic import atomic_path

POST_COLUMNS = [
    "post_id",
    "event",
    "time",
    "time_source",
    "text",
    "text_raw",
    "is_reply",
    "reply_source",
    "is_retweet",
    "lang",
    "label",
    "info_type",
    "info_source",
    "informativeness",
    "source",
]

# Header synonyms (lower-cased, spaces/underscores/dashes removed) -> canonical field.
_SYNONYMS = {
    "id": ("id", "tweetid", "idstr", "postid", "statusid"),
    "text": ("text", "tweet", "tweettext", "fulltext", "content", "body", "message", "posttext"),
    "label": ("label", "relevance", "ontopic"),
    "time": ("time", "createdat", "timestamp", "date", "datetime", "postedat"),
    "info_type": ("informationtype", "infotype"),
    "info_source": ("informationsource", "infosource"),
    "informativeness": ("informativeness",),
    "is_reply": (
        "isreply",
        "reply",
        "inreplytostatusid",
        "inreplytouserid",
        "inreplytostatusidstr",
    ),
    "is_retweet": ("isretweet", "retweet", "retweetedstatus"),
    "lang": ("lang", "language"),
    "event": ("event", "crisis", "eventname"),
}
_LOOKUP = {syn: canon for canon, syns in _SYNONYMS.items() for syn in syns}


def canonical_column(name: str) -> str | None:
    """Canonical field for a source header (``' Tweet Text'`` -> ``'text'``), else None."""
    key = re.sub(r"[\s_\-]+", "", str(name)).lower()
    return _LOOKUP.get(key)


def event_from_filename(path: str | os.PathLike) -> str:
    """Event name from a file name: ``2013_Alberta_Floods-ontopic_offtopic.csv`` ->
    ``2013_alberta_floods`` (text before the first ``-``, lower-cased)."""
    stem = Path(path).name.split(".")[0]
    return re.sub(r"[^0-9a-z]+", "_", stem.split("-")[0].lower()).strip("_") or "unknown"


BAD_KINDS = ("malformed", "empty", "non_utf8")


@dataclass
class IngestStats:
    """What an ingest run read, kept and skipped (and why)."""

    files: int = 0
    rows_read: int = 0
    kept: int = 0
    duplicates: int = 0
    retweets: int = 0
    non_english: int = 0
    skipped: Counter = field(default_factory=Counter)
    unknown_columns: dict[str, list[str]] = field(default_factory=dict)
    skipped_files: dict[str, str] = field(default_factory=dict)
    examples: list[tuple[str, int | None, str, str]] = field(default_factory=list)
    max_examples: int = 20

    def bad(self, path, line, kind: str, why: str) -> None:
        self.skipped[kind] += 1
        if len(self.examples) < self.max_examples:
            self.examples.append((Path(path).name, line, kind, why))

    def skip_file(self, path, why: str) -> None:
        self.skipped_files[str(path)] = why

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "rows_read": self.rows_read,
            "kept": self.kept,
            "duplicates": self.duplicates,
            "retweets": self.retweets,
            "non_english": self.non_english,
            "skipped": {k: int(self.skipped.get(k, 0)) for k in BAD_KINDS},
            "unknown_columns": self.unknown_columns,
            "skipped_files": self.skipped_files,
            "examples": [list(e) for e in self.examples],
        }

    def summary(self) -> str:
        s = self.skipped
        lines = [
            f"files read: {self.files}; rows read: {self.rows_read}; posts kept: {self.kept}",
            (
                f"removed: {self.duplicates} exact duplicates, {self.retweets} retweets, "
                f"{self.non_english} non-English"
            ),
            (
                f"skipped bad rows: {s['malformed']} malformed, {s['empty']} empty, "
                f"{s['non_utf8']} non-UTF-8"
            ),
        ]
        for f, cols in self.unknown_columns.items():
            lines.append(f"ignored unknown columns in {Path(f).name}: {', '.join(cols)}")
        for f, why in self.skipped_files.items():
            lines.append(f"skipped file {f}: {why}")
        for name, line, kind, why in self.examples[:5]:
            lines.append(f"  e.g. {name}:{line}: {kind} ({why})")
        return "\n".join(lines)


def write_posts(df: pd.DataFrame, out: str | os.PathLike) -> Path:
    """Write posts atomically as .parquet, .csv or .jsonl (by suffix)."""
    out = Path(out)
    suffix = out.suffix.lower()
    with atomic_path(out) as tmp:
        if suffix == ".parquet":
            df.to_parquet(tmp, index=False)
        elif suffix == ".csv":
            df.to_csv(tmp, index=False)
        elif suffix in (".jsonl", ".ndjson"):
            df.to_json(tmp, orient="records", lines=True, date_format="iso", force_ascii=False)
        else:
            raise ValueError(f"unknown output format {suffix!r}: use .parquet, .csv or .jsonl")
    return out


def is_post_table(path: str | os.PathLike) -> bool:
    """True when ``path`` is a file written by :func:`write_posts` (already ingested)."""
    p = Path(path)
    try:
        if p.suffix.lower() == ".parquet":
            return True
        with open(p, "rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
    except OSError:
        return False
    if p.suffix.lower() == ".csv":
        return head.split("\n", 1)[0].strip() == ",".join(POST_COLUMNS)
    return '"text_raw"' in head and '"time_source"' in head


def read_posts(path: str | os.PathLike) -> pd.DataFrame:
    """Read a post table written by :func:`write_posts`."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".parquet":
        df = pd.read_parquet(p)
    elif suffix == ".csv":
        df = pd.read_csv(p, dtype={"post_id": str, "label": str, "lang": str})
    else:
        df = pd.read_json(p, lines=True, dtype={"post_id": str})
    df["time"] = pd.to_datetime(df["time"], utc=True, errors="coerce")
    for c in ("is_reply", "is_retweet"):
        df[c] = df[c].astype(bool)
    return df
