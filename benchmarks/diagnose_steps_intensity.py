"""Why are the STEPS members drier than the radar? Rain per lead on one verification start.

For one radar sequence and one start time of ``nowcast verify --flood`` (same DEM window,
same crop), prints per lead the window-mean and crop-mean rain (mm/h) and the crop's wet
fraction (>= 1 mm/h) of the observed frames, deterministic extrapolation, the STEPS member
mean and each member, for each radar margin asked; and STEPS' lag-1 autocorrelation per
cascade level (the AR(2) fit), which is what a too-small grid spoils. Settings are
``defaults.STEPS_OPTIONS``; ``--no-vel-pert`` switches the BPS velocity perturbations off.

    python benchmarks/diagnose_steps_intensity.py --radar fmi --margins 40,100
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re

import numpy as np

R = "../shared/data/radar/pysteps-data/radar"
SPECS = {"fmi": f"fmi:{R}/fmi/pgm", "mch": f"mch:{R}/mch", "bom": f"bom:{R}/bom"}


def lag1(db, velocity, levels, **kw):
    """Lag-1 autocorrelation per cascade level from STEPS' own log (its AR(2) fit)."""
    from pysteps import nowcasts

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        nowcasts.get_method("steps")(
            db, velocity, 1, n_ens_members=1, n_cascade_levels=levels, **kw
        )
    txt = buf.getvalue()
    table = txt[txt.find("Lag-1") : txt.find("AR(p) parameters")]
    return [float(m) for m in re.findall(r"\|\s*\d+\s*\|\s*([0-9.\-]+)\s*\|", table)]


def main() -> None:
    from pysteps.utils import transformation

    from floodcast import defaults
    from floodcast.data.events import radar_window
    from floodcast.evaluation.flood_verify import (
        FloodVerifyRequest,
        _load_dem,
        rainiest_window,
        window_crop,
    )
    from floodcast.io.named_inputs import load_radars
    from floodcast.predict.flood_nowcast import lead_steps
    from floodcast.predict.nowcast import cascade_levels, estimate_motion, extrapolate
    from floodcast.predict.verify import pick_starts

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--radar", default="fmi", choices=sorted(SPECS))
    ap.add_argument("--margins", default="40,100", help="radar margins (km), comma-separated")
    ap.add_argument("--start", type=int, default=2, help="which of the 6 verify starts")
    ap.add_argument("--members", type=int, default=5)
    ap.add_argument("--no-vel-pert", action="store_true")
    a = ap.parse_args()

    dem = _load_dem(FloodVerifyRequest(radar=[], dem="sample", dem_crop=96))
    pieces = load_radars([SPECS[a.radar]], echo=lambda s: None)
    _, seq = max(pieces.items(), key=lambda kv: len(kv[1].times))
    rain = np.asarray(seq.rain_mmh, np.float32)
    rows, cols = radar_window(dem.shape, dem.cell_size, seq.cell_size)
    row0, col0 = rainiest_window(rain, rows, cols)
    k = lead_steps(60.0, seq.interval_s)
    i = pick_starts(list(range(5, rain.shape[0] - k)), 6)[a.start]
    opts = {"vel_pert_method": None} if a.no_vel_pert else {}
    print(
        f"{a.radar} start {seq.times[i]}, {k} leads of {seq.interval_s / 60:g} min, STEPS "
        f"{ {**defaults.STEPS_OPTIONS, **opts} }"
    )
    for margin in [float(m) for m in a.margins.split(",")]:
        crop, wr, wc = window_crop(rain, row0, col0, rows, cols, margin * 1e3 / seq.cell_size)
        r0, c0 = int(round(wr)), int(round(wc))

        def win(x, r0=r0, c0=c0):
            return x[..., r0 : r0 + int(np.ceil(rows)), c0 : c0 + int(np.ceil(cols))]

        past = crop[i - 2 : i + 1]
        obs = np.nan_to_num(crop[i + 1 : i + 1 + k])
        kw = {"cell_size_m": seq.cell_size, "interval_s": seq.interval_s}
        det = np.nan_to_num(extrapolate(past, k, **kw))
        ens = np.nan_to_num(
            extrapolate(past, k, "steps", a.members, seed=i, steps_options=opts, **kw)
        )
        db, _ = transformation.dB_transform(
            np.nan_to_num(past),
            threshold=defaults.STEPS_THRESHOLD_MMH,
            zerovalue=defaults.STEPS_ZERO_DB,
        )
        levels = cascade_levels(db.shape[1:])
        rho = lag1(
            db,
            estimate_motion(db),
            levels,
            precip_thr=-10.0,
            kmperpixel=seq.cell_size / 1e3,
            timestep=seq.interval_s / 60,
            seed=i,
            **{**defaults.STEPS_OPTIONS, "vel_pert_method": None},
        )
        speed = np.hypot(*estimate_motion(db)).mean() * seq.cell_size / seq.interval_s * 3.6
        print(
            f"\n## margin {margin:g} km: crop {crop.shape[1:]}, {levels} cascade levels, "
            f"mean motion {speed:.0f} km/h, lag-1 per level {[round(r, 2) for r in rho]}"
        )
        print(
            "| lead | window obs | det | STEPS mean | members | crop obs | det | STEPS "
            "| wet>=1 obs | det | STEPS |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for j in range(k):
            mem = " ".join(f"{win(e[j]).mean():.1f}" for e in ens)
            print(
                f"| {j + 1} | {win(obs[j]).mean():.2f} | {win(det[j]).mean():.2f} | "
                f"{win(ens[:, j]).mean():.2f} | {mem} | {obs[j].mean():.2f} | "
                f"{det[j].mean():.2f} | {ens[:, j].mean():.2f} | {(obs[j] >= 1).mean():.3f} | "
                f"{(det[j] >= 1).mean():.3f} | {(ens[:, j] >= 1).mean():.3f} |"
            )
        ratio = ens[:, k // 2 - 1].mean() / max(det[k // 2 - 1].mean(), 1e-9)
        print(f"crop-mean STEPS / extrapolation at lead {k // 2}: {ratio:.2f}")


if __name__ == "__main__":
    main()
