"""Leave-one-flood-out tables (Markdown / JSON) and the ``social lofo`` run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from floodcast.io.atomic import atomic_dir
from floodcast.social import lofo
from floodcast.social.floods import discover, load_sets

_SHORT = {
    "Affected individuals": "affected",
    "Infrastructure and utilities": "infra",
    "Donations and volunteering": "donations",
    "Caution and advice": "caution",
    "Sympathy and support": "sympathy",
    "Other Useful Information": "other",
    "on-topic": "on",
    "off-topic": "off",
}


def _f(x) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.3f}"


def table(rows: list[dict]) -> list[str]:
    """One line per (held-out dataset, model): macro-F1, MCC, accuracy, per-class F1."""
    labels = rows[0]["labels"]
    head = (
        "| held-out | n test | model | macro-F1 | MCC | accuracy | "
        + " | ".join(f"F1 {_SHORT.get(c, c)}" for c in labels)
        + " | target |"
    )
    lines = [head, "|" + "---|" * 3 + "---:|" * (3 + len(labels)) + "---|"]
    for r in rows:
        per = " | ".join(_f(r["f1_per_class"].get(c)) for c in labels)
        ok = (
            ""
            if r["model"].startswith("majority")
            else ("met" if lofo.meets_target(r) else "missed")
        )
        lines.append(
            f"| {r['dataset']} | {r['n_test']} | {r['model']} | {_f(r['macro_f1'])} "
            f"| {_f(r['mcc'])} | {_f(r['accuracy'])} | {per} | {ok} |"
        )
    return lines


def confusion_md(row: dict) -> list[str]:
    labels = [_SHORT.get(c, c) for c in row["labels"]]
    lines = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    for lab, counts in zip(labels, row["confusion"], strict=False):
        lines.append(f"| {lab} | " + " | ".join(str(c) for c in counts) + " |")
    return lines


def markdown(rows: list[dict], profiles: dict[str, dict], title: str) -> str:
    task = rows[0]["task"]
    L = [
        f"# {title}",
        "",
        (
            "Leave-one-flood-out: each held-out dataset is scored by models trained on every "
            "post of the *other* floods (the same flood's T6 and T26 posts never on both "
            "sides). `majority`: the training data's most frequent class for every post; "
            "`majority-of-test`: the held-out flood's own most frequent class (peeks at the "
            "test labels: the trivial score to beat, not a predictor). "
            f"Target: macro-F1 >= {lofo.TARGET_MACRO_F1} and MCC >= {lofo.TARGET_MCC}."
        ),
        "",
    ]
    L += table(rows)
    best = lofo.best_rows(rows)
    L += [
        "",
        "## Best model per held-out flood",
        "",
        (
            "| held-out | best model | macro-F1 | MCC | accuracy | majority-of-test macro-F1 | "
            "majority-of-test accuracy | target |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    maj = {r["dataset"]: r for r in rows if r["model"] == lofo.ORACLE}
    for ds, r in best.items():
        L.append(
            f"| {ds} | {r['model']} | {_f(r['macro_f1'])} | {_f(r['mcc'])} | "
            f"{_f(r['accuracy'])} | {_f(maj[ds]['macro_f1'])} | "
            f"{_f(maj[ds]['accuracy'])} | {'met' if lofo.meets_target(r) else 'missed'} |"
        )
    if task == "types":
        for ds, r in best.items():
            L += ["", f"### Confusion matrix, {ds} ({r['model']})", ""] + confusion_md(r)
    for ds, p in profiles.items():
        L += [
            "",
            f"## What {ds}'s posts look like (target missed)",
            "",
            (
                f"{p['n']} posts; languages {p['languages']}; classes {p['class_share']}; "
                f"{p['errors']} errors by {best[ds]['model']}. Examples:"
            ),
            "",
        ]
        L += [
            f"- true *{e['true']}*, predicted *{e['pred']}*: {e['text']}"
            for e in p["error_examples"]
        ]
    return "\n".join(L) + "\n"


def miss_profiles(df, task: str, rows: list[dict], preds: dict) -> dict[str, dict]:
    """:func:`lofo.profile` of every held-out dataset whose best model misses the target."""
    frame = lofo.task_frame(df, task)
    col = lofo.TASKS[task][0]
    return {
        ds: lofo.profile(frame[frame["dataset"] == ds], preds[(ds, r["model"])], col)
        for ds, r in lofo.best_rows(rows).items()
        if not lofo.meets_target(r)
    }


def run_lofo(
    data: str | os.PathLike,
    out_dir,
    task: str = "relevance",
    models="tfidf,embed",
    adapt: bool = True,
    cache_dir=None,
    languages: tuple[str, ...] | None = None,
    log=None,
) -> list[dict]:
    """Load every labelled CrisisLex dataset under ``data``, evaluate ``task``
    leave-one-flood-out, profile the floods that miss, write lofo.json and lofo.md."""
    df = load_sets(discover(data), languages=languages)
    kw = {"embed": {"cache_dir": cache_dir}} if cache_dir else {}
    rows, preds = lofo.evaluate(df, task, models, adapt=adapt, model_kwargs=kw, log=log)
    profiles = miss_profiles(df, task, rows, preds)
    title = {
        "relevance": "Relevance (on-topic / off-topic), leave one flood out",
        "types": "Information types (CrisisLex T26), leave one flood out",
    }[task]
    with atomic_dir(out_dir) as tmp:
        Path(tmp, "lofo.json").write_text(
            json.dumps({"rows": rows, "profiles": profiles}, indent=2, default=str)
        )
        Path(tmp, "lofo.md").write_text(markdown(rows, profiles, title))
    return rows
