"""Ensemble cycles in the background of watch mode: ingest never waits for them.

After the live solver has taken in a file, the watcher hands :meth:`EnsembleRunner.submit`
a snapshot (solver state and time, recent frames on the DEM grid, for native radar the
recent frames on the radar grid around the DEM, the radar's valid time) and goes on. One
worker thread runs :class:`~floodcast.serve.live_ensemble.LiveEnsemble` cycles on the
newest snapshot: one that arrives while a cycle runs replaces any still
waiting (skipped ones are counted), so the ensemble never falls behind the radar; a cycle
that was too slow for the interval makes the next one run fewer members
(``LiveEnsemble.plan``) and the status says so (``reduced``).

A finished cycle's maps of P(depth > threshold) per lead and threshold are PNG overlays
(``STATE/maps/ens<seq>_lead<k>_p<j>.png``) indexed in ``STATE/maps/ensemble.json``, both
written atomically; ``/maps/latest`` carries the index, ``/metrics`` the status.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from floodcast.io.atomic import atomic_path
from floodcast.serve.live_ensemble import LiveEnsemble
from floodcast.serve.maps import clean, iso
from floodcast.serve.render import png_bytes, probability_rgba

log = logging.getLogger("floodcast.serve")
INDEX_FILE = "ensemble.json"


class EnsembleRunner:
    """One background thread running ensemble cycles on the newest submitted state."""

    def __init__(
        self, ens: LiveEnsemble, folder: Path, lead_min: float, area_m2: float, alerts=None
    ):
        self.ens, self.folder = ens, Path(folder)
        self.alerts = alerts  # serve.live_alerts.LiveAlerts, or None
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lead_min = float(lead_min)
        self.area_km2 = float(area_m2) / 1e6
        self.index_path = self.folder / INDEX_FILE
        self.index: dict = {}
        self.skipped = 0
        self.error: str | None = None
        self.waiting: str | None = "no radar frame yet"
        self.busy = False
        self._pending: tuple | None = None
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        if self.index_path.exists():  # a restarted server shows the last cycle until the next
            try:
                self.index = json.loads(self.index_path.read_text())
            except (OSError, ValueError):
                self.index = {}

    # ------------------------------------------------------------------ hand-over
    def submit(self, live, history: np.ndarray, unix: float, interval_s: float, radar=None) -> None:
        """Queue a cycle from ``live``'s current state (copied now); returns at once.
        ``radar``: the recent native frames on the radar grid around the DEM (a
        RadarSequence, the watcher's :class:`~floodcast.serve.radar_window.RadarWindow`),
        or None for rain given on the DEM grid."""
        if len(history) < 2:
            self.waiting = f"waiting for 2 radar frames (have {len(history)})"
            return
        hist = np.asarray(history[-3:], np.float32).copy()
        job = (snapshot(live), hist, float(unix), float(interval_s), radar)
        with self._cv:
            if self._pending is not None:
                self.skipped += 1  # the newest state wins; the older one is never run
            self._pending = job
            self.waiting = None
            self._cv.notify()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="floodcast-ensemble", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the running cycle (a daemon thread: a long cycle does not hold up exit)."""
        with self._cv:
            self._stop = True
            self._cv.notify()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cv:
                while self._pending is None and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                job, self._pending = self._pending, None
                self.busy = True
            try:
                self.run_cycle(*job)
                self.error = None
            except Exception as exc:  # reported; the next frame tries again
                self.error = f"{type(exc).__name__}: {exc}"[:300]
                log.error("ensemble cycle failed: %s", self.error)
            finally:
                self.busy = False

    # ------------------------------------------------------------------ one cycle
    def run_cycle(
        self, snap, history: np.ndarray, unix: float, interval_s: float, radar=None
    ) -> dict:
        """Run one cycle now (in the caller's thread), render and index it."""
        steps = int(self.lead_min * 60.0 // interval_s)
        if steps < 1:
            raise ValueError(
                f"--lead {self.lead_min:g} min is shorter than the radar interval "
                f"({interval_s / 60:g} min)"
            )
        self.ens.n_steps = steps
        res = self.ens.cycle(history, interval_s, live=snap, radar=radar)
        seq = int(self.index.get("seq", 0)) + 1
        leads = []
        for k, lead_s in enumerate(res.lead_s):
            row: dict = {
                "lead_min": float(lead_s) / 60.0,
                "unix": unix + float(lead_s),
                "time": iso(unix + float(lead_s)),
                "rain_mean_mmh": float(res.rain_mean_mmh[k]),
                "probability": {},
                "max_probability": {},
                "area_p50_km2": {},
            }
            for j, thr in enumerate(res.thresholds):
                p = res.probability[k, j]
                key = f"{thr:g}"
                row["probability"][key] = self._png(f"ens{seq:06d}_lead{k + 1}_p{j}.png", p)
                row["max_probability"][key] = float(p.max()) if p.size else 0.0
                row["area_p50_km2"][key] = float((p >= 0.5).sum() * self.area_km2)
            leads.append(row)
        index = {
            "seq": seq,
            "analysis_time": iso(unix),
            "analysis_unix": unix,
            "interval_s": interval_s,
            "lead_min": steps * interval_s / 60.0,
            "thresholds_m": list(res.thresholds),
            **self.ens.status(),  # with "method": steps, or extrapolation and why
            "leads": leads,
        }
        if self.alerts is not None:
            try:  # a failing target is in its row; anything else must not lose the maps
                index["alerts"] = self.alerts.check(res, unix)
            except Exception as exc:
                index["alerts_error"] = f"{type(exc).__name__}: {exc}"[:300]
                log.error("alerts not evaluated: %s", index["alerts_error"])
        index = clean(index)
        with atomic_path(self.index_path) as tmp:
            tmp.write_text(json.dumps(index, indent=1))
        self.index = index
        self._prune(seq)
        log.info(
            "ensemble cycle %d: %d members x %d leads in %.1f s",
            seq,
            res.members,
            steps,
            self.ens.cycle_s,
        )
        return index

    def _png(self, name: str, p: np.ndarray) -> str:
        with atomic_path(self.folder / name) as tmp:
            tmp.write_bytes(png_bytes(probability_rgba(p)))
        return f"/maps/files/{name}"

    def _prune(self, seq: int) -> None:
        """Drop overlays older than the previous cycle (a page may still be loading those)."""
        for p in self.folder.glob("ens*.png"):
            if int(p.name[3:9]) < seq - 1:
                p.unlink(missing_ok=True)

    # ------------------------------------------------------------------ reading
    def latest(self) -> dict:
        """The last cycle's index (leads with overlay URLs) and the current status."""
        return {**self.index, "status": self.status()}

    def status(self) -> dict:
        """Members run / requested, reduced, cycle time, real-time factor, skipped, error."""
        st = self.ens.status() if self.ens.cycles else {}
        return {
            **st,
            "members_requested": self.ens.requested,
            "lead_min": self.lead_min,
            "thresholds_m": list(self.ens.thresholds),
            "cycles_skipped": self.skipped,
            "busy": self.busy,
            "waiting": self.waiting,
            "error": self.error,
            "analysis_time": self.index.get("analysis_time"),
            "alerts": self.alerts.status() if self.alerts is not None else None,
        }


def snapshot(live) -> SimpleNamespace:
    """What a cycle needs of the live solver, taken now (it goes on stepping meanwhile)."""
    return SimpleNamespace(
        state=None if live.state is None else dict(live.state),  # arrays never mutated
        t=float(live.t),
        elevation=live.elevation,
        cell_size=live.cell_size,
        config=live.config,
    )


def runner_for(live, cfg, interval_s: float, folder: Path, dem) -> EnsembleRunner:
    """The runner of ``serve --watch`` (``cfg``: its ServeConfig): ``cfg.ensemble`` members
    for ``cfg.lead_min``, alerts from ``cfg.alerts``; InputError naming --lead unless a
    multiple of ``interval_s``, or naming --alert/--notify."""
    from floodcast.predict.flood_nowcast import lead_steps
    from floodcast.serve.live_alerts import LiveAlerts

    lead_steps(cfg.lead_min, interval_s)
    alerts = LiveAlerts.parse(cfg.alerts, cfg.notify, cfg.map_url, dem, Path(folder).parent)
    thresholds = set(cfg.thresholds) | (alerts.depths if alerts else set())
    ens = LiveEnsemble(live, members=cfg.ensemble, thresholds=tuple(sorted(thresholds)), dem=dem)
    return EnsembleRunner(ens, folder, cfg.lead_min, dem.cell_size**2, alerts)
