"""The OpenAI Realtime API's transcription sessions at `WS /v1/realtime`, over the live core.

`events` holds the wire's messages, `session` the effective session and its GA and beta
renderings, `route` the thin adapter that translates between the wire and `LiveSession`.
"""

from vocalis.server.realtime.route import router

__all__ = ["router"]
