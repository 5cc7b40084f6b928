"""Ray Serve's model multiplexing for Whisper models, as ASGI middleware in each replica.

Serve's proxy routes a request by its `serve_multiplexed_model_id` header to a replica
that already holds that model, and it does so before reading any of the body. OpenAI's
clients name the model inside the multipart body, which the proxy never sees, so the
header is for the client (the OpenAI SDK's `default_headers` or `extra_headers`) or a
proxy in front to set. A request without it goes to any replica, which loads the model
on first use as a plain server does.

Here a request that carries the header has that model loaded, and registered with
Serve's multiplexer (`hold`), before it runs; every answer names the replica that gave it.
The header only routes: the model named in the request itself is the one that works, and
a header naming a model this server cannot load is logged and otherwise ignored.

Serve's proxy puts an X-Request-ID on every request it forwards and on every answer; the
app takes the request's, so the replica leaves its own copy out of the answer rather than
send the header twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vocalis.errors import VocalisError

log = logging.getLogger(__name__)

# Serve's own header, matched as Serve matches it: any case, `-` or `_`.
MODEL_HEADER = "serve_multiplexed_model_id"
REPLICA_HEADER = "x-vocalis-replica"
REQUEST_ID_HEADER = "x-request-id"
# Loads a model by the header's id and tells Serve this replica holds it.
Hold = Callable[[str], Awaitable[object]]


def routed_model(scope: Scope) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.decode("latin-1").lower().replace("-", "_") == MODEL_HEADER:
            return value.decode("latin-1").strip() or None
    return None


class HoldRoutedModel:
    def __init__(self, app: ASGIApp, hold: Hold, replica: str) -> None:
        self.app = app
        self.hold = hold
        self.replica = replica

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        model = routed_model(scope)
        if model:
            await self._hold(model)
        await self.app(scope, receive, self._headed(scope, send))

    async def _hold(self, model: str) -> None:
        try:
            await self.hold(model)
        except VocalisError as exc:
            log.warning("the routing header names %r, which is not loaded: %s", model, exc.message)

    def _headed(self, scope: Scope, send: Send) -> Send:
        if scope["type"] != "http":
            return send

        async def headed(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                del headers[REQUEST_ID_HEADER]
                headers.append(REPLICA_HEADER, self.replica)
            await send(message)

        return headed
