"""Request bodies of ``POST /predict``: read within the upload cap, parsed into validated
rain on the DEM grid, and the cache of responses to identical bodies.

Bad bodies raise ``InputError`` / ``ApiError`` / ``HTTPException`` with a message naming
what is wrong; the app's error handlers turn them into 4xx JSON.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict

from fastapi import HTTPException, Request
from fastapi.encoders import jsonable_encoder
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from floodcast.errors import InputError
from floodcast.io.dem import Dem
from floodcast.serve import inputs, limits, schemas


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


async def payload(request: Request) -> tuple[str, bytes]:
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


def parse(
    kind: str, data: bytes, dem: Dem, default: float, interval_s: float | None
) -> inputs.RainInput:
    """Validated rain on ``dem`` from a file body or a JSON body (``default``: interval s)."""
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
