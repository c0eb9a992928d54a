"""Sample index of a finished store: tiles, deduplication, event splits, statistics.

``keep`` marks the first of identical samples of the original formulation (K rain
frames + DEM -> wet mask). State channels (rain since the start, previous depth) make
every window unique, so a dataset that selects them uses all samples instead.

Deduplication hashes each (frame, tile) once and combines K frame hashes per sample,
so indexing costs one pass over the frames, not one per window.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
from pathlib import Path

import numpy as np

from floodcast.data import store
from floodcast.data.samples import check_wet_balance, split_events, split_events_by_dem, tiles

log = logging.getLogger(__name__)

SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
ZERO = hashlib.blake2b(b"zero-frame", digest_size=16).digest()


def _frame_tile_hashes(rain: np.ndarray, origins, patch: int) -> list[list[bytes]]:
    out = []
    for t in range(rain.shape[0]):
        row = []
        for r, c in origins:
            tile = np.ascontiguousarray(rain[t, r : r + patch, c : c + patch])
            row.append(
                ZERO if not tile.any() else hashlib.blake2b(tile.tobytes(), digest_size=16).digest()
            )
        out.append(row)
    return out


def build_index(path: str | Path, plans, cfg) -> dict:
    """Index every (event, frame, tile) sample, dedup by content, split by event; write it."""
    spec = cfg.spec
    p, K = spec.patch, spec.frames
    event_ids = [pl.event_id for pl in plans]
    test_dems = list(cfg.test_dems)
    splits = (
        split_events_by_dem(
            {pl.event_id: pl.dem_id for pl in plans}, test_dems, cfg.split, cfg.split_seed
        )
        if test_dems
        else split_events(event_ids, cfg.split, cfg.split_seed)
    )
    cols = {k: [] for k in ("event", "frame", "row", "col", "split", "keep")}
    seen: set[bytes] = set()
    wet = {s: [0, 0] for s in SPLIT_CODES}
    kept = dict.fromkeys(SPLIT_CODES, 0)
    total = dict.fromkeys(SPLIT_CODES, 0)
    acc = _Moments()
    dem_cache: dict[str, np.ndarray] = {}
    dem_anom = _Moments()
    rec_raw = 0
    gz_sample: list[int] = []
    for ei, pl in enumerate(plans):
        rain, depth, _ = store.read_event(path, pl.event_id)
        if pl.dem_id not in dem_cache:
            dem_cache[pl.dem_id] = store.read_dem(path, pl.dem_id)[0]
        dem = dem_cache[pl.dem_id]
        origins = tiles(dem.shape, p, spec.overlap)
        fth = _frame_tile_hashes(rain, origins, p)
        split = splits[pl.event_id]
        if split == "train":
            acc.add(rain)
            for r, c in origins:
                t = dem[r : r + p, c : c + p]
                dem_anom.add(t - np.nanmean(t))
        for k in range(rain.shape[0]):
            target = depth[k] > spec.threshold
            for j, (r, c) in enumerate(origins):
                h = hashlib.blake2b(digest_size=16)
                h.update(f"{pl.dem_id}:{r}:{c}".encode())
                for i in range(k - K + 1, k + 1):
                    h.update(fth[i][j] if i >= 0 else ZERO)
                tt = target[r : r + p, c : c + p]
                h.update(np.packbits(tt).tobytes())
                key = h.digest()
                keep = key not in seen
                seen.add(key)
                for name, v in zip(cols, (ei, k, r, c, SPLIT_CODES[split], keep), strict=False):
                    cols[name].append(v)
                total[split] += 1
                if keep:
                    kept[split] += 1
                    wet[split][0] += int(tt.sum())
                    wet[split][1] += tt.size
                    rec_raw += (K + 2) * p * p * 4  # K rain frames + DEM + depth, float32
                    if len(gz_sample) < 20 and tt.any():
                        rec = np.concatenate(
                            [
                                _win(rain, k, K, r, c, p),
                                dem[None, r : r + p, c : c + p],
                                depth[None, k, r : r + p, c : c + p],
                            ]
                        )
                        gz_sample.append(len(gzip.compress(rec.astype(np.float32).tobytes(), 6)))
    wet_fraction = {s: (wet[s][0] / wet[s][1] if wet[s][1] else float("nan")) for s in wet}
    warnings_ = check_wet_balance({s: f for s, f in wet_fraction.items() if wet[s][1]})
    for s in ("val", "test"):  # an empty split silently disables validation or testing
        if not kept.get(s):
            warnings_.append(
                f"the {s} split has no samples ({list(splits.values()).count(s)} "
                "events); use more --events or another split"
            )
            log.warning(warnings_[-1])
    n_kept = sum(kept.values())
    gz_ratio = (np.mean(gz_sample) / ((K + 2) * p * p * 4)) if gz_sample else 1.0
    summary = {
        "events": len(plans),
        "event_ids": event_ids,
        "splits": splits,
        "test_dems": test_dems,
        "samples_total": total,
        "samples_kept": kept,
        "duplicates_removed": {s: total[s] - kept[s] for s in total},
        "wet_fraction": wet_fraction,
        "warnings": warnings_,
        "stats": {
            "rain_mean": acc.mean,
            "rain_std": acc.std,
            "dem_anomaly_std": dem_anom.std,
            "rain_accum_scale_mm": max(acc.mean * K, 1.0),
        },
        "spec": spec.to_dict(),
        "channels": spec.channels,
        "record_per_window_bytes": {"raw": int(rec_raw), "gzip_estimate": int(rec_raw * gz_ratio)},
        "n_samples_kept": n_kept,
    }
    index = {k: np.asarray(v, dtype=bool if k == "keep" else np.int32) for k, v in cols.items()}
    store.write_index(path, index, {"summary": summary})
    return summary


def _win(rain, k, K, r, c, p):
    from floodcast.data.samples import rain_window

    return rain_window(rain[:, r : r + p, c : c + p], k, K)


class _Moments:
    """Streaming mean/std (float64) over arrays, NaN ignored."""

    def __init__(self) -> None:
        self.n = 0
        self.s = 0.0
        self.s2 = 0.0

    def add(self, a: np.ndarray) -> None:
        a = np.asarray(a, np.float64)
        a = a[np.isfinite(a)]
        self.n += a.size
        self.s += float(a.sum())
        self.s2 += float((a * a).sum())

    @property
    def mean(self) -> float:
        return self.s / self.n if self.n else 0.0

    @property
    def std(self) -> float:
        if not self.n:
            return 1.0
        return float(max(np.sqrt(max(self.s2 / self.n - self.mean**2, 0.0)), 1e-6))
