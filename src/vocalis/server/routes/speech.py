"""POST /v1/audio/speech, and the voice and model lists that speech clients read."""

from __future__ import annotations

import base64
import json
import logging
import math
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from vocalis.audio.encode import MEDIA_TYPES, StreamEncoder, resample
from vocalis.errors import InvalidRequest
from vocalis.ops.metrics import record_audio
from vocalis.server.deps import ServicesDep
from vocalis.server.streams import StoppingResponse
from vocalis.tts.service import SpeechRequest, TextToSpeech

router = APIRouter(tags=["text-to-speech"])
access_log = logging.getLogger("vocalis.access")

# OpenAI's pcm is raw 16-bit mono at 24 kHz whatever the engine's own rate.
PCM_RATE = 24_000


class VoiceId(BaseModel):
    id: str


class SpeechBody(BaseModel):
    """The JSON body, exactly OpenAI's fields plus `language`."""

    model: str | None = None
    input: str = Field(min_length=1, max_length=4096)
    voice: str | VoiceId = "alloy"
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    instructions: str | None = None  # accepted; Piper and Kokoro have no way to use it
    stream_format: Literal["audio", "sse"] = "audio"
    language: str | None = None
    # Vocalis extra: false synthesizes the whole text in one pass (least total time, first
    # audio later) instead of a short first piece and then sentence by sentence.
    stream: bool = True


@router.post("/v1/audio/speech")
async def create_speech(body: SpeechBody, services: ServicesDep) -> StreamingResponse:
    if not body.input.strip():
        raise InvalidRequest("The input text is empty.", param="input")
    voice = body.voice.id if isinstance(body.voice, VoiceId) else body.voice
    request = services.tts.request(
        body.model, voice, body.input, body.speed, body.language, streaming=body.stream
    )
    # Load the engine before the response starts, so a failure is still a proper error status.
    await services.jobs.run(services.tts.pool.load, request.engine)
    audio = encoded_speech(services.tts, request, body.response_format)
    stop = request.switch.stop  # the client went away: end the piece being made
    if body.stream_format == "sse":
        events = services.jobs.stream(_sse(audio, body.input))
        return StoppingResponse(events, stop, media_type="text/event-stream")
    media_type = MEDIA_TYPES[body.response_format]
    return StoppingResponse(services.jobs.stream(audio), stop, media_type=media_type)


def encoded_speech(tts: TextToSpeech, request: SpeechRequest, fmt: str) -> Iterator[bytes]:
    """Encoded audio, piece by piece as synthesis goes. Runs in worker threads."""
    started = time.perf_counter()
    engine_rate = tts.sample_rate(request.engine)
    rate = PCM_RATE if fmt == "pcm" else engine_rate
    encoder = StreamEncoder(fmt, rate)
    seconds = 0.0
    for samples in tts.synthesize(request):
        seconds += len(samples) / engine_rate
        if rate != engine_rate:
            samples = resample(samples, engine_rate, rate)
        if data := encoder.write(samples):
            yield data
    if tail := encoder.close():
        yield tail
    elapsed = time.perf_counter() - started
    record_audio("speech", request.engine, seconds, elapsed)
    access_log.info(
        json.dumps(
            {
                "event": "speech",
                "engine": request.engine,
                "voice": request.options.voice,
                "characters": len(request.text),
                "audio_seconds": round(seconds, 3),
                "processing_seconds": round(elapsed, 3),
                "real_time_factor": round(elapsed / seconds, 4) if seconds else None,
                "format": fmt,
            }
        )
    )


def _sse(audio: Iterator[bytes], text: str) -> Iterator[bytes]:
    """`speech.audio.delta` events with base64 audio, then `speech.audio.done` with usage."""
    total = 0
    for data in audio:
        total += len(data)
        event = {"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()}
        yield f"data: {json.dumps(event)}\n\n".encode()
    # Usage is an estimate in OpenAI's units: ~4 characters a token in, 1 token per kB out.
    input_tokens = math.ceil(len(text) / 4)
    output_tokens = math.ceil(total / 1024)
    usage = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
    }
    yield f"data: {json.dumps({'type': 'speech.audio.done', 'usage': usage})}\n\n".encode()


@router.get("/v1/audio/voices")
async def list_voices(
    services: ServicesDep, model: Annotated[str | None, Query()] = None
) -> dict[str, Any]:
    voices = services.tts.voices(model)
    return {
        "voices": [
            {
                "id": v.id,
                "name": v.name,
                "language": v.language,
                "gender": v.gender,
                "model": v.model,
            }
            for v in voices
        ]
    }


@router.get("/v1/audio/models")
async def list_speech_models(services: ServicesDep) -> dict[str, Any]:
    return {"models": [{"id": name} for name in services.tts.models()]}
