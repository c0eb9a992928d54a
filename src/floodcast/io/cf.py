"""CF-1.8 conventions for floodcast's NetCDF outputs (depth series, forecast rain).

GDAL, QGIS, cf_xarray and rioxarray find the georeferencing of a CF file through three
things this module writes: a grid-mapping variable (``spatial_ref``, with ``crs_wkt``
and the CF projection parameters) named by a ``grid_mapping`` attribute on *every* data
variable; x/y coordinates with ``standard_name``/``units``/``axis``
(``projection_x_coordinate`` in the CRS's linear unit, or ``longitude``/``latitude`` in
degrees); and a ``time`` coordinate as ``seconds since <start>``.

The ``grid_mapping`` goes into the variable's *attributes* and the file is written with
:func:`cf_encoding`, which merges compression into each variable's existing encoding:
passing ``to_netcdf(encoding={var: {...}})`` alone replaces the encoding in which
rioxarray keeps ``grid_mapping``, and GDAL then sees an ungeoreferenced grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

CONVENTIONS = "CF-1.8"
GRID_MAPPING = "spatial_ref"
# the time origin of files whose rain carried no timestamps (said in the time's comment)
NOMINAL_START = np.datetime64("1970-01-01T00:00:00", "s")

# UDUNITS names for the linear units a projected CRS may use (pyproj's unit names)
_UDUNITS = {
    "metre": "m",
    "meter": "m",
    "foot": "ft",
    "us survey foot": "US_survey_foot",
    "foot_us": "US_survey_foot",
    "kilometre": "km",
}


def crs_linear_unit(crs: Any) -> tuple[str, float]:
    """The CRS's horizontal unit as (UDUNITS name, metres per unit); degrees for lon/lat."""
    from rasterio.crs import CRS

    c = CRS.from_user_input(crs)
    if c.is_geographic:
        return "degrees", float("nan")
    name, factor = c.linear_units_factor
    return _UDUNITS.get(name.lower(), name), float(factor)


def xy_attrs(crs: Any | None) -> tuple[dict[str, str], dict[str, str]]:
    """CF attributes of the x and y coordinates for ``crs`` (None: local metres)."""
    if crs is None:
        base = {"units": "m", "comment": "local grid metres (the DEM has no CRS)"}
        return (
            {**base, "long_name": "x distance from the west edge", "axis": "X"},
            {**base, "long_name": "y distance from the south edge", "axis": "Y"},
        )
    unit, _ = crs_linear_unit(crs)
    if unit == "degrees":
        return (
            {
                "standard_name": "longitude",
                "long_name": "longitude",
                "units": "degrees_east",
                "axis": "X",
            },
            {
                "standard_name": "latitude",
                "long_name": "latitude",
                "units": "degrees_north",
                "axis": "Y",
            },
        )
    return (
        {
            "standard_name": "projection_x_coordinate",
            "long_name": "x coordinate of projection",
            "units": unit,
            "axis": "X",
        },
        {
            "standard_name": "projection_y_coordinate",
            "long_name": "y coordinate of projection",
            "units": unit,
            "axis": "Y",
        },
    )


def time_coord(times_s: Iterable[float], start: Any | None) -> tuple[np.ndarray, dict, dict]:
    """Times (s from the run start) as datetimes, their attrs and their encoding.

    ``start`` is the radar's first timestamp when known (anything numpy reads as a
    datetime); otherwise 1970-01-01 stands in and the comment says so.
    """
    t0 = NOMINAL_START if start is None else np.datetime64(start, "s")
    ms = np.round(np.asarray(list(times_s), np.float64) * 1000).astype("timedelta64[ms]")
    values = t0.astype("datetime64[ms]") + ms
    attrs = {"standard_name": "time", "long_name": "time", "axis": "T"}
    if start is None:
        attrs["comment"] = "the rain carried no timestamps: 1970-01-01 stands for the run start"
    origin = np.datetime_as_string(t0, unit="s").replace("T", " ")
    encoding = {"units": f"seconds since {origin}", "calendar": "standard", "dtype": "float64"}
    return values, attrs, encoding


def make_cf(ds: Any, crs: Any | None, transform: Any | None = None) -> Any:
    """Return ``ds`` with CF x/y attributes, the grid mapping and ``Conventions`` set.

    Every data variable with both ``y`` and ``x`` dims gets ``grid_mapping`` (attribute);
    a ``crs`` of None leaves the grid without a mapping (local metres).
    """
    xa, ya = xy_attrs(crs)
    ds = ds.copy()
    ds["x"].attrs.update(xa)
    ds["y"].attrs.update(ya)
    if crs is not None:
        import rioxarray  # noqa: F401  (registers .rio)

        ds = ds.rio.write_crs(crs, grid_mapping_name=GRID_MAPPING)
        if transform is not None:
            ds = ds.rio.write_transform(transform, grid_mapping_name=GRID_MAPPING)
        for name, var in ds.data_vars.items():
            if name != GRID_MAPPING and {"y", "x"} <= set(var.dims):
                var.encoding.pop("grid_mapping", None)
                var.attrs["grid_mapping"] = GRID_MAPPING
    ds.attrs["Conventions"] = CONVENTIONS
    return ds


def cf_encoding(ds: Any, per_var: Mapping[str, Mapping[str, Any]]) -> dict[str, dict]:
    """Each variable's own encoding merged with ``per_var`` (never replaced)."""
    enc = {}
    for name in ds.variables:
        merged = {**ds[name].encoding, **per_var.get(name, {})}
        # keep only what to_netcdf accepts for a new file
        enc[name] = {k: v for k, v in merged.items() if k in _WRITE_KEYS}
    return enc


_WRITE_KEYS = {
    "zlib",
    "complevel",
    "dtype",
    "units",
    "calendar",
    "_FillValue",
    "chunksizes",
    "shuffle",
    "scale_factor",
    "add_offset",
    "grid_mapping",
    "coordinates",
}


def check_cf(path: Any) -> list[str]:
    """Problems cf_xarray and rioxarray find in a written file (empty = none).

    Used by the tests; a user can call it to check a file before sending it on.
    """
    import cf_xarray  # noqa: F401  (registers .cf)
    import xarray as xr

    problems = []
    with xr.open_dataset(path, decode_coords="all") as ds:
        if ds.attrs.get("Conventions") != CONVENTIONS:
            problems.append(f"Conventions is {ds.attrs.get('Conventions')!r}")
        for name, var in ds.data_vars.items():
            geo = {"y", "x"} <= set(var.dims) and GRID_MAPPING in ds.coords
            if geo and var.rio.crs is None:
                problems.append(f"{name}: rioxarray finds no CRS")
        try:
            ds.cf.grid_mapping_names  # noqa: B018
            axes = ds.cf.axes
        except (KeyError, ValueError, AttributeError) as exc:  # broken CF metadata
            problems.append(f"cf_xarray: {exc}")
            return problems
        for axis in ("X", "Y"):
            if axis not in axes:
                problems.append(f"cf_xarray finds no {axis} axis")
    return problems
