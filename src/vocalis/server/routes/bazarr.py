"""The Voice Stack seed's Bazarr endpoints: whisper-asr-webservice's work with form fields.

`POST /bazarr/asr` takes the audio in the form field `file` with `language` and `output`
(json, srt, vtt, txt, tsv, jsonl; srt by default, laid out as readable subtitles),
`POST /bazarr/detect-language` answers `language_code` and `confidence` (and the names
whisper-asr-webservice gives), and `GET /bazarr/models` lists the speech-to-text models.
The work is `asr_webservice`'s: the same jobs, formats and errors.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from vocalis.server.deps import ServicesDep
from vocalis.server.routes.asr_webservice import (
    LanguageDetection,
    asr_job,
    asr_response,
    asr_transcription,
    check_output,
    detect_upload,
)
from vocalis.server.routes.transcriptions import CLIENT_CLOSED
from vocalis.stt import formats
from vocalis.stt.languages import LANGUAGES

router = APIRouter(prefix="/bazarr", tags=["bazarr"])

FormText = Annotated[str | None, Form()]
Upload = Annotated[UploadFile, File(description="The audio, in any supported format.")]


@router.post("/asr", response_class=Response)
async def bazarr_asr(
    services: ServicesDep,
    request: Request,
    file: Upload,
    language: FormText = None,
    output: Annotated[str, Form(description=", ".join(formats.ASR_OUTPUTS))] = "srt",
    task: Annotated[str, Form(description="transcribe or translate (to English).")] = (
        "transcribe"
    ),
    model: FormText = None,
    subtitle_layout: Annotated[bool, Form()] = True,
) -> Response:
    job = asr_job(
        services,
        model,
        task=task,
        language=language,
        output=check_output(output, formats.ASR_OUTPUTS),
        subtitle_layout=subtitle_layout,
    )
    result = await asr_transcription(services, request, job, file, None)
    if result is None:
        return Response(status_code=CLIENT_CLOSED)
    return await asr_response(services, job, *result, filename=file.filename)


@router.post("/detect-language")
async def bazarr_detect_language(
    services: ServicesDep, file: Upload, model: FormText = None
) -> LanguageDetection:
    return await detect_upload(services, services.stt.resolve(model), file, None)


@router.get("/models")
async def bazarr_models(services: ServicesDep) -> dict[str, Any]:
    """The speech-to-text models and the one used when a request names none."""
    specs = [spec for spec in services.store.catalog.specs if spec.kind == "stt"]
    return {
        "models": [
            {
                "id": spec.id,
                "description": spec.description,
                "multilingual": not spec.languages,
                "languages": list(spec.languages) or sorted(LANGUAGES),
            }
            for spec in specs
        ],
        "default": services.stt.default_model,
    }
