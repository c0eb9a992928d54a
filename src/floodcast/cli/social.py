"""``floodcast social …``: ingest posts, relevance and sentiment evaluation, event report.

Commands accept raw sources (CSV / JSONL) or post tables written by ``social ingest``
(.parquet / .csv / .jsonl); raw sources are ingested on the fly with the same options.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

social = typer.Typer(
    help="Social-media flood impact: ingest, relevance, sentiment, report.", no_args_is_help=True
)

_LANG_HELP = "Languages kept (comma-separated ISO codes), or 'any' to keep every language."


def _languages(lang: str) -> tuple[str, ...] | None:
    lang = lang.strip().lower()
    return None if lang in ("any", "all", "") else tuple(s.strip() for s in lang.split(","))


def _ingest_kwargs(event, keep_retweets, lang) -> dict:
    return {"event": event, "keep_retweets": keep_retweets, "languages": _languages(lang)}


def _check_inputs(paths: list[Path]) -> None:
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        typer.echo(f"error: input not found: {', '.join(missing)}", err=True)
        raise typer.Exit(2)


@social.command("ingest")
def ingest_cmd(
    inputs: list[Path] = typer.Argument(..., help="CSV / JSONL / JSON post files."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .parquet, .csv or .jsonl."),
    event: str = typer.Option(
        None,
        help="Event name for all posts (default: from the "
        "event column, else the file name before the first '-').",
    ),
    keep_retweets: bool = typer.Option(False, help="Keep retweets (counted either way)."),
    lang: str = typer.Option("en", help=_LANG_HELP),
    summary_json: Path = typer.Option(None, help="Also write the run summary as JSON here."),
) -> None:
    """Read posts, drop duplicates/retweets/bad rows (counted), normalise, write a table."""
    from floodcast.io.atomic import atomic_path
    from floodcast.social.ingest import ingest
    from floodcast.social.records import write_posts

    if out.suffix.lower() not in (".parquet", ".csv", ".jsonl", ".ndjson"):
        typer.echo("error: --out must end in .parquet, .csv or .jsonl", err=True)
        raise typer.Exit(2)
    _check_inputs(inputs)
    df, stats = ingest(inputs, **_ingest_kwargs(event, keep_retweets, lang))
    write_posts(df, out)
    typer.echo(stats.summary())
    typer.echo(f"wrote {len(df)} posts to {out}")
    if summary_json:
        with atomic_path(summary_json) as tmp:
            tmp.write_text(json.dumps(stats.as_dict(), indent=2))


@social.command("relevance")
def relevance_cmd(
    train: list[Path] = typer.Option(..., "--train", help="Labelled posts of event A."),
    test: list[Path] = typer.Option(..., "--test", help="Labelled posts of event B."),
    model: str = typer.Option("all", help="tfidf, embed, transformer, comma list, or all."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (metrics.json/.md)."),
    one_way: bool = typer.Option(False, help="Only train on --train / test on --test."),
    max_seconds: float = typer.Option(300.0, help="Training time bound for 'transformer'."),
    epochs: int = typer.Option(8, help="Epochs for 'transformer'."),
    cache_dir: Path = typer.Option(None, help="Cache folder for sentence embeddings."),
    adapt: bool = typer.Option(
        True,
        help="Also report '<model>+self-train': refit with the "
        "test event's confidently predicted (unlabelled) posts.",
    ),
    expand_tags: bool = typer.Option(True, help="Split hashtags into words for the models."),
    keep_retweets: bool = typer.Option(False, help="Keep retweets."),
    lang: str = typer.Option("en", help=_LANG_HELP),
) -> None:
    """Cross-event relevance (on-topic / off-topic): train on one flood, test on the other."""
    from floodcast.social import relevance

    models = _models_or_exit(model)
    _check_inputs(list(train) + list(test))
    kw = {
        "transformer": {"max_seconds": max_seconds, "epochs": epochs, "verbose": True},
        "embed": {"cache_dir": cache_dir},
    }
    rows = relevance.run(
        train,
        test,
        out,
        models,
        both_ways=not one_way,
        model_kwargs=kw,
        ingest_kwargs=_ingest_kwargs(None, keep_retweets, lang),
        adapt=adapt,
        expand_tags=expand_tags,
        log=typer.echo,
    )
    best = max((r for r in rows if r["model"] != "majority"), key=lambda r: r["macro_f1"])
    typer.echo(
        f"best: {best['model']} macro-F1 {best['macro_f1']:.3f} MCC {best['mcc']:.3f} "
        f"({best['train_event']} -> {best['test_event']}); wrote {out}/metrics.md"
    )


def _models_or_exit(names: str) -> list:
    """Registry models by comma-separated name; exit 2 listing the valid ones otherwise."""
    from floodcast.social.models import resolve_models

    try:
        return resolve_models(names)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@social.command("sentiment")
def sentiment_cmd(
    inputs: list[Path] = typer.Argument(..., help="Posts of two or more events."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (sentiment.json/.md)."),
    model: str = typer.Option(
        "transformer,embed",
        help="Models trained on emoji labels (tfidf, embed, transformer, comma list, or all).",
    ),
    test_event: list[str] = typer.Option(
        None, help="Held-out event(s); default: each event in turn (leave one event out)."
    ),
    max_seconds: float = typer.Option(120.0, help="Training time bound for 'transformer'."),
    epochs: int = typer.Option(30, help="Epochs for 'transformer'."),
    cache_dir: Path = typer.Option(None, help="Cache folder for sentence embeddings."),
    keep_retweets: bool = typer.Option(False, help="Keep retweets."),
    lang: str = typer.Option("en", help=_LANG_HELP),
) -> None:
    """Emoji distant supervision: train on other events, evaluate on a held-out event."""
    from floodcast.social import sentiment
    from floodcast.social.ingest import load_posts

    models = _models_or_exit(model)
    _check_inputs(inputs)
    df, stats = load_posts(inputs, **_ingest_kwargs(None, keep_retweets, lang))
    if stats.files:
        typer.echo(stats.summary())
    if df["event"].nunique() < 2:
        typer.echo(
            "error: need posts of at least two events (train on one, test on another)", err=True
        )
        raise typer.Exit(2)
    kw = {"transformer": {"max_seconds": max_seconds, "epochs": epochs}}
    if "embed" in models:  # one encoder cache shared by every held-out split
        from floodcast.social.models.embedding import Embedder

        kw["embed"] = {"embedder": Embedder(cache_dir=cache_dir)}
    sentiment.run(df, out, models, test_event or None, kw, log=typer.echo)
    typer.echo(f"wrote {out}/sentiment.md")


@social.command("report")
def report_cmd(
    inputs: list[Path] = typer.Argument(..., help="Posts (raw sources or ingested tables)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (report.md, PNG, CSV)."),
    freq: str = typer.Option(
        None, help="Time bin (pandas offset: h, 6h, D); default per event, at least ~8 bins."
    ),
    min_posts: int = typer.Option(5, help="Bins with fewer posts get no share positive."),
    topics: int = typer.Option(6, help="LDA topics per event."),
    event: str = typer.Option(None, help="Event name for all raw posts."),
    keep_retweets: bool = typer.Option(False, help="Keep retweets."),
    lang: str = typer.Option("en", help=_LANG_HELP),
    types_from: list[Path] = typer.Option(
        None,
        help="Labelled posts (e.g. CrisisLex T26 "
        "files): posts without an information-type label "
        "get the type a TF-IDF classifier trained on them "
        "predicts.",
    ),
) -> None:
    """Per-event volume, sentiment, information types, LDA topics; cross-event correlation."""
    from floodcast.io.atomic import check_writable
    from floodcast.social.ingest import load_posts
    from floodcast.social.report import build_report

    _check_inputs(list(inputs) + list(types_from or []))
    check_writable(out.parent if out.parent != Path("") else Path("."))
    df, stats = load_posts(inputs, **_ingest_kwargs(event, keep_retweets, lang))
    summary_text = stats.summary() if stats.files else None
    if summary_text:
        typer.echo(summary_text)
    if df.empty:
        typer.echo("error: no usable posts in the input", err=True)
        raise typer.Exit(1)
    train = (
        load_posts(types_from, **_ingest_kwargs(None, keep_retweets, lang))[0]
        if types_from
        else None
    )
    s = build_report(
        df, out, freq, min_posts, topics, ingest_summary=summary_text, types_train=train
    )
    p = s["correlation"]["pooled"]
    typer.echo(
        f"Pearson(volume, share positive): {p['all']:.3f} with replies, "
        f"{p['no_replies']:.3f} without ({p['bins']} bins)"
    )
    typer.echo(f"wrote {out}/report.md")


@social.command("lofo")
def lofo_cmd(
    data: Path = typer.Argument(
        ..., help="Folder holding CrisisLexT6/ and CrisisLexT26/ (or its parent with social/)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (lofo.json, lofo.md)."),
    task: str = typer.Option(
        "relevance",
        help="relevance (on/off-topic, all six datasets) "
        "or types (six information types, four T26 floods).",
    ),
    model: str = typer.Option("tfidf,embed", help="tfidf, embed, transformer, comma list, or all."),
    adapt: bool = typer.Option(True, help="Also report '<model>+self-train'."),
    cache_dir: Path = typer.Option(None, help="Cache folder for sentence embeddings."),
    lang: str = typer.Option(
        "any", help=_LANG_HELP + " Default: every language (a new flood's posts come in its own)."
    ),
) -> None:
    """Leave-one-flood-out: train on the other floods, test on each; majority beside."""
    from floodcast.errors import user_errors
    from floodcast.social.lofo_report import run_lofo

    models = _models_or_exit(model)
    if task not in ("relevance", "types"):
        typer.echo("error: --task must be relevance or types", err=True)
        raise typer.Exit(2)
    with user_errors(FileNotFoundError, ValueError):
        rows = run_lofo(
            data,
            out,
            task,
            models,
            adapt=adapt,
            cache_dir=cache_dir,
            languages=_languages(lang),
            log=typer.echo,
        )
    typer.echo(f"{len(rows)} rows; wrote {out}/lofo.md")


@social.command("map")
def map_cmd(
    inputs: list[Path] = typer.Argument(..., help="Posts (raw sources or ingested tables)."),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Output folder (places.geojson, map.png, posts_places.csv, summary.json).",
    ),
    gazetteer: Path = typer.Option(
        None,
        help="Extra places, CSV with header name,lat,lon "
        "(WGS84); bad rows are skipped and counted.",
    ),
    region: str = typer.Option(
        None,
        help="Event region lon_min,lat_min,lon_max,lat_max: places inside win ambiguous names.",
    ),
    country: str = typer.Option(
        None,
        help="Event country (name or ISO code) for every "
        "event; default: the CrisisLex event description.",
    ),
    train: list[Path] = typer.Option(
        None, help="Labelled posts to predict relevance and information type of unlabelled posts."
    ),
    min_population: int = typer.Option(
        1000, help="Smallest gazetteer city (500, 1000, 5000 or 15000)."
    ),
    event: str = typer.Option(None, help="Event name for all raw posts."),
    keep_retweets: bool = typer.Option(False, help="Keep retweets."),
    lang: str = typer.Option("any", help=_LANG_HELP),
) -> None:
    """Geoparse relevant posts: counts per place by information type, GeoJSON + PNG."""
    from floodcast.errors import user_errors
    from floodcast.social.geomap import run_map
    from floodcast.social.geoparse import parse_bbox

    _check_inputs(list(inputs) + list(train or []) + ([gazetteer] if gazetteer else []))
    with user_errors(ValueError):
        bbox = parse_bbox(region) if region else None
        s = run_map(
            inputs,
            out,
            gazetteer,
            bbox,
            country,
            train or None,
            min_population,
            _ingest_kwargs(event, keep_retweets, lang),
            log=typer.echo,
        )
    for ev, e in s["events"].items():
        top = ", ".join(f"{p['name']} {p['posts']}" for p in e["top_places"][:5])
        typer.echo(
            f"{ev}: {e['geoparsed_posts']}/{e['relevant_posts']} relevant posts "
            f"geoparsed ({e['share_geoparsed']:.2f}); inside {e['inside_of']}: "
            f"{e['share_inside']:.2f}; top: {top}"
        )
    typer.echo(f"wrote {out}/places.geojson and {out}/map.png")


def register(app: typer.Typer) -> None:
    app.add_typer(social, name="social")
