import json

import pandas as pd
from typer.testing import CliRunner

from floodcast.cli import app
from floodcast.social.geomap import run_map
from floodcast.social.labelling import label_posts

runner = CliRunner()


def _posts(path):
    rows = [
        ("1", "Calgary river flooding, stay away", "on-topic"),
        ("2", "Okotoks roads closed, donate to help", "on-topic"),
        ("3", "water rising in #yyc now", "on-topic"),
        ("4", "my cat in Calgary is lovely", "off-topic"),
        ("5", "flood everywhere, no place named here", "on-topic"),
    ]
    with open(path, "w") as fh:
        fh.write("tweet id, tweet, label\n")
        fh.writelines(f"'{pid}',\"{text}\",{lab}\n" for pid, text, lab in rows)
    return path


def test_label_posts_predicts_missing_values():
    posts = pd.DataFrame(
        {"text": ["flood in town", "lunch time"], "label": [None, None], "info_type": [None, None]}
    )
    out = label_posts(posts)
    assert out["relevant"].all() and set(out["relevance_source"]) == {"assumed"}
    assert set(out["type"]) == {"unknown"}
    train = pd.DataFrame(
        {
            "text": [
                "flood water rising",
                "flood damage homes",
                "lunch pizza",
                "pizza lunch friends",
            ]
            * 5,
            "label": ["on-topic", "on-topic", "off-topic", "off-topic"] * 5,
            "info_type": ["Caution and advice", "Affected individuals", None, None] * 5,
        }
    )
    out = label_posts(posts, train)
    assert out["relevant"].tolist() == [True, False]
    assert out["relevance_source"].tolist() == ["predicted", "predicted"]
    assert out.loc[0, "type_source"] == "predicted" and out.loc[1, "type"] == "unknown"


def test_run_map_writes_valid_geojson(tmp_path):
    src = _posts(tmp_path / "2013_Test_Floods-ontopic_offtopic.csv")
    gaz = tmp_path / "g.csv"
    gaz.write_text("name,lat,lon\nyyc,51.05,-114.07\nbroken,,\n")
    s = run_map(
        [src],
        tmp_path / "map",
        gazetteer_csv=gaz,
        country="Canada",
        min_population=15000,
        ingest_kwargs={"languages": None},
    )
    ev = s["events"]["2013_test_floods"]
    assert ev["relevant_posts"] == 4 and ev["geoparsed_posts"] == 3
    assert ev["share_geoparsed"] == 0.75 and ev["share_inside"] == 1.0
    assert s["gazetteer"]["skipped_rows"] == [["g.csv", 3, "lat/lon missing or not a number"]]
    fc = json.loads((tmp_path / "map" / "places.geojson").read_text())
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 3
    for f in fc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        assert f["geometry"]["type"] == "Point" and -180 <= lon <= 180 and -90 <= lat <= 90
        assert f["properties"]["posts"] == sum(f["properties"]["types"].values())
    calgary = next(f for f in fc["features"] if f["properties"]["name"] == "Calgary")
    assert calgary["properties"]["posts"] == 1  # the off-topic cat post is not counted
    assert (tmp_path / "map" / "map.png").stat().st_size > 1000


def test_map_cli_refuses_inverted_region(tmp_path):
    src = _posts(tmp_path / "p.csv")
    r = runner.invoke(
        app,
        ["social", "map", str(src), "--out", str(tmp_path / "m"), "--region", "-110,55,-115,49"],
    )
    assert r.exit_code == 1 and "inverted" in r.output
    assert not (tmp_path / "m").exists()
