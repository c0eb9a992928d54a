"""Manning / loss rasters and land cover on the DEM grid: reading, resampling, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from floodcast.errors import InputError
from floodcast.io.dem import read_dem
from floodcast.simulation import job as J
from floodcast.simulation.landcover import (
    WORLDCOVER_TABLE,
    land_surface,
    manning_from_landcover,
    read_manning_table,
)
from floodcast.simulation.surface import number_or_grid, read_on_dem_grid

NY, NX, CELL = 6, 8, 10.0


def tif(path, data, transform=None, crs="EPSG:32612", nodata=None):
    data = np.asarray(data, dtype=np.float32)
    t = transform if transform is not None else from_origin(500000, 4300000, CELL, CELL)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        height=data.shape[0],
        width=data.shape[1],
        count=1,
        dtype="float32",
        crs=crs,
        transform=t,
        nodata=nodata,
    ) as ds:
        ds.write(data, 1)
    return path


@pytest.fixture
def dem(tmp_path):
    z = np.add.outer(np.arange(NY, dtype=float), np.arange(NX, dtype=float)) + 100.0
    z[0, 0] = np.nan  # a wall
    return read_dem(tif(tmp_path / "dem.tif", z, nodata=np.nan))


def asc(path, data, cell=CELL):
    ny, nx = data.shape
    head = (
        f"ncols {nx}\nnrows {ny}\nxllcorner 0\nyllcorner 0\ncellsize {cell}\nNODATA_value -9999\n"
    )
    path.write_text(head + "\n".join(" ".join(f"{v:g}" for v in r) for r in data) + "\n")
    return path


def test_raster_on_dem_grid_is_used_cell_for_cell(tmp_path, dem):
    n = np.full((NY, NX), 0.035)
    n[:, 4:] = 0.1
    got = number_or_grid(str(tif(tmp_path / "n.tif", n)), dem, "--manning", "s m^-1/3", False)
    assert np.isnan(got[0, 0]) and np.allclose(got[1:, :4], 0.035) and np.allclose(got[:, 4:], 0.1)
    assert number_or_grid("0.05", dem, "--manning", "s m^-1/3", False) == 0.05


def test_finer_raster_is_resampled_nearest_never_averaged(tmp_path, dem):
    fine = np.where(np.arange(NX * 4)[None, :] % 4 < 2, 0.02, 0.1) * np.ones((NY * 4, 1))
    t = from_origin(500000, 4300000, CELL / 4, CELL / 4)
    got = read_on_dem_grid(tif(tmp_path / "fine.tif", fine, t), dem, "--manning")
    assert set(np.unique(got).round(6)) <= {0.02, 0.1}  # only class values, no means


def test_other_crs_is_reprojected(tmp_path, dem):
    # the DEM's cell centres in geographic coordinates, on a 0.00005 deg grid
    from rasterio.warp import transform_bounds

    w, s, e, n = transform_bounds("EPSG:32612", "EPSG:4326", *dem_bounds())
    t = from_origin(w - 0.001, n + 0.001, 0.00005, 0.00005)
    ny, nx = int((n - s + 0.002) / 0.00005) + 1, int((e - w + 0.002) / 0.00005) + 1
    got = read_on_dem_grid(
        tif(tmp_path / "geo.tif", np.full((ny, nx), 0.04), t, "EPSG:4326"), dem, "--manning"
    )
    assert np.allclose(got, 0.04)


def dem_bounds():
    return 500000, 4300000 - NY * CELL, 500000 + NX * CELL, 4300000


@pytest.mark.parametrize(
    "n,match",
    [
        (-0.01, r"must be > 0 s m\^-1/3, first at cell \(row 2, col 3\) = -0.01"),
        (0.0, r"must be > 0 .*row 2, col 3"),
        (np.nan, r"no value .* first at cell \(row 2, col 3\)"),
    ],
)
def test_bad_manning_cell_is_named(tmp_path, dem, n, match):
    grid = np.full((NY, NX), 0.03)
    grid[2, 3] = n
    path = tif(tmp_path / "n.tif", grid)
    with pytest.raises(InputError, match=match) as err:
        number_or_grid(str(path), dem, "--manning", "s m^-1/3", False)
    assert str(path) in str(err.value)


def test_nan_in_a_wall_is_fine(tmp_path, dem):
    grid = np.full((NY, NX), 0.03)
    grid[0, 0] = np.nan  # the DEM's wall cell
    assert np.isnan(
        number_or_grid(str(tif(tmp_path / "n.tif", grid)), dem, "--manning", "s m^-1/3", False)[
            0, 0
        ]
    )


def test_other_shape_without_georeferencing(tmp_path, dem):
    path = asc(tmp_path / "n.asc", np.full((NY + 1, NX), 0.03))
    with pytest.raises(InputError, match=r"n.asc: grid \(7, 8\) differs from the DEM grid"):
        read_on_dem_grid(path, dem, "--manning")


def test_crs_that_cannot_be_reprojected(tmp_path, dem):
    wkt = 'LOCAL_CS["nowhere",UNIT["metre",1]]'  # an engineering CRS: no transformation
    path = tif(
        tmp_path / "n.tif",
        np.full((NY * 2, NX * 2), 0.03),
        from_origin(0, 0, 5, 5),
        rasterio.crs.CRS.from_wkt(wkt),
    )
    with pytest.raises(InputError, match="cannot reproject"):
        read_on_dem_grid(path, dem, "--manning")


def test_landcover_default_worldcover_and_unknown_classes(tmp_path, dem):
    lc = np.full((NY, NX), 30.0)
    lc[:, :2] = 50
    got, note = manning_from_landcover(tif(tmp_path / "lc.tif", lc), dem)
    assert np.allclose(got[1:, :2], WORLDCOVER_TABLE[50].n)
    assert np.allclose(got[:, 2:], WORLDCOVER_TABLE[30].n) and "Grassland" in note
    lc[3, 3], lc[4, 4], lc[5, 5] = 7, 7, 200
    with pytest.raises(
        InputError,
        match=r"classes not in the default ESA WorldCover table: "
        r"7 \(2 cells\), 200 \(1 cells\)",
    ):
        manning_from_landcover(tif(tmp_path / "lc2.tif", lc), dem)


def test_manning_table_csv(tmp_path, dem):
    (tmp_path / "t.csv").write_text("class,n,name\n1,0.035,bare\n6,0.015,road\n")
    table = read_manning_table(tmp_path / "t.csv")
    assert table[6].n == 0.015 and table[6].name == "road"
    lc = np.ones((NY, NX))
    lc[2] = 6
    s = land_surface(dem, landcover=tif(tmp_path / "lc.tif", lc), manning_table=tmp_path / "t.csv")
    assert np.allclose(s.manning[2], 0.015) and np.allclose(s.manning[3:], 0.035)
    for text, match in (
        ("1,0\n", "class 1 has n = 0.0"),
        ("1,0.03\n1,0.04\n", "given twice"),
        ("class,n\n1,abc\n", "line 2: expected 'class,n"),
    ):
        (tmp_path / "bad.csv").write_text(text)
        with pytest.raises(InputError, match=match):
            read_manning_table(tmp_path / "bad.csv")


def test_bad_surface_input_writes_nothing(tmp_path, dem):
    grid = np.full((NY, NX), 0.03)
    grid[4, 1] = -1
    bad = tif(tmp_path / "n.tif", grid)
    out = tmp_path / "out"
    for kw in ({"manning": str(bad)}, {"infiltration_mmh": str(bad)}, {"drainage_mmh": str(bad)}):
        req = J.SimulateRequest(
            dem=dem, rain="10mm/h:60s", duration_s=60.0, out=out, save_every_s=60.0, **kw
        )
        with pytest.raises(InputError, match=r"n.tif: must be .* \(row 4, col 1\)"):
            J.prepare(req)
        assert not out.exists()
    with pytest.raises(InputError, match="either --manning or --landcover"):
        land_surface(dem, manning=0.03, landcover=bad)


def test_soil_numbers_table_and_grid(tmp_path, dem):
    from floodcast.simulation.soil import read_soil

    s = read_soil("6.5,166.8,0.34", dem)
    assert (s.ks_mmh, s.psi_mm, s.deficit) == (6.5, 166.8, 0.34)
    lc = np.ones((NY, NX))
    lc[:, 4:] = 2
    lcp = tif(tmp_path / "lc.tif", lc)
    (tmp_path / "soil.csv").write_text("class,ks_mmh,psi_mm,deficit\n1,10,50,0.3\n2,1,200,0.4\n")
    s = read_soil(tmp_path / "soil.csv", dem, lcp)
    assert s.ks_mmh[2, 1] == 10 and s.ks_mmh[2, 5] == 1 and s.deficit[3, 6] == 0.4
    np.savez(
        tmp_path / "soil.npz",
        ks_mmh=np.full((NY, NX), 3.0),
        psi_mm=np.full((NY, NX), 90.0),
        deficit=np.full((NY, NX), 0.2),
    )
    assert read_soil(tmp_path / "soil.npz", dem).psi_mm[1, 1] == 90.0
    with pytest.raises(InputError, match=r"deficit must be in \[0, 1\], got 1.2"):
        read_soil("6.5,166.8,1.2", dem)
    with pytest.raises(InputError, match=r"ks_mmh must be >= 0, got -1"):
        read_soil("-1,166.8,0.3", dem)
    (tmp_path / "bad.csv").write_text("1,10,50,0.3\n")
    with pytest.raises(InputError, match="classes not in the table: 2"):
        read_soil(tmp_path / "bad.csv", dem, lcp)
    d = np.full((NY, NX), 0.2)
    d[3, 2] = 1.5
    np.savez(
        tmp_path / "bad.npz",
        ks_mmh=np.full((NY, NX), 3.0),
        psi_mm=np.full((NY, NX), 90.0),
        deficit=d,
    )
    with pytest.raises(
        InputError, match=r"bad.npz: deficit must be in \[0, 1\], cell \(row 3, col 2\)"
    ):
        read_soil(tmp_path / "bad.npz", dem)
    out = tmp_path / "out"
    req = J.SimulateRequest(
        dem=dem,
        rain="10mm/h:60s",
        duration_s=60.0,
        out=out,
        save_every_s=60.0,
        soil="5,100,0.3",
        infiltration_mmh=2.0,
    )
    with pytest.raises(InputError, match="either --infiltration or --soil"):
        J.prepare(req)
    assert not out.exists()
    job = J.prepare(
        J.SimulateRequest(
            dem=dem,
            rain="10mm/h:60s",
            duration_s=60.0,
            out=out,
            save_every_s=60.0,
            soil="5,100,0.3",
        )
    )
    assert job.config.soil.ks_mmh == 5.0
