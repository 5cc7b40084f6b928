"""A request id for every HTTP request and WebSocket: the client's `X-Request-ID` when it
sends a sane one, else a new one; returned in the response and carried by every log line
written while the request runs (worker threads included: they copy the context)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
# What is taken from a client: short, and nothing that could forge a log line.
ACCEPTED = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")

current: ContextVar[str | None] = ContextVar("vocalis_request_id", default=None)


def request_id(given: str | None) -> str:
    if given and ACCEPTED.fullmatch(given):
        return given
    return uuid.uuid4().hex


class RequestId:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        rid = request_id(Headers(scope=scope).get(HEADER))
        token = current.set(rid)
        header = (HEADER.encode(), rid.encode())

        async def sending(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            current.reset(token)
