"""verify: CSI / FSS of extrapolation vs persistence against lead time (pysteps scores),
on a synthetic moving blob and on a few frames of the shared MeteoSwiss / BoM sequences,
and the `floodcast nowcast-verify` CLI."""

from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from floodcast.cli import app
from floodcast.errors import InputError
from floodcast.predict.verify import (
    _valid_starts,
    pick_starts,
    skill_markdown,
    skill_vs_reference,
    verify_extrapolation,
)

RADAR = "radar/pysteps-data/radar"


def synthetic_seq(nt=9, drop=None):
    yy, xx = np.mgrid[0:48, 0:64].astype(float)
    frames = [
        25 * np.exp(-((yy - 15 - 1.0 * t) ** 2 + (xx - 12 - 2.0 * t) ** 2) / (2 * 5.0**2))
        for t in range(nt)
    ]
    times = np.datetime64("2020-06-01T12:00", "s") + np.arange(nt) * np.timedelta64(300, "s")
    keep = [i for i in range(nt) if i != drop]
    return SimpleNamespace(
        rain_mmh=np.stack(frames).astype(np.float32)[keep],
        times=times[keep],
        interval_s=300.0,
        cell_size=1000.0,
        source="synthetic",
    )


def test_valid_starts_skip_gaps_and_pick_spreads_evenly():
    seq = synthetic_seq(10, drop=6)  # frame 6 missing: a gap of 10 min
    valid = _valid_starts(seq.times, 300.0, n_steps=2, n_past=2)
    # indices into the 9 kept frames; starts whose window crosses the gap are out
    assert valid == [1, 2, 3]
    assert pick_starts(list(range(2, 20)), 3) == [2, 10, 19]
    assert pick_starts([4, 5], 6) == [4, 5]


def test_extrapolation_beats_persistence_on_a_moving_blob():
    df = verify_extrapolation(
        synthetic_seq(), n_steps=4, n_starts=2, n_past=3, scales_km=(1.0, 5.0)
    )
    assert set(df.method) == {"extrapolation", "persistence"}
    assert len(df) == 2 * 4 and df.attrs["starts"] == [2, 4]
    ex = df[df.method == "extrapolation"].set_index("lead_steps")
    pe = df[df.method == "persistence"].set_index("lead_steps")
    assert ex.loc[1, "csi"] > 0.9 and ex.loc[1, "fss_1km"] > 0.95
    assert (ex.csi > pe.csi).all() and (ex.fss_5km >= pe.fss_5km).all()
    assert (pe.csi.diff().dropna() < 0).all()  # persistence decays with lead time
    wide = skill_vs_reference(df)
    assert (wide.csi_ratio > 1).all()
    md = skill_markdown(df)
    assert "| 20 |" in md and "CSI extrap" in md


def test_verify_refuses_too_short_sequences():
    with pytest.raises(InputError, match="without a gap"):
        verify_extrapolation(synthetic_seq(5), n_steps=4, n_past=3)
    with pytest.raises(InputError, match="lack"):
        verify_extrapolation(synthetic_seq(9), n_steps=4, starts=[0])


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "source, sub, start, end, region",
    [
        ("mch", "mch", "2015-05-15T16:00", "2015-05-15T16:40", (320, 448, 288, 416)),
        ("bom", "bom", "2018-06-16T12:00", "2018-06-16T12:48", (128, 384, 128, 384)),
    ],
)
def test_verify_on_shared_sequences(shared_data, source, sub, start, end, region):
    from floodcast.io.radar import read_radar

    seq = read_radar(shared_data / RADAR / sub, source, start=start, end=end)
    assert len(seq.times) == 9
    df = verify_extrapolation(seq, n_steps=3, n_starts=2, region=region, scales_km=(10.0,))
    ex = df[df.method == "extrapolation"].set_index("lead_steps")
    pe = df[df.method == "persistence"].set_index("lead_steps")
    assert np.isfinite(df.csi).all() and (df.rain_cells_obs > 100).all()
    assert ex.loc[1, "csi"] > 0.6 and (ex.csi.diff().dropna() < 0).all()
    # at 10-18 min a storm has moved: advecting it must beat holding it still
    assert ex.loc[3, "csi"] > pe.loc[3, "csi"]
    assert ex.loc[3, "fss_10km"] >= pe.loc[3, "fss_10km"] - 0.01


@pytest.mark.shared_data
def test_verify_cli_writes_table_and_fails_cleanly(shared_data, tmp_path):
    radar = f"mch:{shared_data / RADAR / 'mch'}"
    out = tmp_path / "skill"
    r = CliRunner().invoke(
        app,
        [
            "nowcast-verify",
            "--radar",
            radar,
            "--out",
            str(out),
            "--steps",
            "2",
            "--starts",
            "1",
            "--crop",
            "320,416,288,384",
            "--scales-km",
            "10",
        ],
    )
    assert r.exit_code == 0, r.output
    import pandas as pd

    df = pd.read_csv(out / "skill.csv")
    assert len(df) == 4 and set(df.method) == {"extrapolation", "persistence"}
    assert (out / "skill.png").stat().st_size > 1000
    assert "CSI extrap" in (out / "skill.md").read_text()
    bad = tmp_path / "bad"
    r = CliRunner().invoke(
        app, ["nowcast-verify", "--radar", radar, "--out", str(bad), "--steps", "60"]
    )
    assert r.exit_code == 1 and "fewer --steps" in r.output
    assert not bad.exists()
    assert not [q for q in tmp_path.iterdir() if q.name.startswith(".")]
