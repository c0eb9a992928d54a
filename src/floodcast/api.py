"""The Python API: runs that return data (``xarray.Dataset`` with a CRS), not only files.

In a notebook::

    import floodcast
    ds = floodcast.simulate("sample", "30mm/h:1h", duration_s=7200, fill_sinks=True)
    ds.max_depth.plot()            # CF coordinates: lon/lat here, x/y in metres elsewhere
    ds.rio.crs                     # EPSG:4326 (rioxarray)
    ds.to_netcdf("depth.nc")       # the same CF-1.8 file as `floodcast simulate` writes

``dem`` is anything :func:`floodcast.io.dem.read_dem` reads (a path, a GDAL ``/vsi`` path,
``"sample"``), a :class:`~floodcast.io.dem.Dem`, or a 2-D ``xarray.DataArray`` with a
rioxarray CRS and transform. ``rain`` is what ``simulate --rain`` takes (a hyetograph
such as ``"50mm/h:600s"``, a rain file, ``SOURCE:PATH`` radar) or a
:class:`~floodcast.io.rain.RainSeries`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from floodcast.errors import InputError
from floodcast.io.dem import Dem


def as_dem(dem: Any, elevation_units: str = "m") -> Dem:
    """A :class:`Dem` in metres from a path/``"sample"``, a Dem, or a rioxarray ``DataArray``.

    ``elevation_units`` (m, ft, ftUS) is the unit of the elevations given, whatever their kind.
    """
    from floodcast.io.dem import in_metres, read_dem

    if isinstance(dem, (str, Path)):
        return read_dem(dem, elevation_units)
    return in_metres(_as_dem(dem), elevation_units)


def _as_dem(dem: Any) -> Dem:
    """A Dem or a rioxarray ``DataArray`` as a :class:`Dem`, elevations as given."""
    from floodcast.io.dem import finish_dem
    from floodcast.io.dem_gdal import north_up

    if isinstance(dem, Dem):
        return dem
    if hasattr(dem, "rio"):  # an xarray DataArray (e.g. rioxarray.open_rasterio(...))
        da = dem.squeeze(drop=True)
        if da.ndim != 2:
            raise InputError(f"DEM DataArray must be 2-D (y, x), got dims {da.dims}")
        tr, crs = da.rio.transform(), da.rio.crs
        arr = np.asarray(da.values, np.float64)
        nodata = da.rio.nodata
        if nodata is not None:
            arr[arr == nodata] = np.nan
        arr, tr = north_up(arr, tr)  # south-up coordinates: row 0 must be north
        src = str(da.name or "<DataArray>")
        return finish_dem(arr, abs(tr.a), abs(tr.e), tr, crs, src)
    raise InputError(f"DEM must be a path, 'sample', a Dem or an xarray DataArray, not {type(dem)}")


def simulate(dem: Any, rain: Any, duration_s: float, **options: Any) -> Any:
    """Run the flood solver and return the CF ``xarray.Dataset`` of ``depth.nc``, in memory.

    Args:
        dem: see the module notes. rain: see the module notes.
        duration_s: simulated time (s).
        **options: any other :class:`floodcast.simulation.job.SimulateRequest` setting
            (``save_every_s``, ``boundary``, ``manning``, ``fill_sinks``,
            ``elevation_units``, ``infiltration_mmh``, ``threads``...).

    Returns:
        ``depth(time, y, x)``, ``max_depth`` and ``elevation`` (m) with the CRS
        (``ds.rio.crs``); ``ds.attrs["stats"]`` has the run statistics (JSON) and
        ``ds.attrs["notes"]`` what the readers decided. ``ds.to_netcdf(path)`` writes
        the CF-1.8 file ``floodcast simulate`` writes (uncompressed).

    Raises:
        InputError: bad input, naming the file or option. SimulationError: an unstable run.
    """
    from floodcast.io.writers import depth_dataset, netcdf_attrs
    from floodcast.simulation.job import SimulateRequest, compute, prepare
    from floodcast.simulation.outputs import depth_attrs, run_settings

    # paths, Dems and DataArrays alike are converted once, by the job (io.dem.in_metres)
    req = SimulateRequest(
        dem=dem if isinstance(dem, (str, Path)) else _as_dem(dem),
        rain=rain,
        duration_s=duration_s,
        out=None,
        **options,
    )
    job = prepare(req)
    result, depth, max_depth, stats = compute(job)
    ds = depth_dataset(result.times_s, depth, max_depth, job.dem, job.rain.attrs.get("start_time"))
    ds.attrs.update(
        netcdf_attrs({**depth_attrs(job, run_settings(job)), "stats": stats, "notes": job.notes})
    )
    return ds


def predict_flood(
    model: str | Path,
    dem: Any,
    rain: str | None = None,
    radar: str | None = None,
    cut: float | None = None,
) -> Any:
    """Map flooding with a trained model and return it as a CF ``xarray.Dataset``.

    Args:
        model: ``model.pt`` from ``floodcast train``.
        dem: see the module notes.
        rain: rain frames on (or regriddable to) the DEM grid, as ``predict --rain``.
        radar: ``[SOURCE:]PATH`` radar in its own projection, as ``predict --radar``.
        cut: wet-probability cut (None: the model's calibrated cut).

    Returns:
        ``wet_probability`` (0-1), ``wet`` (0/1) and, for models with a depth head,
        ``depth`` (m) on the DEM grid, with the CRS; ``to_netcdf`` writes CF-1.8.
    """
    import xarray as xr

    from floodcast.io.cf import make_cf
    from floodcast.io.writers import grid_coords
    from floodcast.predict.inputs import radar_on_dem, rain_from_file
    from floodcast.predict.mapper import FloodMapper

    if (rain is None) == (radar is None):
        raise InputError("give exactly one of rain= or radar=")
    d = as_dem(dem)
    mapper = FloodMapper.load(model)
    if rain is not None:
        frames, interval = rain_from_file(rain, d)
    else:
        from floodcast.io.named_inputs import load_radars

        seq = list(load_radars([radar], echo=lambda _m: None).values())[-1]
        frames, interval = np.nan_to_num(radar_on_dem(seq, d), nan=0.0), seq.interval_s
    fmap = mapper.predict(frames, d.elevation, d.cell_size, interval, cut=cut)
    x, y, _ = grid_coords(d)
    walls = np.isnan(d.elevation)
    data = {
        "wet_probability": (
            ("y", "x"),
            np.where(walls, np.nan, fmap.probability),
            {"units": "1", "long_name": "probability that the cell is wet"},
        ),
        "wet": (
            ("y", "x"),
            fmap.wet.astype(np.uint8),
            {"long_name": f"wet (depth > {mapper.threshold} m)", "flag_values": [0, 1]},
        ),
    }
    if fmap.depth is not None:
        data["depth"] = (
            ("y", "x"),
            np.where(walls, np.nan, fmap.depth),
            {"units": "m", "long_name": "predicted water depth"},
        )
    ds = xr.Dataset(data, coords={"y": ("y", y), "x": ("x", x)})
    ds.attrs.update(
        {
            "title": "floodcast predict",
            "model": str(model),
            "dem_source": d.source,
            "frames": int(frames.shape[0]),
            "interval_s": float(interval),
            "cut": float(fmap.cut),
            "threshold_m": float(mapper.threshold),
        }
    )
    return make_cf(ds, d.crs, d.transform if d.crs else None)
