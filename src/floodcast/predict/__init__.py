"""Inference: flood maps from a trained model (tiling, input checks, GeoTIFF/PNG/GeoJSON)."""
