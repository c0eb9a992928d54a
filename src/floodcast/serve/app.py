"""`floodcast serve`: the FastAPI app (prediction API, web map, watch mode, metrics).

Bad input always gets a 4xx with a JSON ``{"error": ...}`` body: uploads are capped
(:class:`~floodcast.serve.limits.BodyLimit`), parsed into validated frames
(:mod:`floodcast.serve.inputs`) and the model's own checks raise ``InputError``. Only
files the server wrote itself, in its state folder, can be fetched, by a name matched
against a fixed pattern. At most ``--workers`` model calls run at once (a
semaphore the watcher shares), so concurrent requests queue instead of oversubscribing the CPU.
"""

# size: the server's state, lifespan (warm-up, watch loop) and app factory.

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from floodcast.defaults import (
    NOWCAST_LEAD_MIN,
    NOWCAST_MEMBERS,
    NOWCAST_THRESHOLDS_M,
    PREDICT_TILE,
)
from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.serve import guard, inputs, limits, schemas
from floodcast.serve.maps import MapBoard
from floodcast.serve.render import hillshade_png
from floodcast.serve.telemetry import ServeMetrics

log = logging.getLogger("floodcast.serve")
SERVE_TILE = PREDICT_TILE  # the one tiling default (FloodMapper applies it)


@dataclass
class ServeConfig:
    """What ``floodcast serve`` serves; see ``floodcast serve --help``."""

    model: Path
    dem: Dem
    watch_dir: Path | None = None
    state_dir: Path | None = None
    max_upload_mb: float = 20.0
    n_leads: int = 6
    physics: bool = True
    poll_s: float = 1.0
    cut: float | None = None  # wet-probability cut of the live maps (None: the model's)
    reference_check: bool = False  # time a 512 x 512 live solver at startup (watch mode)
    workers: int = 2  # model calls at once (each on one torch thread)
    tile: int | None = None  # model tile (cells); None = the training patch, at least 256
    overlap: int | None = None  # tile overlap (cells); None = a quarter tile
    cache: int = 32  # responses kept for repeated identical requests (0 = off)
    read_timeout_s: float = 30.0  # a request body must arrive within this (else 408)
    posts: Path | None = None  # social-media layer (places.geojson of `social map`)
    # live physics' land surface: SolverConfig fields (LandSurface.solver_fields()); None =
    # the default uniform n, no losses
    surface: dict | None = None
    watch_source: str | None = None  # radar source of native watch files (None: guessed)
    ensemble: int = NOWCAST_MEMBERS  # live ensemble members per cycle (0 = no ensemble)
    lead_min: float = NOWCAST_LEAD_MIN  # lead of the live ensemble (minutes)
    thresholds: tuple[float, ...] = NOWCAST_THRESHOLDS_M  # depths (m) of its probabilities
    alerts: tuple[str, ...] = ()  # AREA.geojson:DEPTH:PROB:LEAD rules on the live ensemble
    notify: tuple[str, ...] = ()  # apprise URLs the alerts go to
    map_url: str = ""  # named in alert messages


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
        if cfg.surface and "manning" in cfg.surface:  # a model with the manning channel
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
        self.cache = ResponseCache(cfg.cache)
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
        kind, data = await _payload(request)  # within the upload cap (BodyLimit)
        cut = srv.mapper.cut if cut is None else cut
        key = srv.cache.key(data, kind, fmt, interval_s, cut)
        hit = None if publish else srv.cache.get(key)
        if hit is not None:
            return Response(
                hit[0],
                media_type=hit[1],
                headers={"X-Model-Version": srv.version, "X-Cache": "hit"},
            )
        rin = await run_in_threadpool(_parse, kind, data, srv, interval_s)
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


class ResponseCache:
    """Last ``size`` responses by a hash of the request body and options (LRU).

    Many clients asking for the map of the same radar frame cost one model call. The
    model version is fixed for the app's life, so entries never go stale.
    """

    def __init__(self, size: int):
        self.size = int(size)
        self._d: OrderedDict[str, tuple[bytes, str]] = OrderedDict()
        self._lock = threading.Lock()

    def key(self, body: bytes, *opts) -> str:
        return hashlib.sha256(body + repr(opts).encode()).hexdigest() if self.size else ""

    def get(self, key: str):
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
        return None

    def put(self, key: str, body: bytes, media_type: str | None) -> None:
        if not self.size:
            return
        with self._lock:
            self._d[key] = (body, media_type or "application/octet-stream")
            while len(self._d) > self.size:
                self._d.popitem(last=False)


async def _payload(request: Request) -> tuple[str, bytes]:
    """("file" | "json", bytes) of the request; multipart gives its part named ``file``."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=4)
        except (limits.TooLarge, limits.ReadTimeout):
            raise
        except Exception as exc:
            raise HTTPException(400, f"malformed multipart body: {exc}") from None
        up = form.get("file")
        if not isinstance(up, UploadFile):
            raise InputError("multipart upload needs a file part named 'file'")
        return "file", await up.read()
    if ctype in (
        "application/octet-stream",
        "application/x-netcdf",
        "application/zip",
        "image/tiff",
        "application/x-hdf5",
    ):
        return "file", await request.body()
    if ctype == "application/json":
        return "json", await request.body()
    raise HTTPException(
        415,
        f"unsupported content type {ctype or '(none)'}; send "
        "multipart/form-data (file=...), application/octet-stream or JSON",
    )


def _parse(kind: str, data: bytes, srv: Server, interval_s: float | None) -> inputs.RainInput:
    dem, default = srv.dem, srv.interval
    if kind == "file":
        return inputs.from_bytes(data, dem, interval_s, default)
    limits.check_json_size(data, inputs.MAX_FRAMES * int(dem.elevation.size) + 8)
    try:
        body = schemas.PredictJSON.model_validate(json.loads(data))
    except ValueError as exc:  # JSONDecodeError and pydantic's ValidationError
        detail = (
            jsonable_encoder(exc.errors(include_input=False))
            if isinstance(exc, ValidationError)
            else None
        )
        raise limits.ApiError(422, f"invalid JSON body: {str(exc)[:300]}", detail) from None
    except RecursionError:  # nested deeper than the parser's stack
        raise limits.ApiError(422, "invalid JSON body: nested too deeply") from None
    return inputs.from_arrays(body.rain_mmh, dem, body.interval_s or interval_s, default)
