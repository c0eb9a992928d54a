"""numba's on-disk cache, keyed on every source file a compiled function is built from.

numba keys a ``cache=True`` function's cache on its own file only, yet a function that
calls (or inlines) jitted functions of another module compiles their code into its own.
After an edit to ``kernels.py`` the batched ensemble (``ensemble_kernels``), the single-run
step loop (``step_loop``) and the coast outlets (``outlets``) would keep loading their old
compiled copies of the kernels, while the solver's own passes compiled the new ones:
the paths disagree with no error, and tests that compare them fail for no visible reason.
:func:`key_on_sources` adds the content hash of the other files to each function's cache
stamp, so an edit anywhere makes every dependent cache stale and numba recompiles it.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import ModuleType


def source_hash(module: ModuleType) -> str:
    """SHA-1 of a module's source file (content, not mtime: a checkout that keeps the
    mtime but changes the text still counts)."""
    return hashlib.sha1(Path(module.__file__).read_bytes()).hexdigest()


def key_on_sources(module: ModuleType, *sources: ModuleType) -> int:
    """Make the on-disk cache of every jitted function of ``module`` depend on ``sources``'
    files too (a function added to the module later is covered without being listed).

    Call it once at the end of ``module``, before its functions' first call: the cache
    index is read when a signature is first compiled. Returns how many caches were keyed;
    functions without a disk cache (``cache=False``) are left alone.
    """
    extra = tuple(sorted((m.__name__, source_hash(m)) for m in sources))
    keyed = 0
    for d in vars(module).values():
        # numba's Cache holds an IndexDataCacheFile whose _source_stamp is compared with
        # the stamp stored in the index on every load (numba/core/caching.py): a mismatch
        # makes the index empty, so the function is compiled afresh and the index rewritten
        cache_file = getattr(getattr(d, "_cache", None), "_cache_file", None)
        if cache_file is None or not hasattr(cache_file, "_source_stamp"):
            continue
        cache_file._source_stamp = (cache_file._source_stamp, extra)
        keyed += 1
    return keyed
