"""numba caches keyed on the files they copy code from (``physics.jit_cache``)."""

from __future__ import annotations

import os
import subprocess
import sys

from floodcast.physics import ensemble_kernels, jit_cache, kernels, outlets, step_loop

CALLER = """
from numba import njit

from . import helper
from floodcast.physics.jit_cache import key_on_sources


@njit(cache=True)
def g():
    return helper.f()
"""


def _run(root) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}
    env.pop("NUMBA_CACHE_DIR", None)  # the caches go to pkg/__pycache__
    code = "import pkg.keyed, pkg.plain; print(pkg.keyed.g(), pkg.plain.g())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_an_edit_of_the_callee_file_recompiles_the_keyed_cache(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    helper = pkg / "helper.py"
    helper.write_text("from numba import njit\n\n\n@njit\ndef f():\n    return 1\n")
    (pkg / "keyed.py").write_text(
        CALLER + "\n\nimport sys\n\nkey_on_sources(sys.modules[__name__], helper)\n"
    )
    (pkg / "plain.py").write_text(CALLER)
    assert _run(tmp_path) == ["1", "1"]
    assert any(p.suffix == ".nbi" for p in (pkg / "__pycache__").iterdir())
    helper.write_text(helper.read_text().replace("return 1", "return 2"))
    keyed, plain = _run(tmp_path)
    assert keyed == "2"
    # the hazard itself: numba's own key (the caller's file) keeps the stale copy
    assert plain == "1"


def test_the_solver_caches_that_copy_kernels_are_keyed_on_them():
    want = ("floodcast.physics.kernels", jit_cache.source_hash(kernels))
    for fn in (
        ensemble_kernels.advance_members,
        ensemble_kernels._advance_one,
        step_loop.advance_run,
        outlets.step_outlets,
        outlets.flux_outlets,
    ):
        stamp = fn._cache._cache_file._source_stamp
        assert want in stamp[1], fn
    ek = ("floodcast.physics.ensemble_kernels", jit_cache.source_hash(ensemble_kernels))
    assert ek in step_loop.advance_run._cache._cache_file._source_stamp[1]


def test_uncached_functions_are_left_alone():
    import types

    from numba import njit

    @njit
    def f():
        return 1

    mod = types.ModuleType("plain")
    mod.f = f
    assert jit_cache.key_on_sources(mod, kernels) == 0
    assert f() == 1


def test_source_hash_follows_the_content(tmp_path):
    import importlib.util

    path = tmp_path / "m.py"
    path.write_text("x = 1\n")
    spec = importlib.util.spec_from_file_location("m", path)
    mod = importlib.util.module_from_spec(spec)
    h1 = jit_cache.source_hash(mod)
    path.write_text("x = 2\n")
    assert jit_cache.source_hash(mod) != h1
