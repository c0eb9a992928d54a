"""CLI: `floodcast pretrain`, `floodcast embed`, `floodcast model-graph`."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from floodcast.errors import user_errors


def register(app: typer.Typer) -> None:
    @app.command("pretrain")
    def pretrain_cmd(
        data: Path = typer.Option(..., help="Dataset store (zarr folder from build-dataset)."),
        out: Path = typer.Option(..., help="Output folder: pretrain.pt, retrieval.json."),
        model: str = typer.Option("deeplabv3plus", help="Registry model whose encoder is used."),
        encoder: str = typer.Option("resnet18", help="smp encoder name."),
        encoder_depth: int = typer.Option(5, help="Encoder stages (as in `train`)."),
        decoder_channels: int = typer.Option(
            0,
            "--width",
            "--decoder-channels",
            help="Decoder/feature width, as `train --width` (small_unet); 0 = default "
            "(--decoder-channels: the old name).",
        ),
        formulation: str = typer.Option(
            "original",
            help="Input channels: original = rain frames + DEM (prev_depth would leak the answer).",
        ),
        embed_dim: int = typer.Option(64, help="Embedding size."),
        epochs: int = typer.Option(20, help="Epochs."),
        batch_size: int = typer.Option(32, help="Pairs per batch (the InfoNCE negatives)."),
        lr: float = typer.Option(1e-3, help="AdamW learning rate."),
        seed: int = typer.Option(0, help="Random seed."),
        eval_split: str = typer.Option("test", help="Held-out split for retrieval (val|test)."),
        candidates: int = typer.Option(32, help="N: candidates per retrieval query."),
        shuffle_pairs: bool = typer.Option(
            False, help="Negative control: train on shuffled pairs."
        ),
        max_minutes: float = typer.Option(0.0, help="Wall-time budget (0 = none)."),
    ) -> None:
        """Contrastive (CLIP) pretraining of rain(+DEM) against water depth; prints held-out
        retrieval top-1/top-5 against chance. Reuse: `floodcast train --init-encoder OUT/pretrain.pt`."""
        from floodcast.training.pretrain import PretrainConfig, pretrain

        cfg = PretrainConfig(
            data=str(data),
            out=str(out),
            model=model,
            encoder=encoder,
            encoder_depth=encoder_depth,
            decoder_channels=decoder_channels or None,
            formulation=formulation,
            embed_dim=embed_dim,
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            eval_split=eval_split,
            n_candidates=candidates,
            shuffle_pairs=shuffle_pairs,
            max_minutes=max_minutes or None,
        )
        with user_errors(ValueError):
            res = pretrain(cfg, log=typer.echo)
        typer.echo(f"wrote {res['checkpoint']} and {Path(out) / 'retrieval.json'}")

    @app.command("embed")
    def embed_cmd(
        checkpoint: Path = typer.Option(..., help="Pretrain checkpoint (pretrain.pt)."),
        data: Path = typer.Option(..., help="Dataset store."),
        out: Path = typer.Option(..., help="Output folder for PNG/HTML/structure.json."),
        split: str = typer.Option("test", help="Split to embed."),
        tower: str = typer.Option("rain", help="rain | depth | rain_features (pre-head)."),
        color: str = typer.Option(
            "event,source,wet_fraction",
            help="Colourings, comma-separated: event, source, wet_fraction.",
        ),
        method: str = typer.Option("umap", help="2-D layout: umap | pca."),
        check_random: bool = typer.Option(
            False, "--check-random", help="Also lay out random vectors of the same shape."
        ),
        max_samples: int = typer.Option(2000, help="Subsample to this many points (0 = all)."),
        html: bool = typer.Option(True, help="Also write interactive HTML scatter pages."),
        seed: int = typer.Option(0, help="Seed for layout, subsampling and the null."),
    ) -> None:
        """UMAP scatter + parallel coordinates of embeddings, each with a structure number
        (kNN label agreement vs a label-permutation null)."""
        from floodcast.diagnostics.embed import embeddings_from_checkpoint, run_embed

        with user_errors(ValueError):
            e = embeddings_from_checkpoint(
                str(checkpoint), str(data), split, tower, max_samples=max_samples or None, seed=seed
            )
            res = run_embed(
                e["vectors"],
                e["keys"],
                str(out),
                [c.strip() for c in color.split(",")],
                e["depth_maps"],
                e["event_names"],
                e["event_sources"],
                e["threshold"],
                method=method,
                check_random=check_random,
                html=html,
                seed=seed,
                title=f"{tower} embeddings, {split}",
            )
        from floodcast.diagnostics.labels import structure_title

        for key, st in res["structure"].items():
            typer.echo(f"{key.split('/')[0]:>10} {structure_title(st)}")
        typer.echo(f"wrote {len(res['files'])} files and structure.json to {out}")

    @app.command("model-graph")
    def model_graph_cmd(
        model: str = typer.Option("deeplabv3plus", "--model", help="Registry model name."),
        out: Path = typer.Option(Path("outputs/model-graph"), help="Output folder."),
        encoder: str = typer.Option("resnet18", help="smp encoder name."),
        encoder_depth: int = typer.Option(5, help="Encoder stages."),
        in_channels: int = typer.Option(8, help="Input channels."),
        size: int = typer.Option(64, help="Dummy input height = width (cells)."),
        depth: int = typer.Option(2, help="Module nesting depth drawn as blocks (1 = coarsest)."),
        engine: str = typer.Option("builtin", help="builtin (pure Python) | dot (needs Graphviz)."),
    ) -> None:
        """Flowchart of a registry model (blocks, tensor shapes, parameters, skip
        connections) as SVG + standalone HTML, and a torchinfo text summary."""
        from floodcast.diagnostics.draw import render_dot, to_dot, to_html, to_svg
        from floodcast.diagnostics.graph import model_graph

        kw = (
            {}
            if model.replace("-", "_") in ("small_unet", "tiny", "centre_pixel", "center_pixel")
            else {"encoder": encoder}
        )
        with user_errors(ValueError, RuntimeError):
            net, g, summary = model_graph(
                model, in_channels, size, depth, encoder_depth=encoder_depth, **kw
            )
            svg = to_svg(g) if engine == "builtin" else render_dot(to_dot(g))
        out.mkdir(parents=True, exist_ok=True)
        stem = net.config.name
        (out / f"{stem}.svg").write_text(svg)
        (out / f"{stem}.dot").write_text(to_dot(g))
        (out / f"{stem}.html").write_text(to_html(g, svg, summary))
        (out / f"{stem}_summary.txt").write_text(summary)
        (out / f"{stem}_graph.json").write_text(
            json.dumps(
                {
                    "nodes": [n.__dict__ for n in g.nodes],
                    "edges": g.edges,
                    "total_params": g.total_params,
                },
                default=list,
                indent=1,
            )
        )
        typer.echo(
            f"{g.title}: {len(g.nodes)} blocks, {len(g.edges)} edges, "
            f"{g.total_params:,} parameters -> {out}/{stem}.svg, .html, _summary.txt"
        )
