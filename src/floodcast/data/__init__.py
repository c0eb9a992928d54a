"""Training data: events cut from radar, simulated, stored once in zarr, windowed on the fly."""
