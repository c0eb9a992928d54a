"""Outputs of the model-engine nowcast: per-lead flood maps, probability maps, nowcast.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def write_model_nowcast(out: Path, leads, fc, dem, meta: dict, t_last) -> dict:
    """Per-lead folders (write_outputs) + flooding-probability maps + nowcast.json, atomically."""
    from floodcast.io.atomic import atomic_dir
    from floodcast.io.geotiff import write_geotiff
    from floodcast.io.writers import write_rain_netcdf
    from floodcast.predict.flood_nowcast import valid_time
    from floodcast.predict.outputs import write_outputs

    interval = meta["interval_s"]
    rows = []
    with atomic_dir(out) as tmp:
        probs = []
        for lead in leads:
            mins = lead.lead_s / 60.0
            sub = tmp / f"lead_{round(mins):03d}min"
            valid = valid_time(t_last, lead.lead_s)
            lm = {
                **meta,
                "lead_min": mins,
                "valid_time": valid,
                "title": f"floodcast nowcast +{mins:g} min: wet (> {meta['threshold_m']} m) "
                f"{'mean ' if lead.flood_probability is not None else ''}probability",
            }
            write_outputs(sub, lead.fmap, dem, lm)
            pf = lead.flood_probability
            if pf is None:
                pf = lead.fmap.wet.astype(np.float32)
            else:
                write_geotiff(
                    sub / "flooding_probability.tif",
                    pf,
                    dem,
                    tags={**lm, "meaning": "fraction of ensemble members wet"},
                )
            probs.append(pf)
            rows.append(
                {
                    "lead_min": mins,
                    "valid_time": valid,
                    "wet_cells": int(lead.fmap.wet.sum()),
                    "wet_area_m2": float(lead.fmap.wet.sum() * dem.cell_size**2),
                    "max_flooding_probability": float(pf.max()),
                    "cells_p_ge_0.5": int((pf >= 0.5).sum()),
                    "rain_mean_mmh": lead.rain_mean_mmh,
                    "unknown_rain_fraction": lead.unknown_rain_fraction,
                }
            )
        peak = np.max(probs, 0).astype(np.float32)
        write_geotiff(
            tmp / "flooding_probability_peak.tif",
            peak,
            dem,
            tags={
                "meaning": "max over lead times of the probability of flooding "
                "(fraction of members wet; 0/1 when deterministic)"
            },
        )
        probability_png(tmp / "flooding_probability.png", probs, leads, dem, meta)
        ens = np.asarray(fc if fc.ndim == 3 else np.nanmean(fc, 0), np.float32)
        write_rain_netcdf(
            tmp / "rain_forecast.nc",
            ens,
            np.arange(ens.shape[0]) * interval,
            dem,
            start_time=t_last,
        )  # simulate --rain reads it back
        summary = {
            **meta,
            "leads": rows,
            "rain_forecast": "rain_forecast.nc: CF NetCDF forecast on the DEM grid "
            "(mm/h, ensemble mean when --ensemble), NaN = unknown",
        }
        (tmp / "nowcast.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def probability_png(path: Path, probs, leads, dem, meta) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from floodcast.io.plotting import hillshade

    pick = sorted({0, len(leads) // 3, 2 * len(leads) // 3, len(leads) - 1})
    fig, axes = plt.subplots(1, len(pick), figsize=(3.2 * len(pick), 3.4), squeeze=False)
    shade = hillshade(dem.elevation, dem.cell_size)
    for ax, j in zip(axes[0], pick, strict=False):
        ax.imshow(shade, cmap="gray", vmin=0, vmax=1)
        im = ax.imshow(np.ma.masked_less(probs[j], 0.01), cmap="Reds", vmin=0, vmax=1, alpha=0.8)
        ax.set_title(f"+{leads[j].lead_s / 60:g} min", fontsize=9)
        ax.set_axis_off()
    what = (
        f"probability of flooding ({meta['members']} members)"
        if meta["members"]
        else "wet (deterministic extrapolation)"
    )
    fig.suptitle(f"floodcast nowcast: {what}", fontsize=10)
    fig.colorbar(im, ax=axes[0].tolist(), fraction=0.03)
    fig.savefig(path, dpi=100)
    plt.close(fig)
