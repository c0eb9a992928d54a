"""Load benchmark of `floodcast serve` (a benchmark, not a test).

Starts ``floodcast serve`` on a loopback port with the default small model (``--preset
small``: small_unet, width 8, 3 levels; 7 rain frames; random weights, or a trained
``--model``; ``--arch/--width/--depth`` build another), the server's default tiling (one
256-cell tile here) and a 256 x 256 DEM, then sends POST /predict (npz upload, 7 frames
of 256 x 256, GeoJSON back) from 16 concurrent clients for 60 s and reports p50/p99
latency, throughput and errors against the target (p50 < 100 ms, no errors).

By default every request carries a different input (a pool of 64 storms cycled
through, more than the server's 32-entry response cache), so each one runs the model;
``--same-input`` sends one input again and again (served from the cache after the
first). ``--physics`` also times the 512 x 512 live solver per 5-min radar interval.

    .venv/bin/python benchmarks/bench_serve.py [--seconds 60] [--clients 16] [--physics]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_P50_S = 0.100
FRAMES, SIZE = 7, 256


def _model(path: Path, overrides: dict | None = None) -> Path:
    import torch

    from floodcast.models.checkpoint import save_model
    from floodcast.models.registry import build_model
    from floodcast.training.train import TrainConfig

    torch.manual_seed(0)
    # the default small model, exactly as `floodcast train --preset small` builds it
    small = TrainConfig(data="", out="").apply_preset("small")
    for k, v in (overrides or {}).items():  # e.g. a narrower model: how latency scales
        setattr(small, k, v)
    m = build_model(small.model_config(FRAMES + 1))
    chans = [f"rain_t-{FRAMES - 1 - i}" for i in range(FRAMES)] + ["dem"]
    save_model(
        m,
        path,
        {
            "data": {
                "channels": chans,
                "stats": {
                    "rain_mean": 1.0,
                    "rain_std": 4.0,
                    "dem_anomaly_std": 10.0,
                    "rain_accum_scale_mm": 7.0,
                },
                "spec": {"frames": FRAMES, "extra_channels": [], "threshold": 0.1, "patch": 128},
                "cell_sizes_m": [83.0],
                "intervals_s": [300.0],
            }
        },
    )
    return path


def _dem(path: Path) -> Path:
    from floodcast.io.dem import sample_dem

    z = sample_dem().elevation[:SIZE, :SIZE]
    np.savez(path, elevation=z, cell_size=83.0)
    return path


def _payloads(n: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:SIZE, :SIZE]
    out = []
    for _ in range(n):
        cy, cx, vy, vx = rng.uniform(40, 216, 2).tolist() + rng.normal(0, 4, 2).tolist()
        rain = np.stack(
            [
                60 * np.exp(-((yy - cy - k * vy) ** 2 + (xx - cx - k * vx) ** 2) / (2 * 30.0**2))
                for k in range(FRAMES)
            ]
        ).astype(np.float32)
        buf = io.BytesIO()
        np.savez(buf, rain_mmh=rain, times_s=np.arange(FRAMES) * 300.0)
        out.append(buf.getvalue())
    return out


class RawClient:
    """Minimal HTTP/1.1 keep-alive POST client on asyncio streams, as load generators such
    as wrk are: the client shares the 2 cores with the server, and httpx spends several
    times more CPU per request (``--httpx`` to compare; both CPU figures are printed)."""

    def __init__(self, base: str):
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: "
            f"application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        self.writer.write(body)
        await self.writer.drain()
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        status = int(head.split(" ", 2)[1])
        length = int(head.split("content-length:", 1)[1].split("\r\n", 1)[0])
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _client(
    base: str,
    payloads: list[bytes],
    start: int,
    stop_at: float,
    lat: list,
    errors: list,
    counter: list,
    use_httpx: bool,
) -> None:
    import httpx

    c = httpx.AsyncClient(base_url=base, timeout=60.0) if use_httpx else RawClient(base)
    i = start
    while time.perf_counter() < stop_at:
        body = payloads[i % len(payloads)]
        i += 1
        t0 = time.perf_counter()
        try:
            if use_httpx:
                r = await c.post(
                    "/predict", content=body, headers={"Content-Type": "application/octet-stream"}
                )
                status, text = r.status_code, r.text
            else:
                status, raw = await c.post("/predict", body)
                text = raw[:100].decode("utf-8", "replace")
            ok = status == 200
            if not ok:
                errors.append(f"{status} {text[:100]}")
        except Exception as exc:
            ok = False
            errors.append(f"{type(exc).__name__}: {exc}")
            await c.aclose() if use_httpx else await c.close()
            c = httpx.AsyncClient(base_url=base, timeout=60.0) if use_httpx else RawClient(base)
        if ok:
            lat.append(time.perf_counter() - t0)
        counter[0] += 1
    await c.aclose() if use_httpx else await c.close()


async def _load(
    base: str, payloads: list[bytes], clients: int, seconds: float, use_httpx: bool = False
):
    lat, errors, counter = [], [], [0]
    stop_at = time.perf_counter() + seconds
    t0 = time.perf_counter()
    await asyncio.gather(
        *[
            _client(base, payloads, k * 4, stop_at, lat, errors, counter, use_httpx)
            for k in range(clients)
        ]
    )
    return np.array(lat), errors, counter[0], time.perf_counter() - t0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _solo(base: str, payloads: list[bytes]) -> float:
    """Median latency of requests sent one at a time (the service time, no queueing)."""
    import httpx

    out = []
    with httpx.Client(base_url=base, timeout=60.0) as c:
        for body in payloads:
            t0 = time.perf_counter()
            c.post("/predict", content=body, headers={"Content-Type": "application/octet-stream"})
            out.append(time.perf_counter() - t0)
    return float(np.median(out))


def _wait(base: str, proc, timeout: float = 180.0) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.5)
    raise SystemExit("server did not start")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--same-input", action="store_true", help="one input (response cache)")
    ap.add_argument("--model", type=Path, help="model.pt (default: the small model, built)")
    ap.add_argument("--dem", help="DEM for --model (default: 256 x 256 of the sample DEM)")
    ap.add_argument("--workers", type=int, default=2, help="server's concurrent model calls")
    ap.add_argument(
        "--tile",
        type=int,
        default=0,
        help="server's model tile (0 = its default: training patch, at least 256)",
    )
    ap.add_argument("--overlap", type=int, default=-1, help="server's tile overlap (-1 = default)")
    ap.add_argument("--physics", action="store_true", help="also time the 512x512 live solver")
    ap.add_argument("--httpx", action="store_true", help="httpx clients instead of raw HTTP")
    ap.add_argument("--arch", help="built model: registry name instead of the preset's")
    ap.add_argument("--width", type=int, help="built model: width instead of the preset's")
    ap.add_argument("--depth", type=int, help="built model: levels instead of the preset's")
    a = ap.parse_args()
    load0 = os.getloadavg()[0]  # other jobs on the machine, before ours starts
    tmp = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    over = {
        k: v for k, v in (("model", a.arch), ("width", a.width), ("encoder_depth", a.depth)) if v
    }
    model = a.model or _model(tmp / "model.pt", over)
    dem = a.dem or str(_dem(tmp / "dem.npz"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "floodcast.cli",
        "serve",
        "--model",
        str(model),
        "--dem",
        dem,
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-realtime-check",
        "--workers",
        str(a.workers),
        "--tile",
        str(a.tile),
        "--overlap",
        str(a.overlap),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env)
    try:
        _wait(base, proc)
        payloads = _payloads(1 if a.same_input else 64)
        asyncio.run(_load(base, payloads[:1], 2, 3.0))  # warm-up
        solo = _solo(base, payloads[1:11] if len(payloads) > 10 else payloads)
        srv0, cli0 = _cpu_s(proc.pid), time.process_time()
        lat, errors, n, wall = asyncio.run(_load(base, payloads, a.clients, a.seconds, a.httpx))
        srv_cpu, cli_cpu = _cpu_s(proc.pid) - srv0, time.process_time() - cli0
    finally:
        proc.terminate()
        proc.wait(30)
    p50, p99 = np.percentile(lat, [50, 99]) if lat.size else (float("nan"),) * 2
    mode = "same input (cache hits)" if a.same_input else "distinct inputs (model runs)"
    tile = f"{a.tile or 'default (256)'}, overlap {a.overlap if a.overlap >= 0 else 'default'}"
    print(
        f"bench_serve: {a.clients} clients x {a.seconds:.0f} s, POST /predict npz "
        f"{FRAMES}x{SIZE}x{SIZE} -> GeoJSON, {mode}, tile {tile}, {a.workers} workers, "
        f"{'model ' + str(a.model) if a.model else 'built small model ' + str(over or '')}, "
        f"loopback, {os.cpu_count()} CPUs, load average before start {load0:.1f}"
    )
    print(
        f"  requests {n}  ok {lat.size}  errors {len(errors)}  throughput {lat.size / wall:.1f}/s"
    )
    print(
        f"  latency p50 {p50 * 1e3:.0f} ms  p99 {p99 * 1e3:.0f} ms  (target p50 "
        f"{TARGET_P50_S * 1e3:.0f} ms: ours/target = {p50 / TARGET_P50_S:.2f}x)"
    )
    print(f"  one client alone: median {solo * 1e3:.0f} ms per request (service time)")
    print(
        f"  CPU per request: server {srv_cpu / max(n, 1) * 1e3:.1f} ms, load generator "
        f"({'httpx' if a.httpx else 'raw HTTP/1.1'}) {cli_cpu / max(n, 1) * 1e3:.1f} ms"
    )
    if errors:
        print("  first errors:", errors[:3])
    if a.physics:
        from floodcast.serve.live import realtime_check

        r = realtime_check(512)
        print(
            f"  physics 512x512: {r['advance_s']:.2f} s wall per {r['interval_s']:.0f} s "
            f"radar interval (worst of {len(r['advance_s_all'])}) = "
            f"{r['realtime_factor']:.1f}x real time; keeps up: {r['keeps_up']}"
        )


if __name__ == "__main__":
    main()
