"""Prometheus metrics of the server: requests, latency, model, input drift, live physics.

Each app has its own ``CollectorRegistry`` (tests build several apps in one process).
Input drift compares the rain of recent inputs with the training set's statistics
stored in the checkpoint (``stats.rain_mean`` / ``stats.rain_std``, mm/h over every
training frame): the standardised mean shift ``(mean_recent - mean_train) / std_train``
and the ratio of standard deviations, plus a histogram of recent rain values.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RAIN_BUCKETS = (0.1, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
_SAMPLE = 4096  # values kept per input for the histogram (a strided subsample)


class DriftTracker:
    """Rain statistics of the last ``window`` inputs against the training statistics."""

    def __init__(self, train_mean: float, train_std: float, window: int = 50):
        self.train_mean, self.train_std = float(train_mean), float(train_std)
        self._inputs: deque[tuple[float, float, int, np.ndarray]] = deque(maxlen=window)
        self._lock = threading.Lock()

    def record(self, frames: np.ndarray) -> None:
        """Add one input's rain frames (mm/h) to the window."""
        a = np.asarray(frames, np.float32).ravel()
        if a.size == 0:
            return
        step = max(1, a.size // _SAMPLE)
        # no float64 copy of the frames: it cost 3 ms per 7 x 256 x 256 request
        s, s2 = float(a.sum(dtype=np.float64)), float(np.dot(a, a))
        with self._lock:
            self._inputs.append((s, s2, a.size, a[::step].astype(np.float64)))

    def summary(self) -> dict[str, float]:
        with self._lock:
            items = list(self._inputs)
        if not items:
            return {"inputs": 0}
        s = sum(i[0] for i in items)
        s2 = sum(i[1] for i in items)
        n = sum(i[2] for i in items)
        mean = s / n
        std = math.sqrt(max(s2 / n - mean * mean, 0.0))
        vals = np.concatenate([i[3] for i in items])
        ts = self.train_std if self.train_std > 0 else math.nan
        return {
            "inputs": len(items),
            "mean": mean,
            "std": std,
            "wet_fraction": float(np.mean(vals >= 0.1)),
            "p99": float(np.quantile(vals, 0.99)),
            "mean_shift_z": (mean - self.train_mean) / ts,
            "std_ratio": std / ts,
            "values": vals,
        }


class ServeMetrics:
    """The metrics of one app; ``status`` supplies watch-mode and live-physics figures."""

    def __init__(
        self,
        model_info: dict[str, str],
        train_stats: dict,
        status: Callable[[], dict] | None = None,
    ):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "floodcast_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "floodcast_request_latency_seconds",
            "Request latency by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.predict_errors = Counter(
            "floodcast_predict_rejected",
            "POST /predict inputs refused (4xx) by reason",
            ["reason"],
            registry=self.registry,
        )
        info = Gauge(
            "floodcast_model_info",
            "Model being served (value 1)",
            sorted(model_info),
            registry=self.registry,
        )
        info.labels(**model_info).set(1)
        self.drift = DriftTracker(
            train_stats.get("rain_mean", math.nan), train_stats.get("rain_std", math.nan)
        )
        self.status = status or (dict)
        self.registry.register(_LiveCollector(self))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _gauge(name: str, doc: str, value: float | None, labels: dict | None = None):
    g = GaugeMetricFamily(name, doc, labels=sorted(labels) if labels else None)
    if value is not None and not (isinstance(value, float) and math.isnan(value)):
        if labels:
            g.add_metric([str(labels[k]) for k in sorted(labels)], float(value))
        else:
            g.add_metric([], float(value))
    return g


class _LiveCollector:
    """Collects drift, watch-mode and live-physics figures at scrape time."""

    def __init__(self, m: ServeMetrics):
        self.m = m

    def describe(self):  # no fixed description: values come from status() at scrape time
        return []

    def collect(self):
        d = self.m.drift.summary()
        tr = self.m.drift
        yield _gauge("floodcast_input_drift_inputs", "Inputs in the drift window", d["inputs"])
        for which, mean, std in (
            ("recent", d.get("mean"), d.get("std")),
            ("training", tr.train_mean, tr.train_std),
        ):
            yield _gauge(
                "floodcast_input_rain_mean_mmh", "Mean rain rate (mm/h)", mean, {"set": which}
            )
            yield _gauge(
                "floodcast_input_rain_std_mmh", "Std of rain rate (mm/h)", std, {"set": which}
            )
        yield _gauge(
            "floodcast_input_drift_mean_shift",
            "Recent minus training mean rain, in training standard deviations",
            d.get("mean_shift_z"),
        )
        yield _gauge(
            "floodcast_input_drift_std_ratio", "Recent / training std of rain", d.get("std_ratio")
        )
        yield _gauge(
            "floodcast_input_rain_p99_mmh", "99th percentile of recent rain (mm/h)", d.get("p99")
        )
        yield _gauge(
            "floodcast_input_wet_fraction",
            "Fraction of recent rain values >= 0.1 mm/h",
            d.get("wet_fraction"),
        )
        if "values" in d:
            v = d["values"]
            counts = [(str(b), float(np.sum(v <= b))) for b in RAIN_BUCKETS]
            h = HistogramMetricFamily(
                "floodcast_input_rain_mmh", "Recent input rain values (subsample, mm/h)"
            )
            h.add_metric([], counts + [("+Inf", float(v.size))], float(v.sum()))
            yield h
        yield from _status_gauges(self.m.status())


def _status_gauges(st: dict):
    w = st.get("watch") or {}
    if w:
        yield _gauge("floodcast_watch_frames", "Radar frames ingested", w.get("frames", 0))
        yield _gauge(
            "floodcast_watch_rejected_files",
            "Radar files skipped (corrupt or invalid)",
            w.get("rejected", 0),
        )
        yield _gauge(
            "floodcast_latest_map_timestamp_seconds",
            "Unix time of the latest map",
            w.get("latest_unix"),
        )
        yield _gauge(
            "floodcast_watch_update_seconds",
            "Wall time of the last whole update (read, physics, nowcast, model maps, overlays)",
            w.get("update_s"),
        )
        yield _gauge(
            "floodcast_nowcast_persistence",
            "1 if the nowcast holds the last frame (no motion field), 0 if extrapolated",
            w.get("persistence"),
        )
    p = st.get("physics") or {}
    if p:
        yield _gauge(
            "floodcast_physics_keeps_up",
            "1 if the live solver keeps up with real time",
            p.get("keeps_up"),
        )
        yield _gauge(
            "floodcast_physics_realtime_factor",
            "Radar interval / wall time of one "
            "live update (observed interval + nowcast leads); > 1 keeps up",
            p.get("realtime_factor"),
        )
        yield _gauge(
            "floodcast_physics_advance_seconds",
            "Wall time to advance the solver one observed radar interval",
            p.get("advance_s"),
        )
        yield _gauge(
            "floodcast_physics_update_seconds",
            "Wall time of one live update (observed interval + nowcast leads)",
            p.get("update_s"),
        )
        yield _gauge(
            "floodcast_physics_sim_time_seconds", "Simulated time of the live solver", p.get("t_s")
        )
        yield _gauge("floodcast_physics_cells", "Cells of the live physics domain", p.get("cells"))
    yield from _ensemble_gauges(st.get("ensemble") or {})
    csi = st.get("csi") or {}
    g = GaugeMetricFamily(
        "floodcast_model_physics_csi",
        "CSI of the model's wet map against the physics wet map, by lead time (minutes)",
        labels=["lead_min"],
    )
    for lead, v in sorted(csi.items()):
        if v is not None and not math.isnan(v):
            g.add_metric([str(lead)], float(v))
    yield g


def _ensemble_gauges(e: dict):
    """The live ensemble (serve --watch --ensemble M): members, cycle time, keeping up."""
    if not e:
        return
    for name, doc, key in (
        ("members_requested", "Members asked for per cycle (--ensemble)", "members_requested"),
        ("members_run", "Members the last ensemble cycle ran", "members_run"),
        ("reduced", "1 if the last cycle ran fewer members than asked, to keep up", "reduced"),
        ("cycle_seconds", "Wall time of the last ensemble cycle", "cycle_s"),
        ("steps_seconds", "Rain nowcast (STEPS + regridding) part of the cycle", "steps_s"),
        (
            "unknown_rain_fraction",
            "Share of forecast rain unknown (no coverage) = 0",
            "unknown_rain_fraction",
        ),
        (
            "steps_fallbacks_total",
            "Cycles where STEPS failed and extrapolation stood in",
            "steps_fallbacks",
        ),
        (
            "realtime_factor",
            "Radar interval / wall time of the last cycle; > 1 keeps up",
            "realtime_factor",
        ),
        ("cycles_total", "Ensemble cycles run", "cycles"),
        (
            "cycles_skipped_total",
            "States replaced by a newer one before their cycle ran",
            "cycles_skipped",
        ),
        ("lead_minutes", "Lead of the live ensemble (minutes)", "lead_min"),
    ):
        v = e.get(key)
        yield _gauge(f"floodcast_ensemble_{name}", doc, None if v is None else float(v))
    al = e.get("alerts") or {}
    if al:
        yield _gauge("floodcast_alerts_sent_total", "Alerts sent (--alert/--notify)", al["sent"])
        yield _gauge(
            "floodcast_alerts_failed_total", "Alerts a target refused (retried)", al["failed"]
        )
