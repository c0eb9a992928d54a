"""Readers and writers: DEMs, rain (radar) series, GeoTIFF/PNG/NetCDF/GeoJSON outputs."""
