"""API keys on every route: ASGI middleware in front of HTTP, SSE and WebSockets alike.

A client presents its key as OpenAI's clients do: `Authorization: Bearer KEY` on any
request; a WebSocket may instead carry it in the `api_key` query parameter, or in the
`openai-insecure-api-key.KEY` subprotocol that browsers use since they cannot set headers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from starlette.datastructures import Headers, QueryParams
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vocalis.errors import VocalisError
from vocalis.ops import metrics
from vocalis.ops.keys import KeyRing

KEY_SUBPROTOCOL = "openai-insecure-api-key."
# What the browser transport of OpenAI's SDKs offers beside the key, and expects back.
REALTIME_SUBPROTOCOL = "realtime"
CLOSE_POLICY = 1008
# Open WebUI lists voices and models without a key (and falls back to OpenAI's six
# voices when refused), so discovery stays open whatever the settings.
DISCOVERY_PATHS = ("/v1/audio/voices", "/v1/audio/models")
# The web page and its assets hold no secret; what the page calls needs the key it is given.
PAGE_PATHS = ("/", "/web/")


class InvalidApiKey(VocalisError):
    status_code = 401
    code = "invalid_api_key"

    @classmethod
    def of(cls, presented: str | None) -> InvalidApiKey:
        if presented:  # never echo any of it: a near-miss is still a secret
            return cls("Incorrect API key provided.")
        return cls(
            "Missing API key: send 'Authorization: Bearer YOUR_KEY' (a WebSocket may use the "
            "api_key query parameter or the openai-insecure-api-key.YOUR_KEY subprotocol)."
        )


class OpenPaths:
    """Paths served without a key: exact paths, and prefixes given with a trailing '/'
    (all but "/" itself, which is only the page)."""

    def __init__(self, paths: Iterable[str]):
        listed = [*paths, *DISCOVERY_PATHS, *PAGE_PATHS]
        # "/" is the page alone: as a prefix it would open every route.
        self.exact = frozenset(p for p in listed if p == "/" or not p.endswith("/"))
        self.prefixes = tuple(p for p in listed if p != "/" and p.endswith("/"))

    def __contains__(self, path: str) -> bool:
        return path in self.exact or path.startswith(self.prefixes)


class ApiKeyAuth:
    def __init__(self, app: ASGIApp, ring: KeyRing, open_paths: Iterable[str]):
        self.app = app
        self.ring = ring
        self.open_paths = OpenPaths(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            send = answering_subprotocol(scope, send)
        if not self._guarded(scope):
            return await self.app(scope, receive, send)
        presented = credentials(scope)
        if self.ring.accepts(presented):
            return await self.app(scope, receive, send)
        refusal = InvalidApiKey.of(presented)
        metrics.observe_error(refusal.code)
        if scope["type"] == "http":
            headers = {"WWW-Authenticate": "Bearer"}
            response = JSONResponse(refusal.envelope(), refusal.status_code, headers=headers)
            return await response(scope, receive, send)
        return await refuse_websocket(receive, send, refusal)

    def _guarded(self, scope: Scope) -> bool:
        kind_guarded = scope["type"] in ("http", "websocket")
        return kind_guarded and self.ring.enabled and route_path(scope) not in self.open_paths


def route_path(scope: Scope) -> str:
    """The path inside the app, without the root path of a proxy's prefix."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def credentials(scope: Scope) -> str | None:
    """The key a request presents, wherever its kind of client puts it."""
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if scope["type"] != "websocket":
        return None
    if query_key := QueryParams(scope.get("query_string", b"")).get("api_key"):
        return query_key
    offered: str
    for offered in scope.get("subprotocols", ()):
        if offered.startswith(KEY_SUBPROTOCOL):
            return offered[len(KEY_SUBPROTOCOL) :]
    return None


def choose_subprotocol(offered: Sequence[str]) -> str | None:
    """What to answer a client that sent its key as a subprotocol: a browser fails the
    handshake unless the server picks one it offered. Never the key itself if avoidable."""
    if not any(p.startswith(KEY_SUBPROTOCOL) for p in offered):
        return None
    if REALTIME_SUBPROTOCOL in offered:
        return REALTIME_SUBPROTOCOL
    others = [p for p in offered if not p.startswith(KEY_SUBPROTOCOL)]
    return (others or list(offered))[0]


def answering_subprotocol(scope: Scope, send: Send) -> Send:
    """`send`, with a subprotocol added to an accept that names none (the routes don't)."""
    chosen = choose_subprotocol(scope.get("subprotocols", ()))
    if chosen is None:
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "websocket.accept" and not message.get("subprotocol"):
            message = {**message, "subprotocol": chosen}
        await send(message)

    return sending


async def refuse_websocket(receive: Receive, send: Send, refusal: VocalisError) -> None:
    """As OpenAI's Realtime server does: accept, say why in an error event, close (1008),
    so a browser, which never sees a refused handshake's status, can tell the user."""
    if (await receive())["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    frame = {"type": "error", **refusal.envelope()}
    await send({"type": "websocket.send", "text": json.dumps(frame)})
    await send({"type": "websocket.close", "code": CLOSE_POLICY, "reason": refusal.message[:120]})
