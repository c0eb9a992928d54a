"""Alerts from the live ensemble: ``serve --watch --alert AREA.geojson:DEPTH:PROB:LEAD``.

The rules, the once-per-event memory and the sending are those of ``floodcast nowcast``
(:mod:`floodcast.predict.alerts`): after each ensemble cycle every polygon whose probability
of depth above DEPTH within LEAD minutes reaches PROB is sent to every ``--notify`` apprise
URL, once per event (re-armed when it drops below); a target that fails is reported and
tried again next cycle. The memory is ``STATE/alerts_state.json``, so a restarted server
does not repeat an alert. It runs in the ensemble thread: ingest never waits for a target.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.predict.alerts import AlertArea

log = logging.getLogger("floodcast.serve")
STATE_FILE = "alerts_state.json"


@dataclass
class LiveAlerts:
    """The parsed ``--alert`` polygons, the ``--notify`` targets and what was sent."""

    areas: list[AlertArea]
    dem: Dem
    notify: list[str]
    map_url: str
    state_path: Path
    sent: int = 0
    failed: int = 0
    last: list[dict] = field(default_factory=list)

    @classmethod
    def parse(
        cls, specs: list[str], notify: list[str], map_url: str, dem: Dem, state_dir: Path
    ) -> LiveAlerts | None:
        """None without ``--alert``; InputError naming the option for bad specs or files."""
        if notify and not specs:
            raise InputError("--notify needs at least one --alert AREA.geojson:DEPTH:PROB:LEAD")
        if not specs:
            return None
        from floodcast.predict.alerts import parse_alerts

        areas = parse_alerts(list(specs), dem)
        return cls(areas, dem, list(notify), map_url, Path(state_dir) / STATE_FILE)

    @property
    def depths(self) -> set[float]:
        """Thresholds the ensemble must compute for these alerts."""
        return {a.depth_m for a in self.areas}

    def check(self, res, unix: float) -> list[dict]:
        """Evaluate the cycle ``res`` (valid from ``unix``), send what is due; never raises
        for a target (its errors are in the rows)."""
        from floodcast.predict.alerts import commit_alert_state, evaluate_alerts, send_alerts

        t_last = np.datetime64(int(unix), "s")
        rows = evaluate_alerts(self.areas, res, self.dem, t_last, self.state_path)
        rows = send_alerts(rows, self.notify, self.map_url, log.warning)
        commit_alert_state(self.state_path, rows)
        due = [r for r in rows if r["send"]]
        self.sent += sum(bool(r["sent"]) for r in due)
        self.failed += sum(not r["sent"] for r in due)
        self.last = [{k: v for k, v in r.items() if k != "key"} for r in rows]
        return self.last

    def status(self) -> dict:
        return {
            "areas": len(self.areas),
            "targets": len(self.notify),
            "sent": self.sent,
            "failed": self.failed,
        }
