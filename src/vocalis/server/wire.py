"""What every WebSocket route shares: one sender at a time, and the close codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from vocalis.errors import VocalisError

CLOSE_POLICY = 1008  # a request the server will not serve (bad query)
CLOSE_TOO_BIG = 1009  # a message over VOCALIS_LIVE_MAX_MESSAGE_KB
CLOSE_TRY_LATER = 1013  # the live session cap


class Wire:
    """Sends frames one at a time and in order, from a receive loop and its tasks alike;
    nothing is sent once the connection has closed."""

    def __init__(self, websocket: WebSocket):
        self.websocket = websocket
        self._lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any] | bytes) -> None:
        async with self._lock:
            if self.websocket.application_state is not WebSocketState.CONNECTED:
                return
            if isinstance(frame, bytes):
                await self.websocket.send_bytes(frame)
            else:
                await self.websocket.send_text(json.dumps(frame))

    async def error(self, exc: VocalisError) -> None:
        """The error in Vocalis' frame: {"type": "error", "error": {message, type, ...}}."""
        await self.send({"type": "error", **exc.envelope()})

    async def close(self, code: int = 1000, reason: str = "") -> None:
        async with self._lock:
            if self.websocket.application_state is WebSocketState.CONNECTED:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self.websocket.close(code, reason)
