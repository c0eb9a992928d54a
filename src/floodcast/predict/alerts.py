"""Flood alerts from the nowcast: ``--alert AREA.geojson:DEPTH_M:PROB:LEAD_MIN`` + ``--notify``.

An alert fires for a polygon of AREA (named by its ``name`` property) when, over its cells,
the probability that the depth goes above DEPTH_M at some time within LEAD_MIN minutes
reaches PROB. It fires once per polygon and event: the alert state (a JSON file kept beside
the outputs) remembers fired polygons until their probability drops below PROB again
(re-armed). Messages go through apprise (ntfy, Telegram, e-mail, JSON webhooks ...); a target
that fails is retried, reported, and left un-fired so the next cycle tries again — it never
stops the forecast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.predict.flood_nowcast import valid_time

RETRIES = 3  # attempts per target and message
RETRY_WAIT_S = 0.5


@dataclass
class AlertArea:
    """One polygon of one ``--alert``: its cells on the DEM grid and the rule."""

    spec: str
    name: str
    mask: np.ndarray  # bool [y, x]
    depth_m: float
    prob: float
    lead_min: float

    @property
    def key(self) -> str:
        return (
            f"{Path(self.spec).name}|{self.name}|{self.depth_m:g}|{self.prob:g}|{self.lead_min:g}"
        )


def parse_alert(spec: str) -> tuple[Path, float, float, float]:
    """``AREA.geojson:DEPTH_M:PROB:LEAD_MIN`` -> (path, depth, prob, lead); InputError."""
    parts = spec.rsplit(":", 3)
    if len(parts) != 4:
        raise InputError(f"--alert {spec!r}: expected AREA.geojson:DEPTH_M:PROB:LEAD_MIN")
    try:
        depth, prob, lead = (float(v) for v in parts[1:])
    except ValueError as exc:
        raise InputError(f"--alert {spec!r}: DEPTH_M, PROB and LEAD_MIN must be numbers") from exc
    if not depth > 0 or not 0 < prob <= 1 or not lead > 0:
        raise InputError(f"--alert {spec!r}: need DEPTH_M > 0, 0 < PROB <= 1, LEAD_MIN > 0")
    return Path(parts[0]), depth, prob, lead


def parse_alerts(specs: list[str], dem: Dem) -> list[AlertArea]:
    """Every polygon of every ``--alert`` rasterised on the DEM grid (GeoJSON in WGS 84, or
    in the CRS its ``crs`` member names). InputError for invalid files or no overlap."""
    from rasterio.features import rasterize
    from rasterio.warp import transform_geom

    if not dem.georeferenced:
        raise InputError(f"--alert needs a georeferenced DEM; {dem.source} has no CRS")
    out = []
    for spec in specs:
        path, depth, prob, lead = parse_alert(spec)
        try:
            gj = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"--alert {path}: not a readable GeoJSON file ({exc})") from exc
        feats = gj.get("features") if isinstance(gj, dict) else None
        if gj.get("type") == "Feature" if isinstance(gj, dict) else False:
            feats = [gj]
        if not feats:
            raise InputError(f"--alert {path}: no features (need a FeatureCollection of polygons)")
        src_crs = (gj.get("crs") or {}).get("properties", {}).get("name", "EPSG:4326")
        for i, f in enumerate(feats):
            geom = (f or {}).get("geometry") or {}
            if geom.get("type") not in ("Polygon", "MultiPolygon"):
                raise InputError(
                    f"--alert {path}: feature {i} is {geom.get('type')!r}, not a "
                    "Polygon/MultiPolygon"
                )
            name = str((f.get("properties") or {}).get("name") or f"{path.stem}-{i}")
            try:
                g = transform_geom(src_crs, dem.crs, geom)
                mask = rasterize(
                    [(g, 1)],
                    out_shape=dem.shape,
                    transform=dem.transform,
                    all_touched=True,
                    fill=0,
                    dtype="uint8",
                ).astype(bool)
            except Exception as exc:  # bad coordinates: rasterio/GDAL raise their own types
                raise InputError(f"--alert {path}: feature {name!r} is invalid ({exc})") from exc
            mask &= np.isfinite(dem.elevation)
            if not mask.any():
                raise InputError(
                    f"--alert {path}: polygon {name!r} does not overlap the DEM {dem.source}"
                )
            out.append(AlertArea(spec, name, mask, depth, prob, lead))
    return out


def evaluate_alerts(areas: list[AlertArea], fc, dem: Dem, t_last, state_path: Path) -> list[dict]:
    """One record per polygon: peak probability, first exceedance, and whether to send
    (reached now and not already fired in this event, per the alert state file)."""
    fired = _read_state(state_path)
    rows = []
    for a in areas:
        j = int(np.argmin([abs(t - a.depth_m) for t in fc.thresholds]))
        if abs(fc.thresholds[j] - a.depth_m) > 1e-9:
            raise InputError(
                f"--alert depth {a.depth_m:g} m is not among the thresholds {list(fc.thresholds)}"
            )
        leads = fc.lead_s / 60.0 <= a.lead_min + 1e-9
        p = fc.probability_within[leads, j][:, a.mask].max(1) if leads.any() else np.zeros(1)
        peak = float(p.max())
        over = np.flatnonzero(p >= a.prob)
        first = None
        if over.size:
            ls = float(fc.lead_s[over[0]])
            first = valid_time(t_last, ls) or f"+{ls / 60:g} min"
        reached = bool(over.size)
        rows.append(
            {
                "key": a.key,
                "name": a.name,
                "area": str(a.spec),
                "depth_m": a.depth_m,
                "prob": a.prob,
                "lead_min": a.lead_min,
                "peak_probability": peak,
                "first_exceedance": first,
                "reached": reached,
                "send": reached and a.key not in fired,
                "was_fired": a.key in fired,
                "sent": False,
                "errors": [],
            }
        )
    return rows


def send_alerts(
    rows: list[dict],
    urls: list[str],
    map_url: str = "",
    echo: Callable[[str], None] = print,
    retries: int = RETRIES,
    wait_s: float | None = None,
) -> list[dict]:
    """Send the rows marked ``send`` to every apprise URL (retried); never raises."""
    import apprise

    wait_s = RETRY_WAIT_S if wait_s is None else wait_s
    for r in rows:
        if not r["send"]:
            continue
        title = f"floodcast: flood risk at {r['name']}"
        body = (
            f"P(depth > {r['depth_m']:g} m within {r['lead_min']:g} min) reached "
            f"{r['peak_probability']:.2f} (alert at {r['prob']:g}) over {r['name']}; "
            f"first exceedance {r['first_exceedance']}." + (f" Map: {map_url}" if map_url else "")
        )
        ok_all = bool(urls)
        for url in urls:
            ok = False
            for attempt in range(retries):
                ap = apprise.Apprise()
                if not ap.add(url):
                    r["errors"].append(f"{_redact(url)}: not a valid apprise URL")
                    break
                try:
                    ok = bool(ap.notify(title=title, body=body))
                except Exception as exc:
                    r["errors"].append(f"{_redact(url)}: {exc}")
                if ok:
                    break
                time.sleep(wait_s * (attempt + 1))
            if not ok:
                echo(
                    f"alert for {r['name']}: sending to {_redact(url)} failed after retries; "
                    "will retry next cycle"
                )
            ok_all &= ok
        r["sent"] = ok_all
        r["message"] = body
    return rows


def _redact(url: str) -> str:
    """The URL's scheme and host only (tokens and passwords stay out of logs)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/')[0].split('@')[-1]}"


def _read_state(path: Path) -> set[str]:
    try:
        return set(json.loads(Path(path).read_text()).get("fired", []))
    except (OSError, ValueError):
        return set()


def commit_alert_state(path: Path, rows: list[dict]) -> None:
    """Fired polygons stay fired while reached; one that dropped below is re-armed; one that
    could not be sent stays un-fired (retried next cycle)."""
    from floodcast.io.atomic import atomic_path

    fired = sorted({r["key"] for r in rows if r["reached"] and (r["sent"] or r["was_fired"])})
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps({"fired": fired}, indent=2))
