"""Every error leaves the server in OpenAI's envelope: {"error": {message, type, param, code}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from vocalis.errors import PayloadTooLarge, ServerBusy, VocalisError
from vocalis.ops.metrics import observe_error

log = logging.getLogger(__name__)


def error_body(
    message: str, type_: str, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def error_response(exc: VocalisError) -> JSONResponse:
    observe_error(exc.code)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, ServerBusy) else None
    return JSONResponse(exc.envelope(), status_code=exc.status_code, headers=headers)


async def _vocalis_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, VocalisError)
    if exc.status_code >= 500:
        log.error("%s", exc.message)
    return error_response(exc)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    location = [str(part) for part in first.get("loc", ()) if part not in ("body", "query", "path")]
    param = location[0] if location else None
    message = (
        f"Invalid value for '{param}': {first.get('msg', 'invalid')}." if param else first["msg"]
    )
    if first.get("type") == "missing":
        message = f"Missing required parameter: '{param}'."
    observe_error("invalid_value")
    body = error_body(message, "invalid_request_error", param, "invalid_value")
    return JSONResponse(body, status_code=400)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    type_ = "invalid_request_error" if exc.status_code < 500 else "server_error"
    observe_error(f"http_{exc.status_code}")
    body = error_body(str(exc.detail), type_, None, None)
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    body = error_body("The server failed to process the request.", "server_error")
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(VocalisError, _vocalis_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


class UploadLimit:
    """Refuses a body whose declared length is over the limit before reading any of it."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length")
            # Multipart framing adds a little; allow for it.
            if length and length.isdigit() and int(length) > self.max_bytes + 65536:
                limit_mb = self.max_bytes / 1024 / 1024
                exc = PayloadTooLarge(
                    f"The upload is larger than this server's limit of {limit_mb:g} MB "
                    "(setting VOCALIS_MAX_UPLOAD_MB)."
                )
                await error_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)
