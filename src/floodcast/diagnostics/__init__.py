"""Diagnostics: contrastive pretraining with retrieval-vs-chance numbers, embedding
plots with a random-vector control and label-alignment checks, and model flowcharts.

Modules: ``contrastive`` (dual encoder, CLIP loss), ``pretrain`` (loop, checkpoints,
``load_encoder_into``), ``retrieval`` (top-k vs chance), ``embed`` / ``plots`` (UMAP,
parallel coordinates, structure numbers), ``graph`` / ``draw`` (model flowcharts).
Heavy imports (torch, umap, matplotlib) happen inside the modules that need them.
"""
