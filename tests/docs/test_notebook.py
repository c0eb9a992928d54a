"""The tutorial notebook runs top to bottom on the embedded data, and is committed clean."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "docs" / "tutorials" / "notebook.ipynb"

nbformat = pytest.importorskip("nbformat", reason="the dev extra (nbformat) is not installed")


def test_notebook_is_committed_without_outputs():
    committed = nbformat.read(NOTEBOOK, as_version=4)
    assert committed.cells, "the notebook has no cells"
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                "commit docs/tutorials/notebook.ipynb without outputs "
                "(jupyter nbconvert --clear-output --inplace docs/tutorials/notebook.ipynb)"
            )


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
