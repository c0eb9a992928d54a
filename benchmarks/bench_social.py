"""Cross-event relevance on the real CrisisLex T6 data, every model, both directions.

    .venv/bin/python benchmarks/bench_social.py [--models all] [--transformer-seconds 300]
        [--out outputs/bench_social] [--cache-dir ~/.cache/floodcast]

Train on the 2013 Alberta floods and test on the 2013 Queensland floods, and the reverse;
prints F1 of the on-topic class (and macro-F1, MCC, accuracy) per model and direction,
beside the majority-class baseline, and
writes metrics.json / metrics.md to --out. The transformer is trained from scratch on
CPU for at most --transformer-seconds per direction. Sentence embeddings are cached in
--cache-dir (outside the repository) so a second run skips the encoding.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))


def shared_data() -> Path | None:
    env = os.environ.get("FLOODCAST_SHARED_DATA")
    for cand in ([Path(env)] if env else []) + [REPO.parent / "shared" / "data"]:
        if (cand / "social" / "CrisisLexT6").is_dir():
            return cand
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", default="all")
    ap.add_argument("--transformer-seconds", type=float, default=300.0)
    ap.add_argument("--transformer-epochs", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=REPO / "outputs" / "bench_social")
    ap.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "floodcast",
    )
    ap.add_argument("--lang", default="en", help="'any' keeps all languages")
    ap.add_argument(
        "--no-adapt",
        action="store_true",
        help="skip the '+self-train' rows (transductive self-training)",
    )
    args = ap.parse_args(argv)

    data = shared_data()
    if data is None:
        print("CrisisLex T6 not found: set FLOODCAST_SHARED_DATA (folder holding social/)")
        return 1
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from floodcast.social import relevance

    t6 = data / "social" / "CrisisLexT6"
    langs = None if args.lang == "any" else tuple(args.lang.split(","))
    t0 = time.monotonic()
    a = relevance.load_labelled(t6 / "2013_Alberta_Floods-ontopic_offtopic.csv", languages=langs)
    b = relevance.load_labelled(t6 / "2013_Queensland_Floods-ontopic_offtopic.csv", languages=langs)
    print(
        f"loaded {len(a)} Alberta + {len(b)} Queensland labelled posts "
        f"({time.monotonic() - t0:.0f}s; duplicates, retweets and non-English removed)",
        flush=True,
    )
    kw = {
        "transformer": {
            "max_seconds": args.transformer_seconds,
            "epochs": args.transformer_epochs,
            "verbose": True,
        },
        "embed": {"cache_dir": args.cache_dir / "embeddings"},
    }
    rows = relevance.cross_event(
        a, b, args.models, True, kw, adapt=not args.no_adapt, log=lambda s: print(s, flush=True)
    )
    import json

    from floodcast.io.atomic import atomic_dir

    with atomic_dir(args.out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(rows, indent=2))
        (tmp / "metrics.md").write_text(
            relevance.metrics_markdown(rows, "Cross-event relevance, CrisisLex T6 (bench_social)")
        )
    print()
    print(f"{'model':22s} {'train -> test':48s} {'F1':>6s} {'macroF1':>8s} {'MCC':>6s} {'acc':>6s}")
    for r in rows:
        print(
            f"{r['model']:22s} {r['train_event'] + ' -> ' + r['test_event']:48s} "
            f"{r['f1']:6.3f} {r['macro_f1']:8.3f} {r['mcc']:6.3f} {r['accuracy']:6.3f}"
        )
    rows = [r for r in rows if r["model"] != "majority"]  # the baseline is printed above
    best = max(rows, key=lambda r: min(x["f1"] for x in rows if x["model"] == r["model"]))
    worst_dir = min(x["f1"] for x in rows if x["model"] == best["model"])
    print(
        f"\nbest model (by its worse direction): {best['model']} "
        f"min F1 {worst_dir:.3f}; target 0.90 {'met' if worst_dir >= 0.9 else 'NOT met'}"
    )
    print(f"wrote {args.out}/metrics.md ({time.monotonic() - t0:.0f}s total)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
