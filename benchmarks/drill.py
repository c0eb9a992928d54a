"""Fault drill: SIGKILL build-dataset, train and serve --watch at seeded random moments,
restart them, and compare the result with an uninterrupted run.

For each component a reference run is timed first; then each trial starts the run,
kills it (SIGKILL: no clean-up code runs) at a moment drawn uniformly from
[0.1, 0.95] x the reference duration, restarts it (``--resume`` for train) and lets it finish. A
kill is *survived* when the restarted run finishes, its result equals the
reference's (dataset arrays and index; checkpoint weights bit for bit; live solver
state and one map per radar file), and nothing is left behind (temporary folders or
files).

    python benchmarks/drill.py --quick            # 2 kills each, ~10 min on 2 busy cores
    python benchmarks/drill.py --trials 5 --seed 1

Sizes are tiny (a 48 x 48 valley, 6 events; a small U-Net; 6 radar files on a 40 x 48
grid): the drill tests the restart logic, not throughput. The processes run the same
library calls as the CLI commands (``build_dataset``, ``train``, ``serve`` with
``--watch`` through uvicorn).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_RADAR = 6
KILL_WINDOW = (0.1, 0.95)  # kill moments, as fractions of the reference run's duration


# --------------------------------------------------------------------------- inputs


def _dem(n: int = 48, cell: float = 50.0):
    from floodcast.io.dem import Dem

    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    z = 100 + 0.02 * cell * yy + 0.05 * cell * np.abs(xx - n / 2)
    return Dem(elevation=z.astype(np.float32), cell_size=cell, source="valley")


def _radar(nt: int = 12, n: int = 40):
    from types import SimpleNamespace

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    frames = [
        60.0 * np.exp(-((yy - 10 - t) ** 2 + (xx - 8 - 1.5 * t - rng.uniform(-1, 1)) ** 2) / 72.0)
        for t in range(nt)
    ]
    times = np.datetime64("2020-06-01T12:00:00") + np.arange(nt) * np.timedelta64(300, "s")
    return SimpleNamespace(
        rain_mmh=np.stack(frames).astype(np.float32),
        times=times,
        cell_size=500.0,
        interval_s=300.0,
        source="synthetic",
    )


def _build_cfg():
    from floodcast.data.build import BuildConfig, SolverSettings
    from floodcast.data.events import EventConfig
    from floodcast.data.samples import SampleSpec

    return BuildConfig(
        events=EventConfig(count=6, frames=8, min_rain_mmh=0.5, seed=1),
        spec=SampleSpec(frames=3, threshold=0.01, patch=32, overlap=16),
        solver=SolverSettings(max_step=10.0, boundary="free"),
    )


def _train_cfg(data: Path, out: Path, resume: bool):
    from floodcast.training.train import TrainConfig

    return TrainConfig(
        data=str(data),
        out=str(out),
        model="small_unet",
        epochs=3,
        batch_size=8,
        lr=3e-3,
        augment=True,
        wet_oversample=1.0,
        patience=10,
        seed=3,
        calibrate=False,
        resume=resume,
        limit_batches=0.5,
    )


# --------------------------------------------------------------------------- children


def child_build(out: str) -> None:
    from floodcast.data.build import build_dataset

    build_dataset(out, {"valley": _dem()}, {"synth": _radar()}, _build_cfg(), scheduler="sync")


def child_train(data: str, out: str) -> None:
    from floodcast.training.train import train

    train(_train_cfg(Path(data), Path(out), resume=True), progress=False)


def child_serve_inputs(work: Path) -> tuple[Path, Path]:
    """A tiny model and a georeferenced 40 x 48 DEM (npz) for serve."""
    import torch
    from rasterio.transform import from_origin

    from floodcast.models.checkpoint import save_model
    from floodcast.models.registry import build_model

    torch.manual_seed(0)
    m = build_model(
        {"name": "small_unet", "in_channels": 4, "encoder_depth": 2, "decoder_channels": 8}
    )
    chans = ["rain_t-2", "rain_t-1", "rain_t-0", "dem"]
    save_model(
        m,
        work / "model.pt",
        {
            "data": {
                "channels": chans,
                "stats": {
                    "rain_mean": 2.0,
                    "rain_std": 5.0,
                    "dem_anomaly_std": 5.0,
                    "rain_accum_scale_mm": 3.0,
                },
                "spec": {"frames": 3, "extra_channels": [], "threshold": 0.1, "patch": 32},
                "cell_sizes_m": [50.0],
                "intervals_s": [300.0],
            },
            "postprocess": False,
        },
    )
    ny, nx = 40, 48
    z = np.add.outer(np.arange(ny) * 0.5, np.abs(np.arange(nx) - nx / 2)).astype(np.float32)
    np.savez(
        work / "dem.npz",
        elevation=z,
        cell_size=50.0,
        transform=np.array(list(from_origin(500000, 4000000, 50, 50))[:6]),
        crs="EPSG:32614",
    )
    return work / "model.pt", work / "dem.npz"


def _radar_files(folder: Path) -> None:
    """Six one-frame npz radar files, dropped as a feed would (hidden name, rename)."""
    import io

    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:40, :48]
    for k in range(N_RADAR):
        fr = 40 * np.exp(-((yy - 20 + rng.normal()) ** 2 + (xx - 10 - 4 * k) ** 2) / 128.0)
        buf = io.BytesIO()
        np.savez(buf, rain_mmh=fr[None].astype(np.float32), times_s=np.array([0.0]))
        tmp = folder / f".r{k:03d}.npz"
        tmp.write_bytes(buf.getvalue())
        os.utime(tmp, ns=(10**18 + k * 300 * 10**9,) * 2)  # fixed times: same maps each run
        tmp.rename(folder / f"r{k:03d}.npz")


# --------------------------------------------------------------------------- driver


def _py(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *args]


def _env() -> dict:
    src = str(ROOT / "src")
    return {
        **os.environ,
        "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "OMP_NUM_THREADS": "1",
        "NUMBA_NUM_THREADS": "1",
    }


def _run(
    cmd: list[str], kill_after: float | None = None, done=None, timeout: float = 900
) -> tuple[float, bool]:
    """Run ``cmd``; SIGKILL it after ``kill_after`` s (if still running). With ``done``
    (a predicate) the process is a server: stopped (SIGTERM) once done() holds.
    Returns (seconds, killed)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    while True:
        t = time.perf_counter() - t0
        if kill_after is not None and t >= kill_after and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            return t, True
        if done is not None and done():
            p.terminate()
            p.wait(30)
            return t, False
        if p.poll() is not None:
            if p.returncode != 0:
                raise RuntimeError(f"{cmd[2:4]} failed ({p.returncode}): {p.stderr.read()[-1500:]}")
            return t, False
        if t > timeout:
            p.kill()
            raise TimeoutError(cmd)
        time.sleep(0.05)


def _leftovers(folder: Path) -> list[str]:
    """Temporary files and folders (hidden names) and set-aside damaged files under
    ``folder``: a clean restart leaves none."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.name.startswith(".") or ".damaged-" in p.name
    )


def _store_equal(a: Path, b: Path) -> bool:
    from floodcast.data import store

    ea, eb = store.finished_events(a), store.finished_events(b)
    if sorted(ea) != sorted(eb):
        return False
    for ev in ea:
        ra, da, _ = store.read_event(a, ev)
        rb, db, _ = store.read_event(b, ev)
        if not (np.array_equal(ra, rb) and np.array_equal(da, db)):
            return False
    ia, aa = store.read_index(a)
    ib, ab = store.read_index(b)
    return (
        all(np.array_equal(ia[k], ib[k]) for k in ia)
        and aa["summary"]["samples_kept"] == ab["summary"]["samples_kept"]
    )


def _weights_equal(a: Path, b: Path) -> bool:
    import torch

    sa = torch.load(a / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    sb = torch.load(b / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=False)
    return (
        sa["epoch"] == sb["epoch"]
        and sa["state_dict"].keys() == sb["state_dict"].keys()
        and all(torch.equal(sa["state_dict"][k], sb["state_dict"][k]) for k in sa["state_dict"])
    )


def _ckpt_epoch(out: Path) -> str:
    import torch

    p = out / "checkpoints" / "last.ckpt"
    if not p.exists():
        return "no checkpoint yet"
    try:
        return f"checkpoint after epoch {torch.load(p, map_location='cpu', weights_only=False)['epoch']}"
    except Exception as exc:
        return f"damaged checkpoint ({type(exc).__name__})"


def _watch_state(state: Path) -> dict | None:
    p = state / "watch_state.npz"
    try:
        with np.load(p, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError):
        return None
    d["meta"] = json.loads(str(d.pop("meta_json")))
    return d


def _serve_done(state: Path) -> bool:
    d = _watch_state(state)
    return d is not None and len(d["meta"]["done"]) == N_RADAR


def _serve_equal(a: Path, b: Path) -> tuple[bool, str]:
    da, db = _watch_state(a), _watch_state(b)
    if da is None or db is None:
        return False, "no state"
    if da["meta"]["done"] != db["meta"]["done"]:
        return False, f"files {db['meta']['done']}"
    for k in da:
        if k != "meta" and not np.array_equal(da[k], db[k]):
            return False, f"state {k} differs"
    ia = json.loads((a / "maps" / "latest.json").read_text())
    ib = json.loads((b / "maps" / "latest.json").read_text())
    obs = [s["unix"] for s in ib["steps"] if s["kind"] == "observed"]
    ref = [s["unix"] for s in ia["steps"] if s["kind"] == "observed"]
    if obs != ref:
        return False, f"maps for {len(obs)} files, reference {len(ref)}"
    missing = [
        s["flood"] for s in ib["steps"] if not (b / "maps" / s["flood"].rsplit("/", 1)[1]).exists()
    ]
    return (not missing, f"missing map files {missing}" if missing else "")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drill(kind: str, trials: int, rng: np.random.Generator, work: Path, ctx: dict) -> dict:
    """Reference run, then ``trials`` kill + restart runs of one component."""
    rows = []
    if kind == "build":

        def cmd(out):
            return _py("child-build", str(out))

        ref = work / "build-ref.zarr"
        _run(cmd(work / "build-warm.zarr"))  # compiles the solver (numba cache): not timed
        t_ref, _ = _run(cmd(ref))
        ctx["store"] = ref
        ctx["deterministic"] = _store_equal(ref, work / "build-warm.zarr")
        for i in range(trials):
            out = work / f"build-{i}.zarr"
            at = float(rng.uniform(*KILL_WINDOW) * t_ref)
            _, killed = _run(cmd(out), kill_after=at)
            from floodcast.data import store

            progress = f"{len(store.finished_events(out))} events written"
            _run(cmd(out))
            rows.append(
                {
                    "kill_s": round(at, 2),
                    "killed": killed,
                    "at_kill": progress,
                    "same": _store_equal(ref, out),
                    "left_behind": _leftovers(out),
                }
            )
    elif kind == "train":

        def cmd(out):
            return _py("child-train", str(ctx["store"]), str(out))

        ref = work / "train-ref"
        t_ref, _ = _run(cmd(ref))
        ctx["train_ref"] = ref
        for i in range(trials):
            out = work / f"train-{i}"
            at = float(rng.uniform(*KILL_WINDOW) * t_ref)
            _, killed = _run(cmd(out), kill_after=at)
            progress = _ckpt_epoch(out)
            _run(cmd(out))
            rows.append(
                {
                    "kill_s": round(at, 2),
                    "killed": killed,
                    "at_kill": progress,
                    "same": _weights_equal(ref, out),
                    "left_behind": _leftovers(out),
                }
            )
    else:
        model, dem = child_serve_inputs(work)

        def cmd(watch, state):
            return [
                sys.executable,
                "-m",
                "floodcast.cli",
                "serve",
                "--model",
                str(model),
                "--dem",
                str(dem),
                "--watch",
                str(watch),
                "--state",
                str(state),
                "--poll",
                "0.2",
                "--no-realtime-check",
                "--leads",
                "1",
                "--port",
                str(_free_port()),
                "--log-level",
                "warning",
            ]

        def run_one(name, kill_at=None):
            watch, state = work / f"{name}-radar", work / f"{name}-state"
            watch.mkdir(exist_ok=True)
            if not any(watch.iterdir()):
                _radar_files(watch)
            return _run(
                cmd(watch, state), kill_after=kill_at, done=lambda: _serve_done(state)
            ), state

        run_one("serve-warm")  # compiles the live solver (numba cache): not timed
        (t_ref, _), ref = run_one("serve-ref")
        for i in range(trials):
            at = float(rng.uniform(*KILL_WINDOW) * t_ref)
            (_, killed), state = run_one(f"serve-{i}", at)
            d = _watch_state(state)
            progress = f"{len(d['meta']['done']) if d else 0} files in the state"
            run_one(f"serve-{i}")
            same, why = _serve_equal(ref, state)
            rows.append(
                {
                    "kill_s": round(at, 2),
                    "killed": killed,
                    "at_kill": progress,
                    "same": same,
                    "why": why,
                    "left_behind": _leftovers(state),
                }
            )
    ok = sum(r["same"] and not r["left_behind"] for r in rows)
    return {
        "reference_s": round(t_ref, 1),
        "trials": rows,
        "survived": ok,
        "killed_mid_run": sum(r["killed"] for r in rows),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=5, help="kills per component")
    ap.add_argument("--quick", action="store_true", help="2 kills per component")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", choices=("build", "train", "serve"), action="append")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args()
    trials = 2 if a.quick else a.trials
    rng = np.random.default_rng(a.seed)
    work = Path(tempfile.mkdtemp(prefix="floodcast-drill-"))
    ctx: dict = {}
    report = {"seed": a.seed, "trials_per_component": trials}
    try:
        for kind in ("build", "train", "serve"):
            if a.only and kind not in a.only and not (kind == "build" and "train" in a.only):
                continue
            t = time.perf_counter()
            report[kind] = drill(kind, trials, rng, work, ctx)
            r = report[kind]
            print(
                f"{kind:6s} reference {r['reference_s']:6.1f} s | kills {trials} "
                f"(mid-run {r['killed_mid_run']}) | survived {r['survived']}/{trials} | "
                f"lost {sum(not x['same'] for x in r['trials'])} | left behind "
                f"{sum(bool(x['left_behind']) for x in r['trials'])} | "
                f"{time.perf_counter() - t:.0f} s",
                flush=True,
            )
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child-build":
        child_build(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "child-train":
        child_train(sys.argv[2], sys.argv[3])
    else:
        main()
