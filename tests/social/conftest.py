"""Generated posts for the social tests (the shared tweets never enter the repo)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

FLOOD_TEMPLATES = [
    "the {place} river is flooding near {street}, roads closed",
    "water rising fast in {place}, evacuation ordered for {street}",
    "flood damage in {place} is terrible, homes under water",
    "stay safe everyone in {place}, flood warning until tonight #{tag}flood",
    "volunteers needed to help flood victims in {place} #{tag}flood",
    "power out and basement flooded on {street} in {place}",
    "donate to the red cross for the {place} flood relief",
]
OTHER_TEMPLATES = [
    "just had the best coffee on {street}",
    "watching the game tonight with friends in {place}",
    "new album dropping friday, cannot wait",
    "my cat keeps stealing my socks",
    "traffic on {street} is slow this morning",
    "happy birthday to my little sister",
    "gym session done, feeling strong",
]
PLACES_A = ["calgary", "canmore", "high river", "okotoks"]
PLACES_B = ["brisbane", "bundaberg", "ipswich", "gympie"]
STREETS = ["main st", "5th ave", "river rd", "king st", "park lane"]


def make_posts(n: int, places, tag: str, seed: int = 0, start_id: int = 348_000_000_000_000_000):
    """n labelled posts: (id, text, label) with snowflake-like increasing ids."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        on = rng.random() < 0.5
        tpl = FLOOD_TEMPLATES if on else OTHER_TEMPLATES
        text = tpl[rng.integers(len(tpl))].format(
            place=places[rng.integers(len(places))],
            street=STREETS[rng.integers(len(STREETS))],
            tag=tag,
        )
        text = f"{text} {i}"  # unique texts
        if rng.random() < 0.2:
            text = "@friend " + text
        rows.append((start_id + i * (1 << 32), text, "on-topic" if on else "off-topic"))
    return rows


def write_t6_csv(path: Path, rows) -> Path:
    """CrisisLex T6 layout: ``tweet id, tweet, label`` with quoted ids."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        fh.write("tweet id, tweet, label\n")
        w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
        for pid, text, label in rows:
            w.writerow([f"'{pid}'", text, label])
    return path


def write_jsonl(path: Path, objs) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(o) + "\n" for o in objs)
    return path


@pytest.fixture
def t6_pair(tmp_path):
    a = write_t6_csv(
        tmp_path / "2013_Alpha_Floods-ontopic_offtopic.csv",
        make_posts(160, PLACES_A, "yyc", seed=1),
    )
    b = write_t6_csv(
        tmp_path / "2013_Beta_Floods-ontopic_offtopic.csv",
        make_posts(160, PLACES_B, "qld", seed=2, start_id=296_000_000_000_000_000),
    )
    return a, b
