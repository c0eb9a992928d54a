"""Regenerate the physics figures of the docs (small PNGs under docs/assets/figures/).

    python docs/scripts/make_figures.py          # from the repository root

1. ``plane_steady_state.png``: rain on an inclined plane, floodcast's steady state against
   the analytic kinematic depth (needs nothing but floodcast).
2. ``valley64_lisflood.png``: the valley64 reference case against LISFLOOD-FP 8.1 (max depth
   of both, their difference, and CSI / RMSE at every snapshot).
3. ``step_limit_jacksboro.png``: jacksboro_fmi (real FMI radar, 83 m cells), first 30 min
   with a 10 s step cap: depth error against the 1 s LISFLOOD-FP run for three step rules.

Figures 2 and 3 read the LISFLOOD-FP reference runs from the shared data folder
(``$FLOODCAST_SHARED_DATA`` or ``../shared/data``) and are skipped, saying so, without it.
"""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from floodcast.io.rain import RainSeries
from floodcast.physics import Boundaries, Simulation, SolverConfig

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "docs" / "assets" / "figures"
DPI = 80  # small committed files
WET = 0.1


def shared_data() -> Path | None:
    p = Path(os.environ.get("FLOODCAST_SHARED_DATA") or ROOT.parent / "shared" / "data")
    return p if (p / "reference").is_dir() else None


def plane_steady_state() -> Path:
    """The case of tests/physics/test_analytic.py: 1 km plane, 1 % slope, 100 mm/h, n 0.03."""
    dx, nx, ny, slope, n, r_mmh = 5.0, 200, 3, 0.01, 0.03, 100.0
    x_c = (np.arange(nx) + 0.5) * dx
    z = np.tile(slope * (nx * dx - x_c), (ny, 1))
    rain = RainSeries(np.array([r_mmh], np.float32), np.zeros(1), np.inf, "uniform")
    sim = Simulation(
        z, dx, rain, SolverConfig(manning=n, max_step=10.0), Boundaries.parse("E=free")
    )
    sim.advance(3600.0)
    r = r_mmh / 3.6e6
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.plot(
        x_c, (n * r * x_c / np.sqrt(slope)) ** 0.6 * 1000, "k-", label="analytic at cell centres"
    )
    ax.plot(
        x_c,
        (n * r * (x_c + dx / 2) / np.sqrt(slope)) ** 0.6 * 1000,
        "k--",
        label="analytic at upwind faces",
    )
    ax.plot(x_c, sim.depth[1] * 1000, "C0.", ms=3, label="floodcast, t = 1 h")
    ax.set(
        xlabel="distance downslope (m)",
        ylabel="depth (mm)",
        title="Rain on an inclined plane: steady state",
    )
    ax.legend(frameon=False)
    fig.tight_layout()
    return _save(fig, "plane_steady_state.png")


def _reference(shared: Path, case: str) -> dict:
    with np.load(shared / "reference" / case / f"{case}.npz") as z:
        return {k: z[k] for k in z.files}


def _lisflood_sim(d: dict, case: str, boundary: str, config: SolverConfig | None = None):
    rain = RainSeries(d["rain_mmh"], d["rain_times_s"], np.inf, case)
    cfg = config or SolverConfig.lisflood(
        manning=float(d["manning_n"]),
        max_step=float(d["initial_tstep_s"]),
        cfl=float(d["cfl"]),
        theta=float(d["theta"]),
        depth_threshold=float(d["depththresh_m"]),
        g=float(d["g"]),
    )
    return Simulation(d["dem"], float(d["cellsize_m"]), rain, cfg, Boundaries.parse(boundary))


def _csi(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = a > WET, b > WET
    den = (pa | pb).sum()
    return 1.0 if den == 0 else float((pa & pb).sum() / den)


def valley64(shared: Path) -> Path:
    """LISFLOOD-compatible mode, stepped as LISFLOOD-FP steps (as tests/physics/test_reference)."""
    d = _reference(shared, "valley64")
    sim = _lisflood_sim(d, "valley64", "S=free")
    times, csi, rmse = [], [], []
    for k, t in enumerate(d["depth_times_actual_s"]):
        while sim.t + sim.next_step_limit() < t - 1e-6:
            sim.advance(sim.t + sim.next_step_limit())
        sim.advance(float(t))
        h = sim.depth.astype(np.float64)
        times.append(t / 60)
        csi.append(_csi(h, d["depth"][k]))
        rmse.append(float(np.sqrt(np.mean((h - d["depth"][k]) ** 2))) * 1000)
    ours = sim.max_depth.astype(np.float64)
    ours[ours <= float(d["depththresh_m"])] = 0.0
    ref = d["max_depth"].astype(np.float64)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3))
    vmax = max(ref.max(), ours.max())
    for ax, arr, title in (
        (axes[0], ref, "LISFLOOD-FP: max depth (m)"),
        (axes[1], ours, "floodcast: max depth (m)"),
    ):
        im = ax.imshow(arr, cmap="Blues", vmin=0, vmax=vmax)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([]), ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.8)
    diff = (ours - ref) * 1000
    lim = max(abs(diff).max(), 1e-3)
    im = axes[2].imshow(diff, cmap="RdBu", vmin=-lim, vmax=lim)
    axes[2].set_title("difference (mm)", fontsize=9)
    axes[2].set_xticks([]), axes[2].set_yticks([])
    fig.colorbar(im, ax=axes[2], shrink=0.8)
    axes[3].plot(times, rmse, "C0-", label="depth RMSE (mm)")
    axes[3].set(xlabel="time (min)", ylabel="RMSE (mm)")
    ax2 = axes[3].twinx()
    ax2.plot(times, csi, "C1--", label="CSI (h > 0.1 m)")
    ax2.set_ylim(0.9, 1.01)
    ax2.set_ylabel("CSI")
    axes[3].set_title("every snapshot", fontsize=9)
    fig.suptitle(
        "valley64: floodcast (LISFLOOD-FP compatible mode) against LISFLOOD-FP 8.1", fontsize=10
    )
    fig.tight_layout()
    return _save(fig, "valley64_lisflood.png")


def step_limit(shared: Path) -> Path:
    """The three step rules of tests/physics/test_reference.py::test_speed_aware_step_on_steep_terrain."""
    d = _reference(shared, "jacksboro_fmi")
    ref = d["depth"][5].astype(np.float64)  # t = 1800 s of the 1 s LISFLOOD-FP run
    rules = (
        ("LISFLOOD-FP rule\n+ its limiter", SolverConfig.lisflood(manning=0.035, max_step=10.0)),
        (
            "depth-only rule\n+ strict limiter",
            SolverConfig(manning=0.035, max_step=10.0, speed_aware_step=False),
        ),
        ("default: speed-aware\n+ strict limiter", SolverConfig(manning=0.035, max_step=10.0)),
    )
    names, rmse, mass = [], [], []
    for name, cfg in rules:
        sim = _lisflood_sim(d, "jacksboro_fmi", "free", cfg)
        sim.advance(1800.0)
        names.append(name)
        rmse.append(float(np.sqrt(np.mean((sim.depth.astype(np.float64) - ref) ** 2))) * 1000)
        mass.append(abs(sim.mass.relative_error))
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    axes[0].bar(names, rmse, color=["C3", "C1", "C0"])
    axes[0].set(ylabel="depth RMSE vs 1 s reference (mm)", title="accuracy at t = 30 min")
    axes[1].bar(names, mass, color=["C3", "C1", "C0"])
    axes[1].set(yscale="log", ylabel="|relative mass error|", title="mass closure")
    for ax in axes:
        ax.tick_params(axis="x", labelsize=8)
    fig.suptitle("jacksboro_fmi (real FMI radar, 83 m cells), 10 s step cap", fontsize=10)
    fig.tight_layout()
    return _save(fig, "step_limit_jacksboro.png")


def _save(fig, name: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")
    return path


def main() -> None:
    plane_steady_state()
    shared = shared_data()
    if shared is None:
        print(
            "shared data not found ($FLOODCAST_SHARED_DATA or ../shared/data): "
            "skipping the LISFLOOD-FP figures"
        )
        return
    valley64(shared)
    step_limit(shared)


if __name__ == "__main__":
    main()
