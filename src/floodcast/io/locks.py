"""One lock for the netCDF-C and HDF5 libraries, which are not thread-safe.

``serve`` parses uploads and watched files on worker threads. netCDF4-python releases
the GIL inside the C library, so two threads opening NetCDF-4 files at once can crash
the process (a segmentation fault, not an exception). Every direct call into netCDF4 or
a pysteps importer holds :data:`NETCDF_LOCK`. It is xarray's own lock for its netCDF4
backend, so our calls and xarray's reads never overlap either.
"""

from __future__ import annotations

import threading

try:  # xarray's lock: our direct netCDF4 calls then exclude xarray's reads too
    from xarray.backends.netCDF4_ import NETCDF4_PYTHON_LOCK as NETCDF_LOCK
except ImportError:  # pragma: no cover - xarray is a core dependency
    NETCDF_LOCK = threading.Lock()

__all__ = ["NETCDF_LOCK"]
