"""``social map``: relevant posts per place, by information type -> GeoJSON, PNG, summary.

Per event: the relevant posts (:func:`floodcast.social.labelling.label_posts`) are
geoparsed (:mod:`floodcast.social.geoparse`) with the event's country / region box; every
distinct place a post names counts once for that post. Outputs (written atomically to
one folder): ``places.geojson`` (WGS84 points, RFC 7946), ``posts_places.csv`` (one row
per post and place), ``summary.json`` (share geoparsed, share inside the event's
country or region box, top places) and ``map.png``.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from floodcast.io.atomic import atomic_dir
from floodcast.social.geoparse import Gazetteer, Geoparser, Place
from floodcast.social.labelling import type_order


@dataclass
class EventGeo:
    """Geoparse results of one event."""

    event: str
    country: str | None
    region: tuple | None
    posts: int  # relevant posts
    geoparsed: int = 0
    mentions: list[tuple[str, Place, str]] = field(default_factory=list)  # post, place, type

    def inside(self, p: Place) -> bool | None:
        if self.region is not None:
            w, s, e, n = self.region
            return w <= p.lon <= e and s <= p.lat <= n
        if p.country is None or self.country is None:
            return None
        return p.country == self.country

    def summary(self, top: int = 10) -> dict:
        flags = [self.inside(p) for _, p, _ in self.mentions]
        known = [f for f in flags if f is not None]
        counts = Counter((p.name, p.country) for _, p, _ in self.mentions)
        return {
            "relevant_posts": self.posts,
            "geoparsed_posts": self.geoparsed,
            "share_geoparsed": self.geoparsed / self.posts if self.posts else math.nan,
            "mentions": len(self.mentions),
            "share_inside": sum(known) / len(known) if known else math.nan,
            "inside_of": (
                f"region {list(self.region)}"
                if self.region is not None
                else f"country {self.country}"
            ),
            "top_places": [
                {"name": n, "country": c, "posts": k} for (n, c), k in counts.most_common(top)
            ],
        }


def geoparse_events(
    posts: pd.DataFrame, gazetteer: Gazetteer, countries: dict[str, str | None], region=None
) -> list[EventGeo]:
    """Geoparse the relevant posts of each event (``countries``: event -> ISO code)."""
    out = []
    for ev, g in posts[posts["relevant"]].groupby("event", sort=True):
        gp = Geoparser(gazetteer, country=countries.get(ev), region=region)
        eg = EventGeo(str(ev), gp.country, region, len(g))
        for pid, text, typ in zip(g["post_id"], g["text"], g["type"], strict=False):
            found = gp.places(text)
            eg.geoparsed += bool(found)
            eg.mentions += [(str(pid), p, str(typ)) for p in found]
        out.append(eg)
    return out


def features(events: list[EventGeo]) -> dict:
    """GeoJSON FeatureCollection: one point per (event, place), counts by type."""
    feats = []
    for eg in events:
        by_place: dict[Place, Counter] = defaultdict(Counter)
        for _, p, t in eg.mentions:
            by_place[p][t] += 1
        for p, c in sorted(by_place.items(), key=lambda kv: -sum(kv[1].values())):
            feats.append(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [round(p.lon, 5), round(p.lat, 5)],
                    },
                    "properties": {
                        "event": eg.event,
                        "name": p.name,
                        "country": p.country,
                        "source": p.source,
                        "posts": sum(c.values()),
                        "types": {t: c[t] for t in type_order(c)},
                        "inside": eg.inside(p),
                    },
                }
            )
    return {"type": "FeatureCollection", "features": feats}


def _png(events: list[EventGeo], fc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    evs = [e for e in events if e.mentions] or events[:1]
    fig, axes = plt.subplots(
        1, max(1, len(evs)), figsize=(5 * max(1, len(evs)), 4.5), squeeze=False
    )
    types = type_order({t for f in fc["features"] for t in f["properties"]["types"]})
    cmap = plt.get_cmap("tab10")
    colour = {t: cmap(i % 10) for i, t in enumerate(types)}
    for ax, eg in zip(axes[0], evs, strict=False):
        fs = [f for f in fc["features"] if f["properties"]["event"] == eg.event]
        local = [f for f in fs if f["properties"]["inside"] is not False] or fs
        for f in fs:
            x, y = f["geometry"]["coordinates"]
            top = max(f["properties"]["types"], key=f["properties"]["types"].get)
            ax.scatter(
                x,
                y,
                s=20 + 15 * math.sqrt(f["properties"]["posts"]),
                color=colour[top],
                alpha=0.7,
                edgecolor="k",
                linewidth=0.3,
            )
        for f in local[:8]:
            x, y = f["geometry"]["coordinates"]
            ax.annotate(
                f"{f['properties']['name']} ({f['properties']['posts']})",
                (x, y),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
        if local:  # frame the event's own places; far-away mentions stay in the GeoJSON
            xs = [f["geometry"]["coordinates"][0] for f in local]
            ys = [f["geometry"]["coordinates"][1] for f in local]
            pad = max(0.5, 0.1 * max(max(xs) - min(xs), max(ys) - min(ys)))
            ax.set_xlim(min(xs) - pad, max(xs) + pad)
            ax.set_ylim(min(ys) - pad, max(ys) + pad)
        ax.set_title(f"{eg.event}: {eg.geoparsed}/{eg.posts} posts geoparsed", fontsize=9)
        ax.set_xlabel("longitude (°E)")
        ax.set_ylabel("latitude (°N)")
        ax.grid(alpha=0.3)
    handles = [plt.Line2D([], [], marker="o", ls="", color=colour[t], label=t) for t in types]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncol=min(4, len(handles)), fontsize=7)
    fig.tight_layout(rect=(0, 0.08 if handles else 0, 1, 1))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_map(events: list[EventGeo], out_dir, extra: dict | None = None, png: bool = True) -> dict:
    """Write places.geojson, posts_places.csv, summary.json and map.png atomically."""
    fc = features(events)
    summary = {"events": {e.event: e.summary() for e in events}} | (extra or {})
    rows = [
        {
            "post_id": pid,
            "event": e.event,
            "type": t,
            "place": p.name,
            "country": p.country,
            "lat": p.lat,
            "lon": p.lon,
            "inside": e.inside(p),
        }
        for e in events
        for pid, p, t in e.mentions
    ]
    with atomic_dir(out_dir) as tmp:
        tmp = Path(tmp)
        (tmp / "places.geojson").write_text(json.dumps(fc, ensure_ascii=False))
        pd.DataFrame(
            rows, columns=["post_id", "event", "type", "place", "country", "lat", "lon", "inside"]
        ).to_csv(tmp / "posts_places.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
        if png and events:
            _png(events, fc, tmp / "map.png")
    return summary


def find_descriptions(paths) -> dict[str, dict]:
    """CrisisLex event descriptions beside the inputs (same folder or a sibling
    ``CrisisLexT26``), by event key: ``2013_Alberta_floods-event_description.json``."""
    from floodcast.social.records import event_from_filename

    out: dict[str, dict] = {}
    for folder in {Path(p).resolve().parent for p in paths}:
        for f in [
            *folder.glob("*-event_description.json"),
            *folder.parent.glob("CrisisLexT26/*-event_description.json"),
        ]:
            try:
                out.setdefault(event_from_filename(f), json.loads(f.read_text("utf-8")))
            except (OSError, ValueError):
                continue  # a broken description only costs the disambiguation hint
    return out


def event_countries(events, country: str | None, descriptions: dict[str, dict]) -> dict:
    """Event -> ISO country: ``country`` for all, else each event's description."""
    from floodcast.social.geoparse import country_code

    if country:
        cc = country_code(country)
        return dict.fromkeys(events, cc)
    return {
        ev: country_code((descriptions.get(ev, {}).get("location") or {}).get("country"))
        for ev in events
    }


def run_map(
    inputs,
    out_dir,
    gazetteer_csv=None,
    region=None,
    country: str | None = None,
    train=None,
    min_population: int | None = None,
    ingest_kwargs=None,
    log=None,
) -> dict:
    """Load posts, label (or predict) relevance and type, geoparse, write the map folder.

    ``region``: (lon_min, lat_min, lon_max, lat_max); ``train``: labelled post files used
    to predict relevance/type of unlabelled posts (see ``label_posts``).
    """
    from floodcast.social.geoparse import MIN_POPULATION, build_gazetteer
    from floodcast.social.ingest import load_posts
    from floodcast.social.labelling import label_posts

    df, stats = load_posts(inputs, **(ingest_kwargs or {}))
    if df.empty:
        raise ValueError("no usable posts in the input")
    tr = load_posts(train, **(ingest_kwargs or {}))[0] if train else None
    posts = label_posts(df, tr)
    gaz = build_gazetteer(gazetteer_csv, min_population or MIN_POPULATION)
    countries = event_countries(sorted(posts["event"].unique()), country, find_descriptions(inputs))
    events = geoparse_events(posts, gaz, countries, region)
    extra = {
        "posts": len(posts),
        "ingest": stats.as_dict() if stats.files else None,
        "relevance_source": posts["relevance_source"].value_counts().to_dict(),
        "type_source": posts.loc[posts["relevant"], "type_source"].value_counts().to_dict(),
        "gazetteer": {
            "names": len(gaz),
            "user_csv": str(gazetteer_csv) if gazetteer_csv else None,
            "skipped_rows": [list(r) for r in gaz.skipped_rows],
        },
    }
    if log:
        for r in gaz.skipped_rows[:5]:
            log(f"gazetteer {r[0]}:{r[1]}: skipped ({r[2]})")
        if len(gaz.skipped_rows) > 5:
            log(f"... {len(gaz.skipped_rows)} gazetteer rows skipped in all")
    return write_map(events, out_dir, extra)
