"""The latest maps of watch mode: model + physics flood maps now and at each nowcast lead.

After each radar file the watcher calls :meth:`MapBoard.update`: the radar is
extrapolated ahead (pysteps, via :func:`floodcast.predict.nowcast.extrapolate`; when
that cannot run, e.g. with one frame, the last frame is held: persistence, and the
board says so), the model maps now and at each lead (:func:`flood_nowcast`), the live
solver is driven ahead by the same nowcast rain, and the two wet maps are compared
(CSI). PNG overlays go to ``STATE/maps/`` and the index of them to ``latest.json``,
both written atomically; the page and ``GET /maps/latest`` read that index.
"""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from floodcast.io.atomic import atomic_path
from floodcast.io.dem import Dem
from floodcast.metrics import csi
from floodcast.predict.mapper import FloodMap, FloodMapper
from floodcast.serve.live import LivePhysics
from floodcast.serve.render import flood_rgba, png_bytes, radar_rgba

HISTORY_STEPS = 12  # observed steps kept on the page's slider (1 h of 5-min frames)


def iso(unix: float) -> str:
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def nowcast_rain(
    frames: np.ndarray, n_steps: int, cell_size: float, interval_s: float
) -> tuple[np.ndarray, str]:
    """Rain ``n_steps`` ahead [n, y, x] (mm/h, NaN unknown) and how it was made."""
    if n_steps < 1:
        return np.zeros((0, *frames.shape[1:]), np.float32), "none"
    why = "one frame only"
    if frames.shape[0] >= 2:
        try:
            from floodcast.predict.nowcast import extrapolate

            fc = extrapolate(frames, n_steps, cell_size_m=cell_size, interval_s=interval_s)
            return np.asarray(fc, np.float32), "extrapolation (pysteps optical flow)"
        except ImportError:
            why = "floodcast.predict.nowcast unavailable"
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"[:200]
    last = np.nan_to_num(frames[-1])
    return np.repeat(last[None], n_steps, 0).astype(np.float32), f"persistence ({why})"


class MapBoard:
    """Computes, renders and indexes the latest maps; thread-safe readers via :meth:`latest`."""

    def __init__(
        self,
        dem: Dem,
        mapper: FloodMapper | None,
        folder: Path,
        lock: threading.Lock,
        n_leads: int = 6,
        cut: float = 0.5,
    ):
        self.dem, self.mapper, self.lock = dem, mapper, lock
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.n_leads, self.cut = int(n_leads), cut
        self.index_path = self.folder / "latest.json"
        self.index: dict = {}
        self.model_map: FloodMap | None = None
        self.csi: dict[int, float] = {}
        self._guard = threading.Lock()
        self._updating = threading.Lock()
        if self.index_path.exists():
            try:
                self.index = json.loads(self.index_path.read_text())
                self.csi = {int(k): v for k, v in self.index.get("csi", {}).items()}
            except (OSError, ValueError):
                self.index = {}

    def latest(self) -> dict:
        with self._guard:
            return dict(self.index)

    def _png(self, name: str, rgba: np.ndarray) -> str:
        with atomic_path(self.folder / name) as tmp:
            tmp.write_bytes(png_bytes(rgba))
        return f"/maps/files/{name}"

    def update(
        self, history: np.ndarray, unix: float, interval_s: float, live: LivePhysics | None
    ) -> dict:
        """New maps after radar frame ``history[-1]`` (valid at ``unix``); returns the index."""
        with self._updating:  # one update at a time (watcher and ``POST /predict?publish``)
            return self._update(history, unix, interval_s, live)

    def _update(
        self, history: np.ndarray, unix: float, interval_s: float, live: LivePhysics | None
    ) -> dict:
        seq = int(self.index.get("seq", 0)) + 1
        fc, how = nowcast_rain(history, self.n_leads, self.dem.cell_size, interval_s)
        model, model_note = self._model_maps(history, fc, interval_s)
        t0 = time.perf_counter()
        phys = ([live.depth] + live.forecast(fc, interval_s)) if live is not None else []
        if live is not None:
            live.update_s = live.advance_s + (time.perf_counter() - t0)
        steps, csis = [], {}
        area_km2 = self.dem.cell_size**2 / 1e6
        for k in range(len(fc) + 1):
            pwet = live.wet(phys[k]) if live is not None else None
            fm = model[k] if model else None
            prob = fm.probability if fm is not None else np.zeros(self.dem.shape, np.float32)
            rain = history[-1] if k == 0 else fc[k - 1]
            tag = "obs" if k == 0 else f"lead{k}"
            step = {
                "kind": "observed" if k == 0 else "nowcast",
                "lead_min": k * interval_s / 60,
                "unix": unix + k * interval_s,
                "time": iso(unix + k * interval_s),
                "radar": self._png(f"{seq:06d}_{tag}_radar.png", radar_rgba(rain)),
                "flood": self._png(f"{seq:06d}_{tag}_flood.png", flood_rgba(prob, pwet)),
                "rain_mean_mmh": float(np.nanmean(rain)) if np.isfinite(rain).any() else None,
                "model_wet_km2": float(fm.wet.sum() * area_km2) if fm is not None else None,
                "physics_wet_km2": float(pwet.sum() * area_km2) if pwet is not None else None,
            }
            if fm is not None and pwet is not None:
                c = csi(fm.wet, pwet)
                step["csi"] = None if math.isnan(c) else c
                csis[round(k * interval_s / 60)] = c
            steps.append(step)
        observed = [
            s
            for s in self.index.get("steps", [])
            if s["kind"] == "observed" and s.get("unix") != unix
        ]  # a file re-ingested after a restart: once
        observed = (observed + [steps[0]])[-HISTORY_STEPS:]
        index = {
            "seq": seq,
            "updated": iso(time.time()),
            "valid_time": iso(unix),
            "interval_s": interval_s,
            "nowcast": how,
            "model": model_note,
            "steps": observed + steps[1:],
            "csi": {str(k): v for k, v in csis.items()},
            "physics": live.status() if live is not None else None,
        }
        with atomic_path(self.index_path) as tmp:
            tmp.write_text(json.dumps(clean(index), indent=1))
        with self._guard:
            self.index, self.csi = clean(index), csis
            self.model_map = model[0] if model else None
        self._prune(index)
        return index

    def _model_maps(
        self, history: np.ndarray, fc: np.ndarray, interval_s: float
    ) -> tuple[list[FloodMap], str]:
        m = self.mapper
        if m is None:
            return [], "no model"
        if history.shape[0] < m.frames:
            return [], f"waiting for {m.frames} radar frames (have {history.shape[0]})"
        from floodcast.predict.nowcast import flood_nowcast

        with self.lock:
            leads = (
                flood_nowcast(
                    m,
                    history,
                    self.dem.elevation,
                    self.dem.cell_size,
                    interval_s,
                    len(fc),
                    forecast_on_dem=fc,
                    cut=self.cut,
                )
                if len(fc)
                else [
                    _Lead(
                        m.predict(
                            np.nan_to_num(history),
                            self.dem.elevation,
                            self.dem.cell_size,
                            interval_s,
                            cut=self.cut,
                        )
                    )
                ]
            )
        return [ld.fmap for ld in leads], "ok"

    def _prune(self, index: dict) -> None:
        keep = {Path(s[key]).name for s in index["steps"] for key in ("radar", "flood")}
        for p in self.folder.glob("[0-9]*.png"):  # ens*.png: the ensemble runner's
            if p.name not in keep:
                p.unlink(missing_ok=True)


class _Lead:
    def __init__(self, fmap: FloodMap):
        self.fmap = fmap


def clean(o):
    """JSON-safe copy: numpy scalars to Python, NaN/inf to None (browsers reject NaN)."""
    if isinstance(o, dict):
        return {str(k): clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [clean(v) for v in o]
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o
