"""The TTS Server seed's small endpoints: POST /tts (JSON in, a whole WAV out) and GET /voices.

Thin wrappers over the speech service: the same voices, engines and job queue as
/v1/audio/speech, for clients written against that seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from vocalis.audio.encode import encode
from vocalis.errors import InvalidRequest
from vocalis.server.deps import ServicesDep
from vocalis.server.jobs import cancel_on_disconnect
from vocalis.server.routes.transcriptions import CLIENT_CLOSED
from vocalis.tts.service import SpeechRequest, TextToSpeech

router = APIRouter(tags=["text-to-speech"])

# What the seed's clients get without naming a voice: the server's default for OpenAI's first.
DEFAULT_VOICE = "alloy"


class TtsBody(BaseModel):
    text: str = Field(min_length=1, max_length=4096)
    voice: str | None = None
    speed: float = Field(1.0, ge=0.25, le=4.0)
    language: str | None = None
    model: str | None = None


@router.post("/tts", response_class=Response)
async def tts(body: TtsBody, services: ServicesDep, http: Request) -> Response:
    if not body.text.strip():
        raise InvalidRequest("The text is empty.", param="text")
    request = services.tts.request(
        body.model, body.voice or DEFAULT_VOICE, body.text, body.speed, body.language
    )
    # A client that leaves stops the piece being made: a whole reply can be a minute of work.
    async with cancel_on_disconnect(http, request.switch.stop):
        wav = await services.jobs.run(_wav, services.tts, request)
    if wav is None:
        return Response(status_code=CLIENT_CLOSED)
    return Response(wav, media_type="audio/wav")


def _wav(tts: TextToSpeech, request: SpeechRequest) -> bytes | None:
    """The whole text as one WAV whose header knows its length; None if stopped on the way.
    Runs in a worker thread."""
    pieces = list(tts.synthesize(request))
    if request.switch.stopped:
        return None
    return encode(np.concatenate(pieces), tts.sample_rate(request.engine), "wav")


@router.get("/voices")
async def voices(services: ServicesDep) -> dict[str, Any]:
    default = services.tts.request(None, DEFAULT_VOICE, "-", 1.0, None).options.voice
    return {"voices": [v.id for v in services.tts.voices()], "default": default}
