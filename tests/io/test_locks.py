"""NetCDF-4 files opened on many threads at once (as serve's workers do) must not crash."""

import threading

import numpy as np

from floodcast.io.integrity import netcdf4_shapes


def _write(path, seed):
    import netCDF4

    rng = np.random.default_rng(seed)
    with netCDF4.Dataset(path, "w") as ds:
        ds.createDimension("time", 2)
        ds.createDimension("y", 16)
        ds.createDimension("x", 16)
        v = ds.createVariable("rain", "f4", ("time", "y", "x"), zlib=True)
        v[:] = rng.random((2, 16, 16), dtype=np.float32)


def test_netcdf4_headers_on_many_threads(tmp_path):
    """netCDF-C is not thread-safe and netCDF4-python drops the GIL: without
    io.locks.NETCDF_LOCK this test ends in a segmentation fault (seen in CI)."""
    paths = [tmp_path / f"r{i}.nc" for i in range(4)]
    for i, p in enumerate(paths):
        _write(p, i)
    errors: list[BaseException] = []

    def work(p):
        try:
            for _ in range(60):
                (shape,) = [d.shape for d in netcdf4_shapes(p) if d.name == "rain"]
                assert shape == (2, 16, 16)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(p,)) for p in paths * 2]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors, errors
