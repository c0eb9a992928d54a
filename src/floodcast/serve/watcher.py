"""Watch mode: radar files dropped into a folder are ingested in name order.

Native radar files (FMI, MeteoSwiss, OPERA/ODIM, BoM, GeoTIFF, ...; source by
``--watch-source`` or guessed) and rain files on the DEM grid are both read
(:mod:`floodcast.serve.watch_inputs`); each map is stamped with the radar frame's own time.

The folder is polled (portable, works on network mounts; no inotify needed). A file is
taken only once its size and modification time have stayed the same over two polls,
so a file still being copied waits; hidden files (``.name``) and ``*.part``/``*.tmp``
are ignored, and symlinks are not followed. A file that cannot be read or is invalid
is reported (``status()["rejected_files"]``, ``/metrics``) and skipped, and tried again
only if it changes; the watcher keeps running whatever one file does.

After each file the state (live solver, recent frames on the DEM grid, the last native
frames on the radar grid around the DEM for STEPS (:mod:`floodcast.serve.radar_window`),
which files were used) is written atomically to ``STATE/watch_state.npz``; a restarted
server resumes from it and does not ingest the same files twice.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np

from floodcast.errors import InputError
from floodcast.io.atomic import atomic_path, set_aside
from floodcast.io.dem import Dem
from floodcast.serve.live import LivePhysics
from floodcast.serve.maps import MapBoard
from floodcast.serve.radar_window import RadarWindow
from floodcast.serve.watch_inputs import read_drop, watchable

log = logging.getLogger("floodcast.serve")
STATE_FILE = "watch_state.npz"
MAX_HISTORY = 36  # frames kept for the model's window and state channels (3 h of 5-min)


class Watcher:
    """Polls ``folder`` and feeds new radar files to the live solver and the map board."""

    def __init__(
        self,
        folder: Path,
        state_dir: Path,
        dem: Dem,
        board: MapBoard,
        live: LivePhysics | None,
        interval_s: float,
        poll_s: float = 1.0,
        on_frames=None,
        source: str | None = None,
        on_state=None,
    ):
        self.folder, self.state_dir = Path(folder), Path(state_dir)
        self.dem, self.board, self.live = dem, board, live
        self.interval_s = float(interval_s)
        self.poll_s = float(poll_s)
        self.on_frames = on_frames  # callback(frames) for input-drift statistics
        self.source = source  # radar source of native files (None: guessed per file)
        # callback(live, history, unix, interval_s, radar=RadarSequence | None): ensemble cycle
        self.on_state = on_state
        self.last_source: str | None = None
        self.history: deque[np.ndarray] = deque(maxlen=MAX_HISTORY)
        self.radar = RadarWindow()  # native frames on the radar grid (None for rain files)
        self.done: list[str] = []
        self.rejected: dict[str, dict] = {}  # name -> {reason, sig}
        self.frames = 0
        self.errors: list[str] = []
        self.last_unix: float | None = None
        self.update_s: float | None = None  # wall time of the last whole file update
        self.update_interval_s: float | None = None  # radar time that file covered
        self._seen: dict[str, tuple] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.state_path = self.state_dir / STATE_FILE
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self.state_path.exists():
            self._load()

    # ------------------------------------------------------------------ persistence
    def _load(self) -> None:
        try:
            with np.load(self.state_path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
            meta = json.loads(str(arrays.pop("meta_json")))
            hist = arrays.pop("history", np.zeros((0, *self.dem.shape), np.float32))
            if hist.shape[1:] != tuple(self.dem.shape):
                raise ValueError(f"history grid {hist.shape[1:]} != DEM {self.dem.shape}")
            if self.live is not None:
                self.live.restore(arrays)
            self.radar.restore(meta.get("radar") or {}, arrays)
        except Exception as exc:
            kept = set_aside(self.state_path)
            self.errors.append(
                f"state {self.state_path.name} not resumed "
                f"({type(exc).__name__}: {exc}); kept as {kept.name}, "
                "starting afresh"
            )
            log.warning(self.errors[-1])
            if self.live is not None:
                self.live.state, self.live.t = None, 0.0
            self.radar.clear()
            return
        self.history.extend(np.asarray(hist, np.float32))
        self.done = list(meta.get("done", []))
        self.frames = int(meta.get("frames", 0))
        self.last_unix = meta.get("last_unix")
        log.info(
            "resumed watch state: %d files, %d frames, physics t=%.0f s",
            len(self.done),
            self.frames,
            self.live.t if self.live else 0.0,
        )

    def _save(self) -> None:
        radar_meta, radar_arrays = self.radar.to_state()
        meta = {
            "done": self.done,
            "radar": radar_meta,
            "frames": self.frames,
            "last_unix": self.last_unix,
            "interval_s": self.interval_s,
            "dem_shape": list(self.dem.shape),
        }
        arrays = {**(self.live.to_arrays() if self.live is not None else {}), **radar_arrays}
        hist = np.stack(self.history) if self.history else np.zeros((0, *self.dem.shape))
        with atomic_path(self.state_path, durable=True) as tmp, open(tmp, "wb") as f:
            np.savez(
                f, meta_json=np.array(json.dumps(meta)), history=hist.astype(np.float32), **arrays
            )

    # ------------------------------------------------------------------ scanning
    def _candidates(self) -> list[tuple[str, tuple]]:
        out = []
        try:
            entries = list(os.scandir(self.folder))
        except OSError as exc:
            self._error(f"cannot list {self.folder}: {exc}")
            return out
        for e in entries:
            name = e.name
            if (
                name.startswith(".")
                or name.endswith((".part", ".tmp", ".partial"))
                or not watchable(name)
            ):
                continue
            try:
                if not e.is_file(follow_symlinks=False):
                    continue
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            out.append((name, (st.st_size, st.st_mtime_ns)))
        return sorted(out)

    def poll_once(self) -> int:
        """One scan: ingest every new file that is complete. Returns files ingested."""
        n = 0
        done = set(self.done)
        for name, sig in self._candidates():
            if name in done or self.rejected.get(name, {}).get("sig") == sig:
                continue
            if self._seen.get(name) != sig:  # still changing: wait for it to settle
                self._seen[name] = sig
                continue
            if sig[0] == 0:  # settled but empty: report it, take it once it has content
                self.rejected[name] = {
                    "reason": f"{name}: empty file (0 bytes); waiting for content",
                    "sig": sig,
                }
                continue
            if self._stop.is_set():
                break
            n += self._ingest(name, sig)
        return n

    def _ingest(self, name: str, sig: tuple) -> int:
        path = self.folder / name
        try:
            drop = read_drop(path, self.dem, self.interval_s, self.source)
        except InputError as exc:  # nothing advanced; tried again if the file changes
            self.rejected[name] = {"reason": str(exc)[:300], "sig": sig}
            log.warning("skipped radar file %s: %s", name, exc)
            return 0
        self.rejected.pop(name, None)  # a file fixed (or completed) since is no longer rejected
        rin = drop.rin
        t0 = time.perf_counter()
        try:
            # the radar's own time; only a file that says nothing gets its modification time
            unix = drop.unix if drop.unix is not None else sig[1] / 1e9
            self.last_source = drop.source
            if drop.radar is not None:
                self.radar.add(drop.radar)
            else:  # rain on the DEM grid: the radar window would be older than it
                self.radar.clear()
            for fr in rin.frames:
                self.history.append(fr)
                if self.live is not None:
                    self.live.advance(fr, rin.interval_s)
            if self.on_frames is not None:
                self.on_frames(rin.frames)
            self.frames += len(rin.frames)
            self.done.append(name)
            self.last_unix = unix
            hist = np.stack(self.history)  # once: the ensemble and the maps read the same
            if self.on_state is not None and self.live is not None:  # returns at once
                self.on_state(self.live, hist, unix, rin.interval_s, radar=self.radar.sequence())
            # maps before state: a kill in between re-ingests the file on restart (same
            # state, same maps), so no ingested file is ever left without its maps
            try:
                self.board.update(hist, unix, rin.interval_s, self.live)
            except Exception as exc:
                self._error(f"{name}: maps not updated: {type(exc).__name__}: {exc}")
            self._save()
        except Exception as exc:
            self._error(f"{name}: {type(exc).__name__}: {exc}")
            if name not in self.done:
                self.rejected[name] = {"reason": self.errors[-1][:300], "sig": sig}
            return 0
        self.update_s = time.perf_counter() - t0
        self.update_interval_s = rin.interval_s * len(rin.frames)
        log.info("ingested %s (%d frames) in %.1f s", name, len(rin.frames), self.update_s)
        return 1

    def _error(self, msg: str) -> None:
        log.error(msg)
        self.errors = (self.errors + [msg])[-20:]

    # ------------------------------------------------------------------ thread
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="floodcast-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:
                self._error(f"poll failed: {type(exc).__name__}: {exc}")
            self._stop.wait(self.poll_s)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def status(self) -> dict:
        idx = self.board.latest()
        return {
            "folder": str(self.folder),
            "files": len(self.done),
            "frames": self.frames,
            "rejected": len(self.rejected),
            "latest_unix": self.last_unix,
            "source": self.source or "guessed per file",
            "last_source": self.last_source,
            "rejected_files": [
                {"name": k, "reason": v["reason"]} for k, v in list(self.rejected.items())[-20:]
            ],
            "errors": self.errors[-5:],
            "nowcast": idx.get("nowcast"),
            "update_s": self.update_s,
            "update_interval_s": self.update_interval_s,
            "persistence": (
                None if not idx else float(str(idx.get("nowcast", "")).startswith("persistence"))
            ),
            "model": idx.get("model"),
        }
