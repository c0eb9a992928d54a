"""Request limits and error shapes: upload cap, timing, content negotiation, JSON errors.

Every error leaves as ``{"error": "...", "detail": ...}`` with a 4xx status when the
request is at fault; anything else is a logged 500 with no internals in the body.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from floodcast.errors import InputError
from floodcast.serve.schemas import MEDIA_TYPES, OutputFormat

log = logging.getLogger("floodcast.serve")


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail=None):
        super().__init__(error)
        self.status, self.error, self.detail = status, error, detail


class TooLarge(Exception):
    """The body passed the upload limit while being read."""


class ReadTimeout(Exception):
    """The client stopped sending its body."""


def _json(status: int, error: str, detail=None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status)


class BodyLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` with 413, by Content-Length when
    given and by counting otherwise (chunked uploads), before the app buffers them."""

    def __init__(self, app, max_bytes: int, read_timeout_s: float = 30.0):
        self.app, self.max_bytes = app, int(max_bytes)
        self.read_timeout_s = float(read_timeout_s)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        msg = f"upload larger than the limit of {self.max_bytes / 1e6:g} MB (--max-upload-mb)"
        try:
            if length is not None and int(length) > self.max_bytes:
                return await _json(413, msg)(scope, receive, send)
        except ValueError:
            return await _json(400, "bad Content-Length header")(scope, receive, send)
        seen = 0
        started = False
        body_done = False

        async def limited_receive():
            nonlocal seen, body_done
            if body_done:  # after the body: waiting for a disconnect, no deadline
                return await receive()
            try:  # a client that stops sending (Content-Length > body) must not hold us
                message = await asyncio.wait_for(receive(), self.read_timeout_s)
            except TimeoutError:
                raise ReadTimeout from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise TooLarge
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except TooLarge:
            if not started:
                await _json(413, msg)(scope, receive, send)
        except ReadTimeout:
            if not started:
                await _json(408, f"request body not received within {self.read_timeout_s:g} s")(
                    scope, receive, send
                )


class Timing:
    """ASGI middleware: count requests and their latency by route template and status."""

    def __init__(self, app, observe):
        self.app, self.observe = app, observe

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        status = [500]

        async def send_(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_)
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route is None:
                route = "/static" if scope["path"].startswith("/static/") else "unmatched"
            self.observe(scope["method"], route, status[0], time.perf_counter() - t0)


def negotiate(fmt: OutputFormat | None, accept: str | None) -> OutputFormat:
    """The output format: ``format=`` wins, else the first acceptable Accept media type."""
    if fmt is not None:
        return fmt
    if not accept:
        return OutputFormat.geojson
    by_media = {v: k for k, v in MEDIA_TYPES.items()}
    by_media.update(
        {
            "*/*": OutputFormat.geojson,
            "application/*": OutputFormat.geojson,
            "image/*": OutputFormat.png,
            "image/geotiff": OutputFormat.geotiff,
            "image/tiff; application=geotiff": OutputFormat.geotiff,
        }
    )
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media in by_media:
            return by_media[media]
    raise HTTPException(
        406,
        f"cannot produce {accept!r}; acceptable: "
        f"{', '.join(MEDIA_TYPES.values())} (or use format=)",
    )


def check_json_size(data: bytes, max_values: int) -> None:
    """Refuse a JSON body before parsing it when it holds more numbers than a valid
    request can (a 20 MB body of ``0,`` would become 10 M Python floats)."""
    if data.count(b",") + 1 > max_values:
        raise ApiError(
            422,
            f"JSON body holds more than {max_values} values, more than a "
            "rain request for this DEM can need; send a file instead",
        )


_SAFE_NAME = re.compile(
    r"^([0-9]{6}_(obs|lead[0-9]{1,3})_(radar|flood)|ens[0-9]{6}_lead[0-9]{1,3}_p[0-9])\.png$"
)


def safe_file(folder: Path, name: str) -> Path:
    """A file the server wrote into ``folder``; anything else (``..``, slashes, other
    names, symlinks out) is a 404, so no request can reach outside the data folder."""
    if not _SAFE_NAME.match(name):
        raise HTTPException(404, f"no map file {name!r}")
    root = folder.resolve()
    path = (root / name).resolve()
    if path.parent != root or not path.is_file():
        raise HTTPException(404, f"no map file {name!r}")
    return path


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError):
        return _json(422, str(exc))

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError):
        return _json(exc.status, exc.error, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        try:
            detail = json.loads(json.dumps(jsonable_encoder(exc.errors()), default=str))
        except (TypeError, ValueError):
            detail = str(exc)
        return _json(422, "invalid request parameters", detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        resp = _json(exc.status_code, str(exc.detail))
        resp.headers.update(exc.headers or {})  # e.g. Allow on a 405
        return resp

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _json(500, f"internal error ({type(exc).__name__}); see the server log")
