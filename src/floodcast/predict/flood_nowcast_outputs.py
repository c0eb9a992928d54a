"""Files of a physics flood nowcast: GeoTIFFs, one CF NetCDF, PNG panels, nowcast.json, state.

Layout of the output folder (written atomically: all of it or nothing):

* ``lead_NNNmin.tif`` per lead: bands P(depth > each threshold), mean depth, p90 depth
  (float32 COG, walls and cells outside the DEM nodata -9999 as every floodcast raster,
  band descriptions set; :func:`floodcast.io.geotiff.write_bands`);
* ``max_over_lead.tif``: highest P over the leads and P(exceeded within the lead) per
  threshold;
* ``nowcast.nc``: CF-1.8 NetCDF, ``probability(time, threshold, y, x)``,
  ``probability_within``, ``mean_depth(time, y, x)``, ``p90_depth``, ``max_probability
  (threshold, y, x)``; CF coordinates and grid mapping from :func:`floodcast.io.cf.make_cf`
  (lon/lat on a geographic DEM, projection x/y on a projected one);
* ``nowcast.png``: probability panels at a few leads and over the lead, with a colour bar;
* ``nowcast.json``: per lead the area with P >= 0.5, the highest P, the mean rain;
* ``state.npz``: the solver state at the end of the observation (hot start of the next run).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from floodcast.io.atomic import atomic_dir
from floodcast.io.dem import Dem
from floodcast.io.geotiff import write_bands
from floodcast.predict.flood_nowcast import FloodNowcast, valid_time


def _mask(a: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return np.where(valid, a, np.nan).astype(np.float32)


def netcdf(path: Path, fc: FloodNowcast, dem: Dem, meta: dict) -> None:
    """CF NetCDF of the nowcast (see the module docstring)."""
    import xarray as xr

    from floodcast.io.cf import GRID_MAPPING, make_cf
    from floodcast.io.writers import grid_coords, write_cf_netcdf

    valid = np.isfinite(dem.elevation)
    x, y, _ = grid_coords(dem)
    lead_min = fc.lead_s / 60.0
    p_attrs = {"units": "1", "valid_range": [0.0, 1.0]}
    ds = xr.Dataset(
        {
            "probability": (
                ("time", "threshold", "y", "x"),
                _mask(fc.probability, valid),
                {
                    **p_attrs,
                    "long_name": "probability of water depth above threshold "
                    "(fraction of ensemble members)",
                },
            ),
            "probability_within": (
                ("time", "threshold", "y", "x"),
                _mask(fc.probability_within, valid),
                {
                    **p_attrs,
                    "long_name": "probability of water depth above "
                    "threshold at some time from the start up to the lead",
                },
            ),
            "mean_depth": (
                ("time", "y", "x"),
                _mask(fc.mean_depth, valid),
                {"units": "m", "long_name": "ensemble mean water depth"},
            ),
            "p90_depth": (
                ("time", "y", "x"),
                _mask(fc.p90_depth, valid),
                {"units": "m", "long_name": "ensemble 90th percentile water depth"},
            ),
            "max_probability": (
                ("threshold", "y", "x"),
                _mask(fc.max_probability, valid),
                {
                    **p_attrs,
                    "long_name": "highest probability of water depth "
                    "above threshold over all leads",
                },
            ),
        },
        coords={
            "time": (
                "time",
                lead_min,
                {
                    "units": "minutes",
                    "long_name": "lead time after the end of the observation",
                    "standard_name": "forecast_period",
                },
            ),
            "threshold": (
                "threshold",
                np.asarray(fc.thresholds, np.float64),
                {"units": "m", "long_name": "water depth threshold"},
            ),
            "y": ("y", y),
            "x": ("x", x),
        },
        attrs={
            "title": "floodcast physics flood nowcast",
            "source": "floodcast local-inertial solver driven by pysteps rain nowcasts",
            **{
                k: json.dumps(v, default=str)
                if isinstance(v, (dict, list, type(None)))
                else (int(v) if isinstance(v, bool) else v)
                for k, v in meta.items()
            },
        },
    )
    ds = make_cf(ds, dem.crs, dem.transform if dem.crs else None)
    write_cf_netcdf(ds, path, compress=[v for v in ds.data_vars if v != GRID_MAPPING])


def lead_rows(fc: FloodNowcast, dem: Dem, t_last) -> list[dict]:
    """Per-lead summary rows of nowcast.json."""
    rows = []
    area = dem.cell_size**2
    for k, ls in enumerate(fc.lead_s):
        row = {
            "lead_min": float(ls / 60.0),
            "valid_time": valid_time(t_last, ls),
            "rain_mean_mmh": float(fc.rain_mean_mmh[k]),
            "mean_depth_max_m": float(np.nanmax(fc.mean_depth[k])),
        }
        for j, th in enumerate(fc.thresholds):
            p = fc.probability[k, j]
            row[f"area_p_ge_0.5_m2@{th:g}m"] = float((p >= 0.5).sum() * area)
            row[f"max_probability@{th:g}m"] = float(p.max())
        rows.append(row)
    return rows


def panels_png(path: Path, fc: FloodNowcast, dem: Dem, title: str) -> None:
    """Probability panels (rows: thresholds; columns: a few leads + max over the lead)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from floodcast.io.plotting import hillshade

    k_n = len(fc.lead_s)
    pick = sorted({0, k_n // 2, k_n - 1})
    cols = len(pick) + 1
    rows = len(fc.thresholds)
    fig, axes = plt.subplots(
        rows, cols, figsize=(2.8 * cols + 0.8, 2.8 * rows + 0.6), squeeze=False
    )
    shade = hillshade(dem.elevation, dem.cell_size)
    im = None
    for j, th in enumerate(fc.thresholds):
        maps = [(fc.probability[k, j], f"+{fc.lead_s[k] / 60:g} min") for k in pick]
        maps.append((fc.max_probability[j], f"max over {fc.lead_s[-1] / 60:g} min"))
        for ax, (p, name) in zip(axes[j], maps, strict=False):
            ax.imshow(shade, cmap="gray", vmin=0, vmax=1)
            im = ax.imshow(np.ma.masked_less(p, 0.01), cmap="YlOrRd", vmin=0, vmax=1, alpha=0.85)
            ax.set_title(f"{name}, depth > {th:g} m", fontsize=8)
            ax.set_axis_off()
    fig.suptitle(title, fontsize=10)
    cb = fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.025)
    cb.set_label("probability (fraction of members)")
    fig.savefig(path, dpi=90)
    plt.close(fig)


def write_flood_nowcast(
    out: Path,
    fc: FloodNowcast,
    dem: Dem,
    meta: dict,
    t_last=None,
    state_fp: str | None = None,
    extra: dict | None = None,
) -> dict:
    """Write every output file (module docstring) into ``out`` atomically; returns the
    nowcast.json content. ``state_fp`` (the fingerprint) enables ``state.npz``."""
    from floodcast.simulation.hotstart import save_state

    valid = np.isfinite(dem.elevation)
    rows = lead_rows(fc, dem, t_last)
    with atomic_dir(out) as tmp:
        for k, ls in enumerate(fc.lead_s):
            bands = [
                (f"P(depth > {th:g} m) at +{ls / 60:g} min", _mask(fc.probability[k, j], valid))
                for j, th in enumerate(fc.thresholds)
            ]
            bands += [
                ("ensemble mean depth (m)", _mask(fc.mean_depth[k], valid)),
                ("ensemble p90 depth (m)", _mask(fc.p90_depth[k], valid)),
            ]
            write_bands(
                tmp / f"lead_{round(ls / 60):03d}min.tif",
                bands,
                dem,
                {"lead_min": ls / 60, "members": fc.members},
            )
        bands = [
            (f"max over lead of P(depth > {th:g} m)", _mask(fc.max_probability[j], valid))
            for j, th in enumerate(fc.thresholds)
        ]
        bands += [
            (
                f"P(depth > {th:g} m at some time within {fc.lead_s[-1] / 60:g} min)",
                _mask(fc.probability_within[-1, j], valid),
            )
            for j, th in enumerate(fc.thresholds)
        ]
        write_bands(tmp / "max_over_lead.tif", bands, dem, {"members": fc.members})
        netcdf(tmp / "nowcast.nc", fc, dem, meta)
        panels_png(
            tmp / "nowcast.png",
            fc,
            dem,
            f"floodcast flood nowcast ({fc.members} member{'s' if fc.members != 1 else ''})",
        )
        if state_fp is not None:
            save_state(
                tmp / "state.npz",
                fc.state,
                state_fp,
                {"analysis_time": None if t_last is None else str(t_last), "dem": dem.source},
            )
        summary = {
            **meta,
            **(extra or {}),
            "members": fc.members,
            "thresholds_m": list(fc.thresholds),
            "wall_s": fc.wall_s,
            "leads": rows,
            "files": sorted(p.name for p in tmp.iterdir()) + ["nowcast.json"],
        }
        (tmp / "nowcast.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
