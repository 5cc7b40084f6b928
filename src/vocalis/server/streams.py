"""A streamed response that says at once when its client has gone.

Starlette notices a disconnect while the body is being made, but its cancellation waits
for the worker thread to finish its step: a whole piece of speech, or a transcription's next
segment. `on_disconnect` runs the moment the disconnect arrives, so the step itself can be
stopped (tts/stopping.py, stt/stopping.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive


class StoppingResponse(StreamingResponse):
    def __init__(
        self, content: AsyncIterable[Any], on_disconnect: Callable[[], None], **kwargs: Any
    ) -> None:
        super().__init__(content, **kwargs)
        self.on_disconnect = on_disconnect

    async def listen_for_disconnect(self, receive: Receive) -> None:
        await super().listen_for_disconnect(receive)
        self.on_disconnect()
