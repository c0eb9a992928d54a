"""`floodcast serve`: the FastAPI app (prediction API, web map, watch mode, metrics).

Bad input always gets a 4xx with a JSON ``{"error": ...}`` body: uploads are capped
(:class:`~floodcast.serve.limits.BodyLimit`), parsed into validated frames
(:mod:`floodcast.serve.inputs`) and the model's own checks raise ``InputError``. Only
files the server wrote itself, in its state folder, can be fetched, by a name matched
against a fixed pattern. At most ``--workers`` model calls run at once (a
semaphore the watcher shares), so concurrent requests queue instead of oversubscribing the CPU.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path

import torch
from fastapi import FastAPI, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from floodcast.defaults import PREDICT_TILE
from floodcast.serve import bodies, guard, inputs, limits, schemas
from floodcast.serve.config import ServeConfig
from floodcast.serve.maps import MapBoard
from floodcast.serve.render import hillshade_png
from floodcast.serve.telemetry import ServeMetrics

__all__ = ["SERVE_TILE", "ServeConfig", "Server", "create_app"]  # ServeConfig: public path

log = logging.getLogger("floodcast.serve")
SERVE_TILE = PREDICT_TILE  # the one tiling default (FloodMapper applies it)


def _has_swagger_bundle() -> bool:
    import importlib.util

    return importlib.util.find_spec("swagger_ui_bundle") is not None


class Server:
    """The model, the DEM, the map board and the watcher behind one app."""

    def __init__(self, cfg: ServeConfig):
        from floodcast import __version__
        from floodcast.predict.mapper import FloodMapper

        self.cfg, self.dem = cfg, cfg.dem
        # the same tiling as predict/nowcast (FloodMapper's default, defaults.PREDICT_TILE)
        self.mapper = FloodMapper.load(cfg.model, patch=cfg.tile, overlap=cfg.overlap)
        if cfg.surface and "manning" in cfg.surface:  # read only by a `manning`-channel model
            self.mapper.manning = cfg.surface["manning"]
        self.version = hashlib.sha256(Path(cfg.model).read_bytes()).hexdigest()[:12]
        self.interval = float((self.mapper.intervals or [300.0])[0])
        # one torch thread per model call and at most ``workers`` calls at once: on a busy
        # 2-core machine 2 intra-op threads spin against each other (measured 25x slower)
        torch.set_num_threads(1)
        # NHWC convolutions: 1.3x faster on this CPU, same results to float rounding
        self.mapper.model = self.mapper.model.to(memory_format=torch.channels_last)
        self.lock = threading.BoundedSemaphore(max(1, cfg.workers))
        guard.set_parse_slots(cfg.workers)  # decoding uploads is bounded like model calls
        self.cache = bodies.ResponseCache(cfg.cache)
        self.state_dir = Path(cfg.state_dir or tempfile.mkdtemp(prefix="floodcast-serve-"))
        self.board = MapBoard(
            self.dem,
            self.mapper,
            self.state_dir / "maps",
            self.lock,
            n_leads=cfg.n_leads,
            cut=self.mapper.cut if cfg.cut is None else cfg.cut,
        )
        self.hillshade = hillshade_png(self.dem)
        # the DEM's routing and storm runs now, not inside the first request
        warm = self.mapper.warm_up(self.dem.elevation, self.dem.cell_size)
        log.info("derived channels of the DEM ready in %.1f s", warm)
        self.reference: dict | None = None
        self.info = {
            "version": self.version,
            "model": Path(cfg.model).name,
            "frames": str(self.mapper.frames),
            "floodcast": __version__,
        }
        self.metrics = ServeMetrics(self.info, self.mapper.stats, self.status)
        self.watcher = self.ensemble = None
        if cfg.watch_dir is not None:
            from floodcast.serve.live import LivePhysics
            from floodcast.serve.watcher import Watcher

            live = (
                LivePhysics(self.dem, self.mapper.threshold, surface=cfg.surface)
                if cfg.physics
                else None
            )
            if live is not None and cfg.ensemble > 0:  # physics ensemble after each frame
                from floodcast.serve.live_cycle import runner_for

                self.ensemble = runner_for(live, cfg, self.interval, self.board.folder, self.dem)
            self.watcher = Watcher(
                cfg.watch_dir,
                self.state_dir,
                self.dem,
                self.board,
                live,
                self.interval,
                cfg.poll_s,
                self.metrics.drift.record,
                cfg.watch_source,
                self.ensemble.submit if self.ensemble else None,
            )

    def status(self) -> dict:
        w = self.watcher
        out = {
            "watch": w.status() if w else {},
            "csi": dict(self.board.csi),
            "physics": w.live.status() if w and w.live else {},
            "ensemble": self.ensemble.status() if self.ensemble else {},
        }
        if self.reference:
            out["reference"] = self.reference
        return out

    def predict(self, rin: inputs.RainInput, cut: float):
        with self.lock:
            return self.mapper.predict(
                rin.frames, self.dem.elevation, self.dem.cell_size, rin.interval_s, cut=cut
            )

    def start(self) -> None:
        if self.ensemble is not None:
            self.ensemble.start()
        if self.watcher is not None:
            self.watcher.start()
            if self.cfg.reference_check:
                threading.Thread(target=self._reference, daemon=True).start()

    def _reference(self) -> None:
        from floodcast.serve.live import realtime_check

        try:
            self.reference = realtime_check(512, self.interval)
        except Exception as exc:
            self.reference = {"error": f"{type(exc).__name__}: {exc}"}

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self.ensemble is not None:
            self.ensemble.stop()


def create_app(cfg: ServeConfig) -> FastAPI:
    """Build the app for ``cfg`` (loads the model; starts the watcher on startup)."""
    srv = Server(cfg)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        srv.start()
        yield
        srv.stop()

    from floodcast.serve.docs_ui import install_offline_docs

    # docs_url=None: /docs is served with local Swagger UI assets (offline), below
    app = FastAPI(
        title="floodcast",
        version=srv.info["floodcast"],
        lifespan=lifespan,
        docs_url=None if _has_swagger_bundle() else "/docs",
        description="Flood maps from radar rain and a DEM: model predictions, "
        "nowcasts and a live physics solver. Rain in mm/h, depth in m, time in s.",
    )
    app.state.server = srv
    schemas.complete_openapi(app)
    app.add_middleware(
        limits.BodyLimit, max_bytes=int(cfg.max_upload_mb * 1e6), read_timeout_s=cfg.read_timeout_s
    )
    app.add_middleware(limits.Timing, observe=srv.metrics.observe)
    limits.install_error_handlers(app)
    from floodcast.serve.routes import STATIC, add_routes

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_offline_docs(app)

    add_routes(app, srv)
    from floodcast.serve.posts import add_posts_routes, load_posts_layer

    add_posts_routes(app, load_posts_layer(cfg.posts) if cfg.posts else None)

    @app.post(
        "/predict",
        summary="Flood map from uploaded radar frames",
        openapi_extra={"requestBody": schemas.PREDICT_BODY},
        responses=schemas.PREDICT_RESPONSES,
        response_class=Response,
    )
    async def predict(
        request: Request,
        format: schemas.OutputFormat | None = Query(
            None, description="Output format; default from Accept (GeoJSON)"
        ),
        interval_s: float | None = Query(
            None,
            gt=0,
            le=86400,
            description="Frame interval (s) when the file does not say; default the model's",
        ),
        cut: float | None = Query(
            None, ge=0, le=1, description="Wet-probability cut; default the model's calibrated cut"
        ),
        publish: bool = Query(False, description="Also show it on the web map"),
    ):
        fmt = limits.negotiate(format, request.headers.get("accept"))
        kind, data = await bodies.payload(request)  # within the upload cap (BodyLimit)
        cut = srv.mapper.cut if cut is None else cut
        key = srv.cache.key(data, kind, fmt, interval_s, cut)
        hit = None if publish else srv.cache.get(key)
        if hit is not None:
            return Response(
                hit[0],
                media_type=hit[1],
                headers={"X-Model-Version": srv.version, "X-Cache": "hit"},
            )
        rin = await run_in_threadpool(bodies.parse, kind, data, srv.dem, srv.interval, interval_s)
        fmap = await run_in_threadpool(srv.predict, rin, cut)
        # off the event loop too: it reads every input value
        await run_in_threadpool(srv.metrics.drift.record, rin.frames[-srv.mapper.frames :])
        if publish:
            await run_in_threadpool(srv.board.update, rin.frames, time.time(), rin.interval_s, None)
        from floodcast.serve.routes import render_map

        meta = {
            "frames": int(rin.frames.shape[0]),
            "interval_s": rin.interval_s,
            "cut": cut,
            "notes": rin.notes,
        }
        resp = await run_in_threadpool(render_map, fmt, fmap, srv, meta)  # off the event loop
        srv.cache.put(key, resp.body, resp.media_type)
        return resp

    return app
