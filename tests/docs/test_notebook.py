"""The tutorial notebook runs top to bottom on the embedded data, and is committed clean."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "tutorials" / "notebook.ipynb"

nbformat = pytest.importorskip("nbformat", reason="the dev extra (nbformat) is not installed")


def _builder():
    spec = importlib.util.spec_from_file_location(
        "make_notebook", ROOT / "docs" / "scripts" / "make_notebook.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_notebook_matches_its_source_and_has_no_outputs():
    committed = nbformat.read(NOTEBOOK, as_version=4)
    built = _builder().build()
    assert [c.source for c in committed.cells] == [c.source for c in built.cells], (
        "docs/tutorials/notebook.ipynb differs from docs/scripts/make_notebook.py: "
        "run python docs/scripts/make_notebook.py"
    )
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


def test_notebook_executes(tmp_path, monkeypatch):
    nbclient = pytest.importorskip(
        "nbclient", reason="the dev extra (nbclient, ipykernel) is not installed"
    )
    pytest.importorskip("ipykernel", reason="the dev extra (nbclient, ipykernel) is not installed")
    pytest.importorskip("torch", reason="predict needs the ml extra")
    monkeypatch.setenv(
        "PYTHONPATH", str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("NUMBA_NUM_THREADS", "1")
    monkeypatch.setenv("FLOODCAST_MODEL", str(tmp_path / "no-model.pt"))  # the untrained path
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    text = "\n".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "UNTRAINED" in text  # it said the map is noise
    assert "emulator vs simulation" in text
    assert (tmp_path / "outputs" / "notebook" / "run" / "depth.nc").exists()
    assert (tmp_path / "outputs" / "notebook" / "predict" / "wet_mask.tif").exists()
    assert sys.executable  # the kernel is this interpreter's python3 kernelspec
