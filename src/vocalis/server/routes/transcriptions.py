"""POST /v1/audio/transcriptions and /v1/audio/translations, as OpenAI defines them."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse, Response, StreamingResponse

from vocalis.audio.decode import Samples, decode, decode_pcm
from vocalis.errors import InvalidRequest, PayloadTooLarge, VocalisError
from vocalis.models.catalog import ModelSpec
from vocalis.server.deps import Services, ServicesDep
from vocalis.stt import formats
from vocalis.stt.base import Segment, TranscriptionInfo, TranscriptionOptions
from vocalis.stt.languages import check_language

router = APIRouter(tags=["speech-to-text"])
access_log = logging.getLogger("vocalis.access")

GRANULARITIES = frozenset({"word", "segment"})
# Whisper's encoder sees 50 frames per second of audio; reported as input tokens when streaming.
AUDIO_TOKENS_PER_SECOND = 50


@dataclass(frozen=True)
class SpeechJob:
    """One validated request: what to run and how to answer."""

    spec: ModelSpec
    options: TranscriptionOptions
    response_format: str
    granularities: frozenset[str]
    with_logprobs: bool = False


Text = Annotated[str | None, Form()]


@router.post("/v1/audio/transcriptions")
async def create_transcription(
    services: ServicesDep,
    file: Annotated[UploadFile, File()],
    model: Text = None,
    language: Text = None,
    prompt: Text = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float | None, Form(ge=0, le=1)] = None,
    granularities: Annotated[list[str] | None, Form(alias="timestamp_granularities[]")] = None,
    granularities_plain: Annotated[list[str] | None, Form(alias="timestamp_granularities")] = None,
    include: Annotated[list[str] | None, Form(alias="include[]")] = None,
    stream: Annotated[bool, Form()] = False,
    chunking_strategy: Text = None,
    keywords: Annotated[list[str] | None, Form(alias="keywords[]")] = None,
    vad_filter: Annotated[bool | None, Form()] = None,
    hotwords: Text = None,
    beam_size: Annotated[int | None, Form(ge=1, le=10)] = None,
    sample_rate: Annotated[int | None, Form(ge=1000, le=384_000)] = None,
    channels: Annotated[int, Form(ge=1, le=8)] = 1,
) -> Response:
    spec = services.stt.resolve(model)
    words = [*(granularities or ()), *(granularities_plain or ())] or ["segment"]
    options = TranscriptionOptions(
        task="transcribe",
        language=check_language(language, spec),
        prompt=prompt,
        temperature=temperature,
        word_timestamps="word" in words or bool(include and "logprobs" in include),
        vad_filter=_vad(vad_filter, chunking_strategy),
        hotwords=hotwords or (" ".join(keywords) if keywords else None),
        beam_size=beam_size,
    )
    job = SpeechJob(
        spec,
        options,
        _response_format(response_format),
        _granularities(words),
        with_logprobs=bool(include and "logprobs" in include),
    )
    return await _respond(services, job, file, stream, (sample_rate, channels))


@router.post("/v1/audio/translations")
async def create_translation(
    services: ServicesDep,
    file: Annotated[UploadFile, File()],
    model: Text = None,
    prompt: Text = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float | None, Form(ge=0, le=1)] = None,
    vad_filter: Annotated[bool | None, Form()] = None,
    beam_size: Annotated[int | None, Form(ge=1, le=10)] = None,
    sample_rate: Annotated[int | None, Form(ge=1000, le=384_000)] = None,
    channels: Annotated[int, Form(ge=1, le=8)] = 1,
) -> Response:
    spec = services.stt.resolve(model)
    if spec.languages == ("en",):
        raise InvalidRequest(
            f"The model '{spec.id}' is English-only and cannot translate; use a multilingual "
            "model such as whisper-base.",
            param="model",
        )
    options = TranscriptionOptions(
        task="translate",
        prompt=prompt,
        temperature=temperature,
        vad_filter=bool(vad_filter),
        beam_size=beam_size,
    )
    job = SpeechJob(spec, options, _response_format(response_format), frozenset({"segment"}))
    return await _respond(services, job, file, False, (sample_rate, channels))


def _response_format(value: str) -> str:
    if value not in formats.RESPONSE_FORMATS:
        raise InvalidRequest(
            f"Unsupported response_format '{value}': use one of "
            f"{', '.join(formats.RESPONSE_FORMATS)}.",
            param="response_format",
        )
    return value


def _granularities(values: list[str]) -> frozenset[str]:
    unknown = set(values) - GRANULARITIES
    if unknown:
        raise InvalidRequest(
            f"Unsupported timestamp_granularities {sorted(unknown)}: use 'word' and/or 'segment'.",
            param="timestamp_granularities",
        )
    return frozenset(values)


def _vad(vad_filter: bool | None, chunking_strategy: str | None) -> bool:
    """`vad_filter` wins; OpenAI's `chunking_strategy` ("auto" or server_vad) turns VAD on."""
    if vad_filter is not None:
        return vad_filter
    if not chunking_strategy:
        return False
    if chunking_strategy == "auto":
        return True
    try:
        strategy = json.loads(chunking_strategy)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            "chunking_strategy must be 'auto' or a JSON object with type 'server_vad'.",
            param="chunking_strategy",
        ) from exc
    return isinstance(strategy, dict) and strategy.get("type") == "server_vad"


async def _respond(
    services: Services,
    job: SpeechJob,
    file: UploadFile,
    stream: bool,
    pcm: tuple[int | None, int],
) -> Response:
    limit = services.settings.max_upload_bytes
    if file.size is not None and file.size > limit:
        raise PayloadTooLarge(
            f"The file is larger than this server's limit of {limit / 1024 / 1024:g} MB "
            "(setting VOCALIS_MAX_UPLOAD_MB)."
        )
    started = time.perf_counter()
    audio = await services.jobs.run(_decode, file, pcm, services.settings.max_audio_seconds)
    if stream:
        events = services.jobs.stream(_stream_events(services, job, audio, started))
        return StreamingResponse(events, media_type="text/event-stream")
    info, segments = await services.jobs.run(_transcribe, services, job, audio)
    _log(job, info, started)
    return _render(job, info, segments)


def _decode(file: UploadFile, pcm: tuple[int | None, int], max_seconds: float) -> Samples:
    rate, channels = pcm
    if rate is not None:
        return decode_pcm(file.file.read(), rate=rate, channels=channels, max_seconds=max_seconds)
    return decode(file.file, max_seconds=max_seconds)


def _transcribe(
    services: Services, job: SpeechJob, audio: Samples
) -> tuple[TranscriptionInfo, list[Segment]]:
    with services.stt.borrow(job.spec) as transcriber:
        result = transcriber.transcribe(audio, job.options)
        return result.info, list(result.segments)


def _render(job: SpeechJob, info: TranscriptionInfo, segments: list[Segment]) -> Response:
    fmt = job.response_format
    body = formats.render(
        fmt,
        info,
        segments,
        task=job.options.task,
        granularities=job.granularities,
        with_logprobs=job.with_logprobs,
    )
    if isinstance(body, dict):
        return JSONResponse(body)
    return Response(body, media_type=formats.MEDIA_TYPES[fmt])


def _stream_events(
    services: Services, job: SpeechJob, audio: Samples, started: float
) -> Iterator[bytes]:
    """Server-Sent Events: one `transcript.text.delta` per segment, then `transcript.text.done`."""
    try:
        yield from _events(services, job, audio, started)
    except VocalisError as exc:  # the status line is gone already: report in the stream
        yield _sse(exc.envelope())


def _events(services: Services, job: SpeechJob, audio: Samples, started: float) -> Iterator[bytes]:
    with services.stt.borrow(job.spec) as transcriber:
        result = transcriber.transcribe(audio, job.options)
        segments: list[Segment] = []
        for segment in result.segments:
            delta = segment.text if segments else segment.text.lstrip()
            segments.append(segment)
            event: dict[str, Any] = {"type": "transcript.text.delta", "delta": delta}
            if job.with_logprobs:
                event["logprobs"] = formats.logprobs([segment])
            yield _sse(event)
    done: dict[str, Any] = {
        "type": "transcript.text.done",
        "text": formats.full_text(segments),
        "usage": _token_usage(result.info, segments),
    }
    if job.with_logprobs:
        done["logprobs"] = formats.logprobs(segments)
    _log(job, result.info, started)
    yield _sse(done)


def _token_usage(info: TranscriptionInfo, segments: list[Segment]) -> dict[str, Any]:
    audio_tokens = math.ceil(info.duration * AUDIO_TOKENS_PER_SECOND)
    output_tokens = sum(len(s.tokens) for s in segments)
    return {
        "type": "tokens",
        "input_tokens": audio_tokens,
        "input_token_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
        "output_tokens": output_tokens,
        "total_tokens": audio_tokens + output_tokens,
    }


def _sse(event: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


def _log(job: SpeechJob, info: TranscriptionInfo, started: float) -> None:
    elapsed = time.perf_counter() - started
    access_log.info(
        json.dumps(
            {
                "event": job.options.task,
                "model": job.spec.id,
                "audio_seconds": round(info.duration, 3),
                "processing_seconds": round(elapsed, 3),
                "real_time_factor": round(elapsed / info.duration, 4) if info.duration else None,
                "language": info.language,
                "format": job.response_format,
            }
        )
    )
