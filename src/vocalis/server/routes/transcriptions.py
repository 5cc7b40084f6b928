"""POST /v1/audio/transcriptions and /v1/audio/translations, as OpenAI defines them."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from vocalis.audio import decode
from vocalis.audio.decode import RawPcm, Samples
from vocalis.errors import InvalidRequest, PayloadTooLarge, VocalisError
from vocalis.models.catalog import ModelSpec
from vocalis.ops.metrics import record_audio
from vocalis.server.deps import Services, ServicesDep
from vocalis.server.jobs import JobCancelled, Pace, cancel_on_disconnect
from vocalis.server.streams import StoppingResponse
from vocalis.stt import formats, stopping
from vocalis.stt.base import Segment, TranscriptionInfo, TranscriptionOptions
from vocalis.stt.languages import check_language
from vocalis.stt.windowed import Checkpoint, Progress, Resume

router = APIRouter(tags=["speech-to-text"])
access_log = logging.getLogger("vocalis.access")
progress_log = logging.getLogger("vocalis.progress")
# What a client that has gone gets, for the log: nginx's "client closed request".
CLIENT_CLOSED = 499

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
    # srt and vtt laid out as readable subtitles from the words (`stt/subtitles.py`).
    subtitle_layout: bool = False


Text = Annotated[str | None, Form()]
Layout = Annotated[
    bool,
    Form(description="srt and vtt as readable subtitles laid out from word timestamps."),
]
SUBTITLE_FORMATS = frozenset({"srt", "vtt"})


@dataclass(frozen=True)
class TranscriptionForm:
    """The form fields of a transcription, besides the file, the format and `stream`: one
    list for /v1/audio/transcriptions, its verbose variant and durable jobs."""

    model: str | None
    language: str | None
    prompt: str | None
    temperature: float | None
    words: list[str]
    include: list[str] | None
    chunking_strategy: str | None
    keywords: list[str] | None
    vad_filter: bool | None
    hotwords: str | None
    beam_size: int | None
    raw: RawPcm | None
    subtitle_layout: bool


def transcription_form(
    model: Text = None,
    language: Text = None,
    prompt: Text = None,
    temperature: Annotated[float | None, Form(ge=0, le=1)] = None,
    granularities: Annotated[list[str] | None, Form(alias="timestamp_granularities[]")] = None,
    granularities_plain: Annotated[list[str] | None, Form(alias="timestamp_granularities")] = None,
    include: Annotated[list[str] | None, Form(alias="include[]")] = None,
    chunking_strategy: Text = None,
    keywords: Annotated[list[str] | None, Form(alias="keywords[]")] = None,
    vad_filter: Annotated[bool | None, Form()] = None,
    hotwords: Text = None,
    beam_size: Annotated[int | None, Form(ge=1, le=10)] = None,
    sample_rate: Annotated[int | None, Form(ge=1000, le=384_000)] = None,
    channels: Annotated[int, Form(ge=1, le=8)] = 1,
    subtitle_layout: Layout = False,
) -> TranscriptionForm:
    return TranscriptionForm(
        model=model,
        language=language,
        prompt=prompt,
        temperature=temperature,
        words=[*(granularities or ()), *(granularities_plain or ())] or ["segment"],
        include=include,
        chunking_strategy=chunking_strategy,
        keywords=keywords,
        vad_filter=vad_filter,
        hotwords=hotwords,
        beam_size=beam_size,
        raw=_raw(sample_rate, channels),
        subtitle_layout=subtitle_layout,
    )


FormDep = Annotated[TranscriptionForm, Depends(transcription_form)]


def _transcriptions(default_format: str) -> Callable[..., Awaitable[Response]]:
    """The transcription endpoint, answering `default_format` when the request names none."""

    async def create_transcription(
        services: ServicesDep,
        request: Request,
        file: Annotated[UploadFile, File()],
        form: FormDep,
        response_format: Annotated[str, Form()] = default_format,
        stream: Annotated[bool, Form()] = False,
    ) -> Response:
        job = transcription_job(services, form, response_format)
        return await _respond(services, request, job, file, stream, form.raw)

    return create_transcription


def transcription_job(
    services: Services, form: TranscriptionForm, response_format: str
) -> SpeechJob:
    """A transcription request's fields, validated: for this route and for durable jobs."""
    spec = services.stt.resolve(form.model)
    fmt = _response_format(response_format)
    laid_out = form.subtitle_layout and fmt in SUBTITLE_FORMATS
    include = form.include
    options = TranscriptionOptions(
        task="transcribe",
        language=check_language(form.language, spec),
        prompt=form.prompt,
        temperature=form.temperature,
        word_timestamps="word" in form.words or bool(include and "logprobs" in include) or laid_out,
        vad_filter=_vad(form.vad_filter, form.chunking_strategy),
        hotwords=form.hotwords or (" ".join(form.keywords) if form.keywords else None),
        beam_size=form.beam_size,
    )
    return SpeechJob(
        spec,
        options,
        fmt,
        _granularities(form.words),
        with_logprobs=bool(include and "logprobs" in include),
        subtitle_layout=laid_out,
    )


router.post("/v1/audio/transcriptions")(_transcriptions("json"))
# The Voice Stack seed's variant: the same request, segments and timings by default.
router.post("/v1/audio/transcriptions/verbose")(_transcriptions("verbose_json"))


@router.post("/v1/audio/translations")
async def create_translation(
    services: ServicesDep,
    request: Request,
    file: Annotated[UploadFile, File()],
    model: Text = None,
    prompt: Text = None,
    response_format: Annotated[str, Form()] = "json",
    temperature: Annotated[float | None, Form(ge=0, le=1)] = None,
    vad_filter: Annotated[bool | None, Form()] = None,
    beam_size: Annotated[int | None, Form(ge=1, le=10)] = None,
    sample_rate: Annotated[int | None, Form(ge=1000, le=384_000)] = None,
    channels: Annotated[int, Form(ge=1, le=8)] = 1,
    subtitle_layout: Layout = False,
) -> Response:
    spec = services.stt.resolve(model)
    check_translatable(spec)
    fmt = _response_format(response_format)
    laid_out = subtitle_layout and fmt in SUBTITLE_FORMATS
    options = TranscriptionOptions(
        task="translate",
        prompt=prompt,
        temperature=temperature,
        vad_filter=bool(vad_filter),
        beam_size=beam_size,
        word_timestamps=laid_out,
    )
    job = SpeechJob(spec, options, fmt, frozenset({"segment"}), subtitle_layout=laid_out)
    return await _respond(services, request, job, file, False, _raw(sample_rate, channels))


def check_translatable(spec: ModelSpec) -> None:
    """Only a multilingual model translates (into English)."""
    if spec.languages == ("en",):
        raise InvalidRequest(
            f"The model '{spec.id}' is English-only and cannot translate; use a multilingual "
            "model such as whisper-base.",
            param="model",
        )


def _raw(sample_rate: int | None, channels: int) -> RawPcm | None:
    return RawPcm(sample_rate, channels) if sample_rate else None


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
    request: Request,
    job: SpeechJob,
    file: UploadFile,
    stream: bool,
    raw: RawPcm | None,
) -> Response:
    limit = services.settings.max_upload_bytes
    if file.size is not None and file.size > limit:
        raise PayloadTooLarge(
            f"The file is larger than this server's limit of {limit / 1024 / 1024:g} MB "
            "(setting VOCALIS_MAX_UPLOAD_MB)."
        )
    if stream:
        started = time.perf_counter()
        audio = await services.jobs.run(_open, services, file.file, raw)
        cancelled = threading.Event()  # set the moment the client goes
        steps = _stream_events(services, job, audio, started, cancelled)
        events = services.jobs.stream(steps, cancelled)
        return StoppingResponse(events, cancelled.set, media_type="text/event-stream")
    result = await run_transcription(services, request, job, file.file, raw)
    if result is None:
        return Response(status_code=CLIENT_CLOSED)
    info, segments = result
    # Laying out a film's subtitles takes seconds: not on the event loop.
    return await services.jobs.run_waiting(lambda: render_result(job, info, segments))


async def run_transcription(
    services: Services, request: Request, job: SpeechJob, file: BinaryIO, raw: RawPcm | None
) -> tuple[TranscriptionInfo, list[Segment]] | None:
    """Decode and transcribe `file` in one job, logged; None when the client went away."""
    started = time.perf_counter()
    async with cancel_on_disconnect(request) as cancelled:
        try:
            info, segments = await services.jobs.run(
                transcribe_upload, services, job, file, raw, cancelled, started
            )
        except JobCancelled:
            _log_progress("cancelled", job, started)
            return None
    log_done(job, info, started)
    return info, segments


def _open(services: Services, file: BinaryIO, raw: RawPcm | None) -> Iterator[Samples]:
    """The audio as decoded pieces; an upload stays spooled on disk and is read as it is used."""
    return decode.stream(file, max_seconds=services.settings.max_audio_seconds, raw=raw)


def transcribe_upload(
    services: Services,
    job: SpeechJob,
    file: BinaryIO,
    raw: RawPcm | None,
    cancelled: threading.Event,
    started: float,
    observe: Checkpoint | None = None,
    resume: Resume | None = None,
) -> tuple[TranscriptionInfo, list[Segment]]:
    """The whole transcription, in a worker thread; `observe` sees each step's progress;
    with `resume`, it goes on from where an earlier run on the same file stopped."""
    audio = _open(services, file, raw)
    with (
        stopping.stops_when(cancelled),  # engine calls stop too, not only segments
        services.jobs.pace(cancelled) as pace,
        services.stt.transcribe(
            job.spec, audio, job.options, _checkpoint(job, pace, started, observe), resume
        ) as result,
    ):
        segments = list(result.segments)
        return result.info, segments


def _checkpoint(
    job: SpeechJob, pace: Pace, started: float, observe: Checkpoint | None = None
) -> Checkpoint:
    """Between steps of a transcription: log each new window, then keep pace."""

    def checkpoint(progress: Progress) -> None:
        if progress.starting and progress.window:
            _log_progress("window", job, started, window=progress.window, at=progress.seconds)
        if observe:
            observe(progress)
        pace.step(progress.long)

    return checkpoint


def render_result(job: SpeechJob, info: TranscriptionInfo, segments: list[Segment]) -> Response:
    fmt = job.response_format
    body = formats.render(
        fmt,
        info,
        segments,
        task=job.options.task,
        granularities=job.granularities,
        with_logprobs=job.with_logprobs,
        subtitle_layout=job.subtitle_layout,
    )
    if isinstance(body, dict):
        return JSONResponse(body)
    return Response(body, media_type=formats.MEDIA_TYPES[fmt])


def _stream_events(
    services: Services,
    job: SpeechJob,
    audio: Iterator[Samples],
    started: float,
    cancelled: threading.Event,
) -> Iterator[bytes]:
    """Server-Sent Events: one `transcript.text.delta` per segment, then `transcript.text.done`;
    nothing more once `cancelled` is set."""
    try:
        yield from _events(services, job, audio, started, cancelled)
    except VocalisError as exc:  # the status line is gone already: report in the stream
        yield _sse(exc.envelope())
    except JobCancelled:
        _log_progress("cancelled", job, started)


def _events(
    services: Services,
    job: SpeechJob,
    audio: Iterator[Samples],
    started: float,
    cancelled: threading.Event,
) -> Iterator[bytes]:
    with (
        services.jobs.pace(cancelled) as pace,
        services.stt.transcribe(
            job.spec, audio, job.options, _checkpoint(job, pace, started)
        ) as result,
    ):
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
    log_done(job, result.info, started)
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


def log_done(job: SpeechJob, info: TranscriptionInfo, started: float) -> None:
    """The access line and metrics of a finished transcription, a request's or a job's."""
    elapsed = time.perf_counter() - started
    record_audio(job.options.task, job.spec.id, info.duration, elapsed)
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


def _log_progress(event: str, job: SpeechJob, started: float, **fields: float) -> None:
    """A long job's progress: each window it starts, or where it stopped for a lost client."""
    elapsed = time.perf_counter() - started
    line = {"event": event, "task": job.options.task, "model": job.spec.id}
    progress_log.info(
        json.dumps(
            line
            | {k: round(v, 1) for k, v in fields.items()}
            | {"processing_seconds": round(elapsed, 3)}
        )
    )
