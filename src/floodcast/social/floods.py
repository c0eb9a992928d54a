"""The labelled flood collections (CrisisLex T6 and T26) as one table, one row per post.

A *dataset* is one labelled file (``T6/2013_alberta_floods``); a *flood* is the event it
covers (``2013_alberta_floods``). T6 and T26 both hold the 2013 Alberta and Queensland
floods, so splits are made by flood, never by dataset: the same flood's T6 and T26 posts
never sit on both sides of a split (:func:`leave_one_flood_out`).

Relevance label ``y``: T6 ``on-topic``/``off-topic``; T26 Informativeness "Related ..." ->
on-topic, "Not related" -> off-topic, "Not applicable" dropped. Information type
``info_type``: the six CrisisLex T26 types ("Not applicable" -> missing).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from floodcast.social.ingest import load_posts
from floodcast.social.records import event_from_filename

POSITIVE, NEGATIVE = "on-topic", "off-topic"
INFO_TYPES = [
    "Affected individuals",
    "Infrastructure and utilities",
    "Donations and volunteering",
    "Caution and advice",
    "Sympathy and support",
    "Other Useful Information",
]
_INFO_LOOKUP = {t.lower(): t for t in INFO_TYPES}
_RELEVANCE = {
    "on-topic": POSITIVE,
    "ontopic": POSITIVE,
    "relevant": POSITIVE,
    "1": POSITIVE,
    "related and informative": POSITIVE,
    "related - but not informative": POSITIVE,
    "off-topic": NEGATIVE,
    "offtopic": NEGATIVE,
    "irrelevant": NEGATIVE,
    "0": NEGATIVE,
    "not related": NEGATIVE,
}


def relevance_label(v) -> str | None:
    """Map source labels (T6 on/off-topic, T26 informativeness) to on-topic/off-topic."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    return _RELEVANCE.get(str(v).strip().lower())


def info_type_label(v) -> str | None:
    """One of :data:`INFO_TYPES` (case-insensitive), else None ("Not applicable", blank)."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return None
    return _INFO_LOOKUP.get(str(v).strip().lower())


@dataclass(frozen=True)
class FloodSet:
    """One labelled file: its collection, the flood it covers and the event description."""

    collection: str  # "T6" or "T26"
    flood: str  # event key shared by T6 and T26 files of the same flood
    path: Path
    description: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def name(self) -> str:
        return f"{self.collection}/{self.flood}"

    @property
    def country(self) -> str | None:
        return (self.description.get("location") or {}).get("country")


def discover(root: str | os.PathLike) -> list[FloodSet]:
    """Labelled CrisisLex files under ``root`` (the ``social`` folder, or its parent).

    Event descriptions (T26 ``*-event_description.json``) are attached to every file of
    the same flood, T6 included.
    """
    root = Path(root)
    if (root / "social").is_dir():
        root = root / "social"
    descs: dict[str, dict] = {}
    for f in sorted(root.glob("CrisisLexT26/*-event_description.json")):
        try:
            descs[event_from_filename(f)] = json.loads(f.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{f}: unreadable event description ({exc})") from exc
    sets = []
    for coll, pattern in (
        ("T6", "CrisisLexT6/*-ontopic_offtopic.csv"),
        ("T26", "CrisisLexT26/*-tweets_labeled.csv"),
    ):
        for f in sorted(root.glob(pattern)):
            key = event_from_filename(f)
            sets.append(FloodSet(coll, key, f, descs.get(key, {})))
    if not sets:
        raise FileNotFoundError(f"no CrisisLex T6/T26 labelled files under {root}")
    return sets


def load_sets(sets: list[FloodSet], languages: tuple[str, ...] | None = None) -> pd.DataFrame:
    """All posts of ``sets`` with columns ``dataset``, ``flood``, ``y``, ``info_type``.

    Each file is ingested on its own (duplicates and retweets removed within it), so a
    T6 and a T26 copy of one post both stay -- they share a flood, hence a split side.
    ``y`` is None where a post has no relevance label (T26 "Not applicable").
    """
    parts = []
    for s in sets:
        df, _ = load_posts([s.path], event=s.flood, languages=languages)
        lab = df["label"].map(relevance_label)
        lab = lab.fillna(df["informativeness"].map(relevance_label))
        parts.append(
            df.assign(
                dataset=s.name,
                collection=s.collection,
                flood=s.flood,
                y=lab,
                info_type=df["info_type"].map(info_type_label),
            )
        )
    return pd.concat(parts, ignore_index=True)


def leave_one_flood_out(
    df: pd.DataFrame, datasets: list[str] | None = None
) -> Iterator[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """For each test dataset: (name, train, test); train = every post of *other floods*."""
    for name in datasets or sorted(df["dataset"].unique()):
        test = df[df["dataset"] == name]
        flood = test["flood"].iloc[0]
        yield name, df[df["flood"] != flood], test
