"""Flood-nowcast members on Dask workers (``floodcast nowcast --scheduler``).

The members are split into one chunk per worker thread; each worker runs its chunk as one
batch (:func:`floodcast.physics.ensemble.batch_leads`, the in-process path's own code,
one numba thread per worker) and sends back its members' depth at every lead plus, per
threshold, how many of them exceeded it so far. Each member's steps do not depend on the
others', so the members are the batched run's, bit for bit (tested).

On one machine this loses to the batched kernel (docs/results/2026-12-02-ensemble-speed.md:
worker start-up and shipping every member's depth at every lead cost more than the members'
parallelism gains over a ``prange`` over members), so the default is ``none``; the option is
for a cluster, where workers are on other machines (they need floodcast installed).
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

import numpy as np

from floodcast.errors import InputError


def parse_scheduler(spec: str) -> tuple[str, int | str | None]:
    """``none`` -> ("none", None); ``local`` / ``local:N`` -> ("local", N workers; default the
    CPU count); an address (``tcp://host:8786``, ``host:8786``) -> ("address", spec).
    InputError naming --scheduler otherwise."""
    s = (spec or "none").strip()
    if s.lower() == "none":
        return "none", None
    if s.lower().split(":")[0] == "local":
        n = s.split(":", 1)[1] if ":" in s else str(os.cpu_count() or 1)
        if not n.isdigit() or int(n) < 1:
            raise InputError(f"--scheduler local:N needs N >= 1 workers, got {spec!r}")
        return "local", int(n)
    port = s.rsplit(":", 1)[-1]
    if ("://" in s and not s.endswith("://")) or (":" in s and port.isdigit()):
        return "address", s  # tcp://, tls://, inproc:// ... or HOST:PORT
    raise InputError(
        f"--scheduler must be none, local, local:N or a dask scheduler address "
        f"(tcp://HOST:PORT), got {spec!r}"
    )


@contextmanager
def dask_client(spec: str):
    """A dask.distributed Client for ``spec`` (a LocalCluster of one-thread worker processes
    for ``local``), closed afterwards."""
    kind, arg = parse_scheduler(spec)
    if kind == "none":
        raise ValueError("no Dask scheduler for 'none'")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:  # the `ml` extra
        raise InputError(f"--scheduler {spec} needs dask[distributed] ({e})") from e
    if kind == "local":
        # silence_logs: workers' start-up chatter is not the nowcast's output
        with (
            LocalCluster(
                n_workers=arg,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(arg, timeout="20s")
    except OSError as e:
        raise InputError(f"--scheduler {arg}: cannot reach the dask scheduler ({e})") from e
    try:
        yield client
    finally:
        client.close()


def run_chunk(elevation, cell_size, state, fc, interval_s, thr, config, boundaries):
    """One worker's members (``fc`` [m, K, y, x]): depths [m, K, y, x] float32 and exceedance
    counts so far [K, J, y, x] uint16."""
    from floodcast.physics.ensemble import batch_leads, template_simulation
    from floodcast.physics.solver import set_threads

    set_threads(1)  # one worker = one thread: more would oversubscribe the machine
    tmpl = template_simulation(elevation, cell_size, config, boundaries, state)
    m, k_n = fc.shape[:2]
    depths = np.empty(fc.shape, np.float32)
    counts = np.empty((k_n, len(thr)) + fc.shape[2:], np.uint16)
    for k, (d, wf) in enumerate(batch_leads(tmpl, fc, float(tmpl.t), interval_s, thr)):
        depths[:, k] = d
        counts[k] = np.rint(wf * m).astype(np.uint16)
    return depths, counts


def dask_leads(spec, elevation, cell_size, state, fc, interval_s, thr, config, boundaries):
    """As :func:`~floodcast.physics.ensemble.batch_leads`, the members run in chunks on
    the Dask scheduler ``spec``; yields (depths [M, y, x], exceedance fraction [J, y, x])."""
    with dask_client(spec) as client:
        n_chunks = max(1, min(fc.shape[0], sum(client.nthreads().values())))
        parts = np.array_split(np.arange(fc.shape[0]), n_chunks)
        elev = client.scatter(np.asarray(elevation), broadcast=True)
        st = state if state is None else client.scatter(state, broadcast=True)
        futs = [
            client.submit(
                run_chunk,
                elev,
                cell_size,
                st,
                client.scatter(fc[ix]),
                interval_s,
                thr,
                config,
                boundaries,
                pure=False,
            )
            for ix in parts
        ]
        res = client.gather(futs)
    depths = np.concatenate([r[0] for r in res])
    counts = sum(r[1].astype(np.int32) for r in res)
    for k in range(fc.shape[1]):
        yield depths[:, k], counts[k] / fc.shape[0]
