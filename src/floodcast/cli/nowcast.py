"""CLI: `floodcast nowcast` (flood maps at each lead time from extrapolated radar) and
`floodcast nowcast-verify` (CSI / FSS of the extrapolation vs persistence)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import typer

from floodcast.errors import InputError, user_errors

MARGIN_KM = 60.0  # radar kept around the DEM for extrapolation: 1 h at 60 km/h flows in


def register(app: typer.Typer) -> None:
    @app.command("nowcast")
    def nowcast_cmd(
        model: Path = typer.Option(..., help="Trained model (OUT/model.pt from `floodcast train`)."),
        dem: str = typer.Option(..., help="DEM (GeoTIFF/.asc/.npz, metres) or 'sample'."),
        out: Path = typer.Option(..., help="Output folder (written atomically)."),
        rain: str = typer.Option("", help="Observed rain frames on/regriddable to the DEM "
                                 "(NetCDF/zarr/npz, mm/h), oldest first; extrapolated on the DEM grid."),
        radar: str = typer.Option("", help="[SOURCE:]PATH of radar frames in their own projection; "
                                  "extrapolated on the radar grid around the DEM, then reprojected."),
        steps: int = typer.Option(12, help="Lead times (frames) to forecast: 12 x 5 min = 1 h."),
        ensemble: int = typer.Option(0, help="STEPS ensemble members (0 = deterministic extrapolation)."),
        seed: int = typer.Option(0, help="Seed of the STEPS ensemble."),
        flow: str = typer.Option("lucaskanade", help="Optical flow: lucaskanade, darts, proesmans, vet."),
        margin_km: float = typer.Option(MARGIN_KM, help="Radar margin kept around the DEM (km)."),
        prev_depth: str = typer.Option("", help="GeoTIFF/npz of the current depth (m) for "
                                       "autoregressive models (default: dry)."),
        cut: float | None = typer.Option(None, help="Wet-probability cut (0-1) of each map / member; "
                                          "default the model's calibrated cut (else 0.5)."),
    ) -> None:
        """Extrapolate the latest radar N steps ahead and map flooding at each lead time."""
        from floodcast.io.atomic import check_writable
        from floodcast.io.named_inputs import load_dems
        from floodcast.predict.inputs import read_depth_map
        from floodcast.predict.mapper import FloodMapper
        from floodcast.predict.nowcast import extrapolate, flood_nowcast, min_frames

        method = "steps" if ensemble > 0 else "extrapolation"
        with user_errors(InputError, OSError):
            if bool(rain) == bool(radar):
                raise InputError("give exactly one of --rain FILE or --radar [SOURCE:]PATH")
            if steps < 1 or ensemble < 0:
                raise InputError(f"--steps must be >= 1 and --ensemble >= 0 (got {steps}, {ensemble})")
            check_writable(out)
            (_, d), = load_dems([dem], None, False).items()
            mapper = FloodMapper.load(model)
            need = max(mapper.frames, min_frames(method))
            prev = read_depth_map(prev_depth, d) if prev_depth else None
            t_last = None
            if rain:
                from floodcast.predict.inputs import rain_from_file

                obs, interval = rain_from_file(rain, d)
                _need_frames(obs.shape[0], need, mapper, method)
                fc = extrapolate(obs, steps, method=method, n_members=ensemble, seed=seed,
                                 flow=flow, cell_size_m=d.cell_size, interval_s=interval)
            else:
                from floodcast.io.named_inputs import load_radars

                seq = list(load_radars([radar]).values())[-1]  # the latest gap-free piece
                _need_frames(len(seq.times), need, mapper, method)
                obs, fc, interval = _radar_nowcast(seq, d, steps, method, ensemble, seed, flow,
                                                   margin_km)
                t_last = seq.times[-1]
            leads = flood_nowcast(mapper, obs, d.elevation, d.cell_size, interval, steps,
                                  forecast_on_dem=fc, prev_depth=prev, cut=cut)
            meta = {"model": str(model), "dem": d.source, "input": rain or radar,
                    "method": method, "members": ensemble, "seed": seed if ensemble else None,
                    "flow": flow, "steps": steps, "interval_s": interval,
                    "observed_frames": int(obs.shape[0]), "cut": leads[0].fmap.cut,
                    "threshold_m": mapper.threshold,
                    "analysis_time": None if t_last is None else str(t_last)}
            summary = _write_nowcast(out, leads, fc, d, meta, t_last)
        typer.echo(json.dumps({"out": str(out), "leads": len(summary["leads"]),
                               "peak_wet_cells": max(r["wet_cells"] for r in summary["leads"])},
                              indent=2))

    @app.command("nowcast-verify")
    def verify_cmd(
        radar: list[str] = typer.Option(..., "--radar", help="[SOURCE:]PATH of radar frames; repeatable."),
        out: Path = typer.Option(..., help="Output folder: skill.csv, skill.md, skill.png, verify.json."),
        steps: int = typer.Option(12, help="Lead times to verify (12 x 5 min = 1 h)."),
        starts: int = typer.Option(6, help="Start times per sequence, spread evenly."),
        past: int = typer.Option(3, help="Observed frames for the motion field."),
        threshold: list[float] = typer.Option([1.0], help="Rain threshold (mm/h); repeatable."),
        scales_km: str = typer.Option("2,10,40", help="FSS neighbourhood sizes (km), comma-separated."),
        crop: str = typer.Option("", help="row0,row1,col0,col1 crop of every radar grid."),
        flow: str = typer.Option("lucaskanade", help="Optical flow: lucaskanade, darts, proesmans, vet."),
    ) -> None:
        """Verify extrapolated radar against the observed frames (CSI, FSS) vs persistence."""
        from floodcast.io.atomic import check_writable

        with user_errors(InputError, OSError):
            if steps < 1 or starts < 1:
                raise InputError(f"--steps and --starts must be >= 1 (got {steps}, {starts})")
            try:
                scales = tuple(float(s) for s in scales_km.split(",") if s.strip())
                region = tuple(int(v) for v in crop.split(",")) if crop else None
            except ValueError as exc:
                raise InputError(f"bad --scales-km {scales_km!r} or --crop {crop!r}") from exc
            if not scales or min(scales) <= 0 or (region is not None and len(region) != 4):
                raise InputError("--scales-km needs positive sizes; --crop needs 4 integers")
            check_writable(out)
            df = run_verify(radar, steps, starts, past, tuple(threshold), scales, region, flow)
            write_skill(out, df)
        typer.echo((out / "skill.md").read_text())


def _need_frames(n: int, need: int, mapper, method: str) -> None:
    if n < need:
        raise InputError(f"got {n} observed rain frames; {method} and the model need at least "
                         f"{need} (model: {mapper.describe()})")


def run_verify(specs, steps, n_starts, past, thresholds, scales, region, flow, echo=typer.echo):
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
            tables.append(verify_extrapolation(seq, steps, n_starts=n_starts, n_past=past,
                                               thresholds=thresholds, scales_km=scales,
                                               region=region, flow=flow, name=rid))
    if skipped:
        echo(f"skipped (too few frames): {', '.join(skipped)}")
    if not tables:
        raise InputError(f"no radar sequence has {past} past + {steps} future frames: "
                         f"{', '.join(skipped)}; use fewer --steps")
    df = pd.concat(tables, ignore_index=True)
    df.attrs["per_sequence"] = {t.sequence.iloc[0]: t.attrs for t in tables}
    return df


def write_skill(out: Path, df) -> list[Path]:
    """skill.csv (long table), skill_vs_persistence.csv, skill.md, skill.png, verify.json."""
    from floodcast.io.atomic import atomic_dir
    from floodcast.predict.verify import plot_skill, skill_markdown, skill_vs_reference

    with atomic_dir(out) as tmp:
        df.to_csv(tmp / "skill.csv", index=False, float_format="%.4f")
        skill_vs_reference(df).to_csv(tmp / "skill_vs_persistence.csv", index=False,
                                      float_format="%.4f")
        (tmp / "skill.md").write_text(
            "# Radar extrapolation skill (pysteps LK + semi-Lagrangian) vs persistence\n\n"
            + skill_markdown(df))
        plot_skill(df, tmp / "skill.png")
        (tmp / "verify.json").write_text(json.dumps(df.attrs, indent=2, default=str))
        names = sorted(p.name for p in tmp.iterdir())
    return [out / n for n in names]


def _radar_nowcast(seq, dem, steps, method, members, seed, flow, margin_km):
    """Extrapolate on the radar grid around the DEM, then reproject obs + forecast onto it."""
    from floodcast.predict.inputs import radar_on_dem
    from floodcast.predict.nowcast import extrapolate

    crop = _crop_around(seq, dem, margin_km)
    fc = extrapolate(crop.rain_mmh, steps, method=method, n_members=members, seed=seed, flow=flow,
                     cell_size_m=crop.cell_size, interval_s=crop.interval_s)
    ens = fc if fc.ndim == 4 else fc[None]
    n_obs = len(crop.times)
    stack = np.concatenate([crop.rain_mmh] + list(ens), 0)
    # one reprojection for all frames; the synthetic times only need to increase
    times = crop.times[0] + np.arange(len(stack)) * np.timedelta64(1, "s")
    on_dem = radar_on_dem(replace(crop, rain_mmh=stack, times=times,
                                  attrs={**crop.attrs, "clipped_per_frame": [0] * len(stack)}), dem)
    obs = on_dem[:n_obs]
    f = on_dem[n_obs:].reshape(ens.shape[0], steps, *dem.shape)
    return obs, (f if fc.ndim == 4 else f[0]), float(crop.interval_s)


def _crop_around(seq, dem, margin_km: float):
    """The radar window covering the DEM plus ``margin_km`` (the whole grid if smaller)."""
    if not dem.georeferenced:
        raise InputError(f"{dem.source}: the DEM has no CRS, so radar cannot be placed on it; "
                         "give rain already on the DEM grid (--rain FILE)")
    from affine import Affine
    from rasterio.warp import transform_bounds

    from floodcast.predict.outputs import _transform

    ny, nx = dem.shape
    tr = _transform(dem)
    left, top = tr @ (0, 0)
    right, bottom = tr @ (nx, ny)
    bl, bb, br, bt = transform_bounds(dem.crs, seq.crs, min(left, right), min(top, bottom),
                                      max(left, right), max(top, bottom))
    inv = ~seq.transform
    cols, rows = zip(*(inv @ (x, y) for x, y in ((bl, bb), (bl, bt), (br, bb), (br, bt))))
    pad = int(np.ceil(margin_km * 1000.0 / seq.cell_size))
    sy, sx = seq.shape[1:]
    r0, r1 = max(0, int(np.floor(min(rows))) - pad), min(sy, int(np.ceil(max(rows))) + pad)
    c0, c1 = max(0, int(np.floor(min(cols))) - pad), min(sx, int(np.ceil(max(cols))) + pad)
    if r1 - r0 < 1 or c1 - c0 < 1:
        raise InputError(f"radar ({seq.source}) does not cover the DEM {dem.source}")
    if r1 - r0 < 16 or c1 - c0 < 16:  # too small for optical flow: widen to at least 16 cells
        r0, r1 = max(0, min(r0, sy - 16)), min(sy, max(r1, r0 + 16))
        c0, c1 = max(0, min(c0, sx - 16)), min(sx, max(c1, c0 + 16))
    return replace(seq, rain_mmh=seq.rain_mmh[:, r0:r1, c0:c1],
                   transform=seq.transform @ Affine.translation(c0, r0))


def _write_nowcast(out: Path, leads, fc, dem, meta: dict, t_last) -> dict:
    """Per-lead folders (write_outputs) + flooding-probability maps + nowcast.json, atomically."""
    from floodcast.io.atomic import atomic_dir
    from floodcast.io.writers import write_geotiff, write_rain_netcdf
    from floodcast.predict.outputs import write_outputs

    interval = meta["interval_s"]
    rows = []
    with atomic_dir(out) as tmp:
        probs = []
        for lead in leads:
            mins = lead.lead_s / 60.0
            sub = tmp / f"lead_{round(mins):03d}min"
            valid = None if t_last is None else str(t_last + np.timedelta64(int(lead.lead_s), "s"))
            lm = {**meta, "lead_min": mins, "valid_time": valid,
                  "title": f"floodcast nowcast +{mins:g} min: wet (> {meta['threshold_m']} m) "
                           f"{'mean ' if lead.flood_probability is not None else ''}probability"}
            write_outputs(sub, lead.fmap, dem, lm)
            pf = lead.flood_probability
            if pf is None:
                pf = lead.fmap.wet.astype(np.float32)
            else:
                write_geotiff(sub / "flooding_probability.tif", pf, dem,
                              tags={**lm, "meaning": "fraction of ensemble members wet"})
            probs.append(pf)
            rows.append({"lead_min": mins, "valid_time": valid,
                         "wet_cells": int(lead.fmap.wet.sum()),
                         "wet_area_m2": float(lead.fmap.wet.sum() * dem.cell_size ** 2),
                         "max_flooding_probability": float(pf.max()),
                         "cells_p_ge_0.5": int((pf >= 0.5).sum()),
                         "rain_mean_mmh": lead.rain_mean_mmh,
                         "unknown_rain_fraction": lead.unknown_rain_fraction})
        peak = np.max(probs, 0).astype(np.float32)
        write_geotiff(tmp / "flooding_probability_peak.tif", peak, dem,
                      tags={"meaning": "max over lead times of the probability of flooding "
                            "(fraction of members wet; 0/1 when deterministic)"})
        _probability_png(tmp / "flooding_probability.png", probs, leads, dem, meta)
        ens = np.asarray(fc if fc.ndim == 3 else np.nanmean(fc, 0), np.float32)
        write_rain_netcdf(tmp / "rain_forecast.nc", ens, np.arange(ens.shape[0]) * interval,
                          dem, start_time=t_last)  # simulate --rain reads it back
        summary = {**meta, "leads": rows,
                   "rain_forecast": "rain_forecast.nc: CF NetCDF forecast on the DEM grid "
                                    "(mm/h, ensemble mean when --ensemble), NaN = unknown"}
        (tmp / "nowcast.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def _probability_png(path: Path, probs, leads, dem, meta) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from floodcast.io.plotting import hillshade

    pick = sorted({0, len(leads) // 3, 2 * len(leads) // 3, len(leads) - 1})
    fig, axes = plt.subplots(1, len(pick), figsize=(3.2 * len(pick), 3.4), squeeze=False)
    shade = hillshade(dem.elevation, dem.cell_size)
    for ax, j in zip(axes[0], pick):
        ax.imshow(shade, cmap="gray", vmin=0, vmax=1)
        im = ax.imshow(np.ma.masked_less(probs[j], 0.01), cmap="Reds", vmin=0, vmax=1, alpha=0.8)
        ax.set_title(f"+{leads[j].lead_s / 60:g} min", fontsize=9)
        ax.set_axis_off()
    what = (f"probability of flooding ({meta['members']} members)" if meta["members"]
            else "wet (deterministic extrapolation)")
    fig.suptitle(f"floodcast nowcast: {what}", fontsize=10)
    fig.colorbar(im, ax=axes[0].tolist(), fraction=0.03)
    fig.savefig(path, dpi=100)
    plt.close(fig)
