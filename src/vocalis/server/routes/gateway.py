"""The gateway seed's endpoints: raw PCM in the request body, no multipart, no container.

`POST /api/stt/bytes` transcribes headerless s16le and answers with the text and segment
times in milliseconds. `POST /api/echo-bytes` transcribes, then speaks the transcript back
as WAV: a loopback for testing a voice pipeline end to end. The transcript travels in the
`X-Transcript` header, percent-encoded UTF-8 (as JavaScript's encodeURIComponent), because
a header may carry only ASCII; decode it with `urllib.parse.unquote` or decodeURIComponent.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated, Literal
from urllib.parse import quote

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from vocalis.audio import decode
from vocalis.audio.decode import RawPcm
from vocalis.audio.encode import encode
from vocalis.errors import PayloadTooLarge
from vocalis.server.deps import Services, ServicesDep
from vocalis.server.jobs import cancel_on_disconnect
from vocalis.server.routes.transcriptions import CLIENT_CLOSED, SpeechJob, run_transcription
from vocalis.stt import formats
from vocalis.stt.base import Segment, TranscriptionOptions
from vocalis.stt.languages import check_language
from vocalis.tts.service import SpeechRequest, TextToSpeech

router = APIRouter(tags=["gateway"])
access_log = logging.getLogger("vocalis.access")

TRANSCRIPT_HEADER = "X-Transcript"
# Echo is for short turns, and its whole transcript must fit in one response header.
ECHO_MAX_SECONDS = 120.0
# Left unescaped by encodeURIComponent besides letters, digits and "-_.~" (which quote keeps).
_HEADER_SAFE = "!'()*"

SampleRate = Annotated[int, Query(ge=1000, le=384_000, description="Samples per second.")]
Channels = Annotated[int, Query(ge=1, le=8, description="Interleaved channels.")]
PcmFormat = Annotated[Literal["s16le"], Query(description="Signed 16-bit little-endian.")]
Language = Annotated[str | None, Query(description="ISO-639-1 code; omit to detect.")]
# The body is read raw, so FastAPI cannot describe it; this tells OpenAPI clients.
RAW_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class GatewaySegment(BaseModel):
    start_ms: int
    end_ms: int
    text: str


class GatewayTranscript(BaseModel):
    text: str
    segments: list[GatewaySegment]


@router.post("/api/stt/bytes", response_model=GatewayTranscript, openapi_extra=RAW_BODY)
async def stt_bytes(
    services: ServicesDep,
    request: Request,
    sr: SampleRate = 16_000,
    ch: Channels = 1,
    fmt: PcmFormat = "s16le",
    lang: Language = None,
    model: Annotated[str | None, Query(description="Speech-to-text model.")] = None,
) -> GatewayTranscript | Response:
    job = _job(services, model, lang)
    audio = await _body(request, services.settings.max_upload_bytes)
    result = await run_transcription(services, request, job, audio, RawPcm(sr, ch))
    if result is None:
        return Response(status_code=CLIENT_CLOSED)
    return transcript(result[1])


@router.post(
    "/api/echo-bytes",
    response_class=Response,
    openapi_extra=RAW_BODY,
    responses={200: {"content": {"audio/wav": {}}, "description": "The transcript, spoken."}},
)
async def echo_bytes(
    services: ServicesDep,
    request: Request,
    sr: SampleRate = 16_000,
    ch: Channels = 1,
    fmt: PcmFormat = "s16le",
    lang: Language = None,
    voice: Annotated[str, Query(description="As in /v1/audio/speech.")] = "alloy",
    model: Annotated[str | None, Query(description="Text-to-speech model.")] = None,
) -> Response:
    job = _job(services, None, lang)
    # Checked before any work: the text is filled in once it is known.
    speech = services.tts.request(model, voice, "", 1.0, job.options.language, streaming=False)
    raw = RawPcm(sr, ch)
    audio = await _body(request, services.settings.max_upload_bytes)
    _check_echo_length(audio, raw)
    result = await run_transcription(services, request, job, audio, raw)
    if result is None:
        return Response(status_code=CLIENT_CLOSED)
    text = formats.full_text(result[1])
    spoken = replace(speech, text=text)
    async with cancel_on_disconnect(request, spoken.switch.stop):  # stops the piece being made
        wav = await services.jobs.run(_speak, services.tts, spoken)
    if spoken.switch.stopped:
        return Response(status_code=CLIENT_CLOSED)
    return Response(wav, media_type="audio/wav", headers={TRANSCRIPT_HEADER: header_value(text)})


def transcript(segments: Sequence[Segment]) -> GatewayTranscript:
    return GatewayTranscript(
        text=formats.full_text(segments),
        segments=[
            GatewaySegment(start_ms=_ms(s.start), end_ms=_ms(s.end), text=s.text.strip())
            for s in segments
        ],
    )


def header_value(text: str) -> str:
    """Any text as a header value of printable ASCII: percent-encoded UTF-8."""
    return quote(text, safe=_HEADER_SAFE)


def _ms(seconds: float) -> int:
    return max(0, round(seconds * 1000))


def _job(services: Services, model: str | None, language: str | None) -> SpeechJob:
    spec = services.stt.resolve(model)
    options = TranscriptionOptions(language=check_language(language, spec))
    return SpeechJob(spec, options, "json", frozenset({"segment"}))


async def _body(request: Request, limit: int) -> io.BytesIO:
    """The raw body, refused as soon as it passes `limit` (a chunked body declares no length)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(
                f"The request body is larger than this server's limit of "
                f"{limit / 1024 / 1024:g} MB (setting VOCALIS_MAX_UPLOAD_MB)."
            )
    return io.BytesIO(body)


def _check_echo_length(audio: io.BytesIO, raw: RawPcm) -> None:
    seconds = decode.declared_seconds(audio, raw) or 0.0
    if seconds > ECHO_MAX_SECONDS:
        raise PayloadTooLarge(
            f"Echo takes at most {ECHO_MAX_SECONDS:g} s of audio, got {seconds:.1f} s; "
            "transcribe longer audio with /api/stt/bytes."
        )


def _speak(tts: TextToSpeech, request: SpeechRequest) -> bytes:
    """The transcript as a whole WAV file; no speech heard gives a WAV of no samples."""
    started = time.perf_counter()
    pieces = list(tts.synthesize(request)) if request.text else []
    rate = tts.sample_rate(request.engine)
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    access_log.info(
        json.dumps(
            {
                "event": "echo",
                "engine": request.engine,
                "voice": request.options.voice,
                "characters": len(request.text),
                "audio_seconds": round(len(samples) / rate, 3),
                "processing_seconds": round(time.perf_counter() - started, 3),
            }
        )
    )
    return encode(samples, rate, "wav")
