"""whisper-asr-webservice's API, as Bazarr's `whisperai` provider and its other clients call it.

`POST /asr` transcribes or translates the upload in `audio_file` and answers in `output`
(txt, vtt, srt, tsv, json); `POST /detect-language` names the language of its first 30 s.
With `encode=false` the upload is raw s16le mono 16 kHz, as Bazarr sends it after decoding
the film with its own ffmpeg. Bazarr stores whatever body comes back as the subtitle
without looking at the status, so every error here is a 4xx in the error envelope, never a
200; srt and vtt are laid out as readable subtitles unless `subtitle_layout=false`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from vocalis.audio import decode
from vocalis.audio.decode import SAMPLE_RATE, RawPcm
from vocalis.errors import InvalidRequest, PayloadTooLarge
from vocalis.models.catalog import ModelSpec
from vocalis.server.deps import Services, ServicesDep
from vocalis.server.routes.transcriptions import (
    CLIENT_CLOSED,
    SpeechJob,
    check_translatable,
    run_transcription,
)
from vocalis.stt import formats
from vocalis.stt.base import Segment, TranscriptionInfo, TranscriptionOptions
from vocalis.stt.languages import check_language

router = APIRouter(tags=["whisper-asr-webservice"])

OUTPUTS = ("txt", "vtt", "srt", "tsv", "json")
TASKS = ("transcribe", "translate")
# What whisper-asr-webservice names its engine; clients read it to know what they talk to.
ENGINE = "faster_whisper"
# Bazarr's raw PCM, the only raw form whisper-asr-webservice takes.
BAZARR_PCM = RawPcm(SAMPLE_RATE, 1)

# Whisper's names for its languages (whisper.tokenizer.LANGUAGES), which
# whisper-asr-webservice answers as `detected_language` and Bazarr maps back to a language.
LANGUAGE_NAMES = {
    "en": "english", "zh": "chinese", "de": "german", "es": "spanish", "ru": "russian",
    "ko": "korean", "fr": "french", "ja": "japanese", "pt": "portuguese", "tr": "turkish",
    "pl": "polish", "ca": "catalan", "nl": "dutch", "ar": "arabic", "sv": "swedish",
    "it": "italian", "id": "indonesian", "hi": "hindi", "fi": "finnish", "vi": "vietnamese",
    "he": "hebrew", "uk": "ukrainian", "el": "greek", "ms": "malay", "cs": "czech",
    "ro": "romanian", "da": "danish", "hu": "hungarian", "ta": "tamil", "no": "norwegian",
    "th": "thai", "ur": "urdu", "hr": "croatian", "bg": "bulgarian", "lt": "lithuanian",
    "la": "latin", "mi": "maori", "ml": "malayalam", "cy": "welsh", "sk": "slovak",
    "te": "telugu", "fa": "persian", "lv": "latvian", "bn": "bengali", "sr": "serbian",
    "az": "azerbaijani", "sl": "slovenian", "kn": "kannada", "et": "estonian",
    "mk": "macedonian", "br": "breton", "eu": "basque", "is": "icelandic", "hy": "armenian",
    "ne": "nepali", "mn": "mongolian", "bs": "bosnian", "kk": "kazakh", "sq": "albanian",
    "sw": "swahili", "gl": "galician", "mr": "marathi", "pa": "punjabi", "si": "sinhala",
    "km": "khmer", "sn": "shona", "yo": "yoruba", "so": "somali", "af": "afrikaans",
    "oc": "occitan", "ka": "georgian", "be": "belarusian", "tg": "tajik", "sd": "sindhi",
    "gu": "gujarati", "am": "amharic", "yi": "yiddish", "lo": "lao", "uz": "uzbek",
    "fo": "faroese", "ht": "haitian creole", "ps": "pashto", "tk": "turkmen",
    "nn": "nynorsk", "mt": "maltese", "sa": "sanskrit", "lb": "luxembourgish",
    "my": "myanmar", "bo": "tibetan", "tl": "tagalog", "mg": "malagasy", "as": "assamese",
    "tt": "tatar", "haw": "hawaiian", "ln": "lingala", "ha": "hausa", "ba": "bashkir",
    "jw": "javanese", "su": "sundanese", "yue": "cantonese",
}  # fmt: skip


class LanguageDetection(BaseModel):
    detected_language: str
    language_code: str
    confidence: float


Flag = Annotated[bool, Query()]
QueryText = Annotated[str | None, Query()]
AudioFile = Annotated[UploadFile, File(description="The audio (raw s16le with encode=false).")]


@router.post("/asr", response_class=Response)
async def asr(
    services: ServicesDep,
    request: Request,
    audio_file: AudioFile,
    encode: Annotated[bool, Query(description="false: raw s16le mono 16 kHz.")] = True,
    task: Annotated[str, Query(description="transcribe or translate (to English).")] = (
        "transcribe"
    ),
    language: QueryText = None,
    initial_prompt: QueryText = None,
    vad_filter: Flag = False,
    word_timestamps: Flag = False,
    output: Annotated[str, Query(description=", ".join(OUTPUTS))] = "txt",
    subtitle_layout: Annotated[
        bool, Query(description="srt and vtt as readable cues; false: one cue a segment.")
    ] = True,
) -> Response:
    job = asr_job(
        services,
        None,
        task=task,
        language=language,
        prompt=initial_prompt,
        vad_filter=vad_filter,
        word_timestamps=word_timestamps,
        output=check_output(output, OUTPUTS),
        subtitle_layout=subtitle_layout,
    )
    result = await asr_transcription(services, request, job, audio_file, _raw(encode))
    if result is None:
        return Response(status_code=CLIENT_CLOSED)
    return await asr_response(services, job, *result, filename=audio_file.filename)


@router.post("/detect-language")
async def detect_language(
    services: ServicesDep,
    audio_file: AudioFile,
    encode: Annotated[bool, Query(description="false: raw s16le mono 16 kHz.")] = True,
) -> LanguageDetection:
    spec = services.stt.resolve(None)
    return await detect_upload(services, spec, audio_file, _raw(encode))


def asr_job(
    services: Services,
    model: str | None,
    *,
    task: str,
    language: str | None,
    output: str,
    prompt: str | None = None,
    vad_filter: bool = False,
    word_timestamps: bool = False,
    subtitle_layout: bool = True,
) -> SpeechJob:
    """One validated request; subtitles laid out from the words need them decoded."""
    spec = services.stt.resolve(model)
    if task not in TASKS:
        raise InvalidRequest(
            f"Unsupported task '{task}': use transcribe or translate.", param="task"
        )
    if task == "translate":
        check_translatable(spec)
    laid_out = subtitle_layout and output in ("srt", "vtt")
    options = TranscriptionOptions(
        task="translate" if task == "translate" else "transcribe",
        language=check_language(language, spec),
        prompt=prompt or None,
        vad_filter=vad_filter,
        word_timestamps=word_timestamps or laid_out,
    )
    return SpeechJob(spec, options, output, frozenset({"segment"}), subtitle_layout=laid_out)


async def asr_transcription(
    services: Services, request: Request, job: SpeechJob, upload: UploadFile, raw: RawPcm | None
) -> tuple[TranscriptionInfo, list[Segment]] | None:
    """The upload through the one transcription path (windows, pacing, progress log)."""
    _check_size(services, upload)
    return await run_transcription(services, request, job, upload.file, raw)


async def detect_upload(
    services: Services, spec: ModelSpec, upload: UploadFile, raw: RawPcm | None
) -> LanguageDetection:
    """The language of the upload's first 30 s, as one short job: it waits for no long one."""
    _check_size(services, upload)
    code, probability = await services.jobs.run(_detect, services, spec, upload.file, raw)
    return LanguageDetection(
        detected_language=LANGUAGE_NAMES.get(code, code),
        language_code=code,
        confidence=round(probability, 4),
    )


async def asr_response(
    services: Services,
    job: SpeechJob,
    info: TranscriptionInfo,
    segments: Sequence[Segment],
    *,
    filename: str | None,
) -> Response:
    """The body in the job's output, with whisper-asr-webservice's headers."""
    output = job.response_format
    # As whisper-asr-webservice reports it: the language asked for, else the one detected.
    language = job.options.language or info.language
    # Laying out a film's subtitles takes seconds: not on the event loop.
    body = await services.jobs.run_waiting(
        lambda: formats.render_asr(output, language, segments, subtitle_layout=job.subtitle_layout)
    )
    headers = {
        "Asr-Engine": ENGINE,
        "Content-Disposition": f'attachment; filename="{quote(_base_name(filename))}.{output}"',
    }
    if isinstance(body, dict):
        return JSONResponse(body, headers=headers)
    return Response(body, media_type=formats.ASR_MEDIA_TYPES[output], headers=headers)


def _base_name(filename: str | None) -> str:
    """The upload's own name without any folders: a client may save the answer under it."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip(". ")
    return name or "audio"


def check_output(value: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise InvalidRequest(
            f"Unsupported output '{value}': use one of {', '.join(allowed)}.", param="output"
        )
    return value


def _raw(encode: bool) -> RawPcm | None:
    return None if encode else BAZARR_PCM


def _check_size(services: Services, upload: UploadFile) -> None:
    limit = services.settings.max_upload_bytes
    if upload.size is not None and upload.size > limit:
        raise PayloadTooLarge(
            f"The file is larger than this server's limit of {limit / 1024 / 1024:g} MB "
            "(setting VOCALIS_MAX_UPLOAD_MB)."
        )


def _detect(
    services: Services, spec: ModelSpec, file: BinaryIO, raw: RawPcm | None
) -> tuple[str, float]:
    audio = decode.stream(file, max_seconds=services.settings.max_audio_seconds, raw=raw)
    return services.stt.detect_language(spec, audio)
