"""`floodcast tune`: Optuna search over learning rate, loss, encoder and batch size.

``grid`` enumerates every combination (the author used GridSearchCV); ``tpe`` samples
them. Every trial trains with the normal `train` code under a short budget; a
median pruner stops trials whose validation CSI lags after each epoch.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import lightning.pytorch as pl
import optuna

from floodcast.errors import InputError
from floodcast.io.atomic import atomic_path
from floodcast.training.train import TrainConfig

DEFAULT_SPACE = {
    "lr": [1e-4, 1e-3, 3e-3],
    "loss": ["ce_dice", "focal"],
    "encoder": ["resnet18"],
    "batch_size": [8],
}


class PruneOnValCSI(pl.Callback):
    """Report validation CSI to Optuna after each epoch; stop the trial when pruned."""

    def __init__(self, trial: optuna.Trial) -> None:
        self.trial = trial

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # after the module's epoch-end hook has logged this epoch's scores; the CSI at the
        # fitted cut is what the trial's best checkpoint is chosen by (train --calibrate)
        m = trainer.callback_metrics
        v = m.get("val_csi_at_cut", m.get("val_csi"))
        if v is None or trainer.sanity_checking:
            return
        self.trial.report(float(v), step=trainer.current_epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"val CSI {float(v):.3f} at epoch {trainer.current_epoch}")


def tune(
    base: TrainConfig,
    out: str | Path,
    sampler: str = "grid",
    trials: int | None = None,
    space: dict | None = None,
    seed: int = 0,
) -> dict:
    """Run the study; writes OUT/trials.csv, OUT/tune.png and OUT/best.json."""
    from floodcast.training import train as train_mod

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    space = space or DEFAULT_SPACE
    bad = set(space) - set(DEFAULT_SPACE)
    if bad:
        raise InputError(f"cannot tune {sorted(bad)}; valid: {sorted(DEFAULT_SPACE)}")
    if sampler == "grid":
        samp = optuna.samplers.GridSampler(space, seed=seed)
        n = 1
        for v in space.values():
            n *= len(v)
        trials = min(trials or n, n)
    elif sampler == "tpe":
        samp = optuna.samplers.TPESampler(seed=seed)
        trials = trials or 10
    else:
        raise InputError(f"unknown sampler {sampler!r}; valid: grid, tpe")
    study = optuna.create_study(
        direction="maximize", sampler=samp, pruner=optuna.pruners.MedianPruner(n_startup_trials=2)
    )

    def objective(trial: optuna.Trial) -> float:
        params = {k: trial.suggest_categorical(k, v) for k, v in space.items()}
        cfg = replace(base, out=str(out / f"trial{trial.number:03d}"), **params)
        res = train_mod.train(cfg, progress=False, extra_callbacks=[PruneOnValCSI(trial)])
        return float(res["best_val_csi"] or 0.0)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=trials, catch=())
    df = study.trials_dataframe()
    with atomic_path(out / "trials.csv") as tmp:
        df.to_csv(tmp, index=False)
    with atomic_path(out / "tune.png") as tmp:
        _plot(df, tmp)
    best = {
        "value_val_csi": study.best_value,
        "params": study.best_params,
        "trials": len(study.trials),
        "pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials),
    }
    with atomic_path(out / "best.json") as tmp:  # a killed study never leaves half a file
        tmp.write_text(json.dumps(best, indent=2))
    return best


def _plot(df, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    done = df[df["state"] == "COMPLETE"]
    ax.plot(done["number"], done["value"], "o", label="trial val CSI")
    ax.plot(done["number"], done["value"].cummax(), "-", label="best so far")
    ax.set_xlabel("trial"), ax.set_ylabel("validation CSI"), ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
