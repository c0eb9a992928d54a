"""Rain-nowcast verification over radar inputs: the skill table and its report files."""

from __future__ import annotations

import json
from pathlib import Path

from floodcast.errors import InputError


def run_verify(specs, steps, n_starts, past, thresholds, scales, region, flow, echo=print):
    """Skill table over every gap-free piece of every radar input long enough to verify."""
    import pandas as pd

    from floodcast.io.named_inputs import load_radars
    from floodcast.predict.verify import verify_extrapolation

    tables, skipped = [], []
    for spec in specs:
        for rid, seq in load_radars([spec], echo=echo).items():
            if len(seq.times) < past + steps:
                skipped.append(f"{rid} ({len(seq.times)} frames < {past} + {steps})")
                continue
            tables.append(
                verify_extrapolation(
                    seq,
                    steps,
                    n_starts=n_starts,
                    n_past=past,
                    thresholds=thresholds,
                    scales_km=scales,
                    region=region,
                    flow=flow,
                    name=rid,
                )
            )
    if skipped:
        echo(f"skipped (too few frames): {', '.join(skipped)}")
    if not tables:
        raise InputError(
            f"no radar sequence has {past} past + {steps} future frames: "
            f"{', '.join(skipped)}; use fewer --steps"
        )
    df = pd.concat(tables, ignore_index=True)
    df.attrs["per_sequence"] = {t.sequence.iloc[0]: t.attrs for t in tables}
    return df


def write_skill(out: Path, df) -> list[Path]:
    """skill.csv (long table), skill_vs_persistence.csv, skill.md, skill.png, verify.json."""
    from floodcast.io.atomic import atomic_dir
    from floodcast.predict.verify import plot_skill, skill_markdown, skill_vs_reference

    with atomic_dir(out) as tmp:
        df.to_csv(tmp / "skill.csv", index=False, float_format="%.4f")
        skill_vs_reference(df).to_csv(
            tmp / "skill_vs_persistence.csv", index=False, float_format="%.4f"
        )
        (tmp / "skill.md").write_text(
            "# Radar extrapolation skill (pysteps LK + semi-Lagrangian) vs persistence\n\n"
            + skill_markdown(df)
        )
        plot_skill(df, tmp / "skill.png")
        (tmp / "verify.json").write_text(json.dumps(df.attrs, indent=2, default=str))
        names = sorted(p.name for p in tmp.iterdir())
    return [out / n for n in names]
