"""POST /v1/audio/chat: text or speech in, an LLM's reply spoken back as it streams.

JSON `{"input", "messages", "voice", "model", "response_format", "speed", "stream_format",
"language", "transcription_model"}`, or the same as multipart form fields with an audio
`file` instead of `input` (then `messages` is a JSON string); the audio is transcribed first.
The reply is spoken sentence by sentence while the LLM is still writing it, in any format of
/v1/audio/speech (pcm: 24 kHz s16le). The audio response carries the transcript in
`X-Transcript` (percent-encoded UTF-8); `stream_format: "sse"` gives every piece as events:
`chat.transcript` {text} (audio in only), `chat.text.delta` {delta}, `chat.audio.delta`
{audio: base64}, `chat.text.done` {text}, then `chat.audio.done`; `error` {error} if the LLM
fails mid-reply.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any, Literal
from urllib.parse import quote

import anyio
import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import FormData, UploadFile

from vocalis.audio.encode import MEDIA_TYPES, StreamEncoder, resample
from vocalis.chat import (
    Audio,
    ChatClient,
    Conversation,
    SpokenReply,
    TextDelta,
    TextDone,
)
from vocalis.errors import InvalidRequest, PayloadTooLarge, VocalisError
from vocalis.server.deps import Services, ServicesDep
from vocalis.server.routes.speech import PCM_RATE, VoiceId
from vocalis.server.routes.transcriptions import CLIENT_CLOSED, SpeechJob, run_transcription
from vocalis.server.streams import StoppingResponse
from vocalis.stt import formats
from vocalis.stt.base import TranscriptionOptions
from vocalis.stt.languages import check_language
from vocalis.tts.service import SpeechRequest
from vocalis.tts.voices import kokoro_voice

router = APIRouter(tags=["voice-loop"])
log = logging.getLogger(__name__)
access_log = logging.getLogger("vocalis.access")


class ChatMessage(BaseModel):
    """An earlier turn, as in chat-completions."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict[str, Any]]


class ChatBody(BaseModel):
    input: str | None = Field(None, max_length=16_384)
    messages: list[ChatMessage] = Field(default_factory=list, max_length=500)
    voice: str | VoiceId = "alloy"
    model: str | None = None  # the speech model, as in /v1/audio/speech
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    stream_format: Literal["audio", "sse"] = "audio"
    language: str | None = None
    transcription_model: str | None = None  # for audio in; the server's default otherwise

    @property
    def voice_id(self) -> str:
        return self.voice.id if isinstance(self.voice, VoiceId) else self.voice


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its $defs put in place, for an OpenAPI request body."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items()}
        return [resolve(item) for item in node] if isinstance(node, list) else node

    return dict(resolve(schema))


def _openapi() -> dict[str, Any]:
    body = _inlined(ChatBody.model_json_schema())
    form = {**body, "properties": {**body["properties"]}}
    form["properties"]["file"] = {"type": "string", "format": "binary"}
    form["properties"]["messages"] = {"type": "string", "description": "a JSON array"}
    audio = {
        media: {"schema": {"type": "string", "format": "binary"}} for media in MEDIA_TYPES.values()
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": body},
                "multipart/form-data": {"schema": form},
            },
        },
        "responses": {
            "200": {
                "description": "The reply as audio, or as Server-Sent Events (stream_format sse).",
                "content": {**audio, "text/event-stream": {"schema": {"type": "string"}}},
            }
        },
    }


@router.post("/v1/audio/chat", response_model=None, openapi_extra=_openapi())
async def create_chat(request: Request, services: ServicesDep) -> StreamingResponse:
    client = ChatClient.from_settings(services.settings)  # 503 at once when no LLM is set
    try:
        return await _answer(request, services, client)
    except BaseException:
        await client.aclose()
        raise


async def _answer(request: Request, services: Services, client: ChatClient) -> StreamingResponse:
    body, transcript = await _read_input(request, services)
    speech = services.tts.request(body.model, body.voice_id, "", body.speed, body.language)
    engine = await services.jobs.run(services.tts.pool.load, speech.engine)
    history = [m.model_dump() for m in body.messages]
    conversation = Conversation(services.settings.llm_system_prompt, history)
    user_text = transcript if transcript is not None else (body.input or "")
    completion = await client.start(conversation.ask(user_text))
    language = body.language or _voice_language(speech)
    reply = SpokenReply(completion, services.tts, speech, services.jobs.stream, language)
    encoder = FrameEncoder(body.response_format, engine.sample_rate)
    started = time.perf_counter()
    if body.stream_format == "sse":
        events = _sse(client, reply, encoder, transcript, started)
        return StoppingResponse(events, reply.stop, media_type="text/event-stream")
    headers = {"X-Transcript": quote(transcript)} if transcript is not None else None
    audio = _audio(client, reply, encoder, started)
    media_type = MEDIA_TYPES[body.response_format]
    return StoppingResponse(audio, reply.stop, media_type=media_type, headers=headers)


# -- input --------------------------------------------------------------------------------


async def _read_input(request: Request, services: Services) -> tuple[ChatBody, str | None]:
    """The body, and the transcript when the input is speech."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        async with request.form() as form:
            body, file = _form_body(form)
            if file is None:
                _check_text(body)
                return body, None
            return body, await _transcribe(request, services, body, file)
    body = _validated(await _json(request))
    _check_text(body)
    return body, None


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise InvalidRequest(
            f"The body is not valid JSON: {exc}. Send JSON, or multipart with an audio file.",
            code="invalid_json",
        ) from None


def _form_body(form: FormData) -> tuple[ChatBody, UploadFile | None]:
    fields: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    if "messages" in fields:
        try:
            fields["messages"] = json.loads(fields["messages"])
        except ValueError:
            raise InvalidRequest(
                "The 'messages' field must be a JSON array of {role, content}.", param="messages"
            ) from None
    file = form.get("file")
    if file is not None and not isinstance(file, UploadFile):
        raise InvalidRequest("'file' must be an audio file upload.", param="file")
    body = _validated(fields)
    if file is not None and body.input is not None:
        raise InvalidRequest("Send either 'input' or an audio 'file', not both.", param="input")
    return body, file


def _validated(data: Any) -> ChatBody:
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object.", code="invalid_json")
    try:
        return ChatBody.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = str(first["loc"][0]) if first["loc"] else None
        raise InvalidRequest(f"Invalid value for '{param}': {first['msg']}.", param=param) from None


def _check_text(body: ChatBody) -> None:
    if body.input is None:
        raise InvalidRequest(
            "Missing required parameter: 'input' (or an audio 'file' in a multipart body).",
            param="input",
        )
    if not body.input.strip():
        raise InvalidRequest("The input text is empty.", param="input")


async def _transcribe(
    request: Request, services: Services, body: ChatBody, file: UploadFile
) -> str:
    limit = services.settings.max_upload_bytes
    if file.size is not None and file.size > limit:
        raise PayloadTooLarge(
            f"The file is larger than this server's limit of {limit / 1024 / 1024:g} MB "
            "(setting VOCALIS_MAX_UPLOAD_MB)."
        )
    spec = services.stt.resolve(body.transcription_model)
    options = TranscriptionOptions(task="transcribe", language=check_language(body.language, spec))
    job = SpeechJob(spec, options, "json", frozenset({"segment"}))
    result = await run_transcription(services, request, job, file.file, None)
    if result is None:
        raise ClientGone("The client closed the request.")
    text = formats.full_text(result[1]).strip()
    if not text:
        raise InvalidRequest(
            "No speech was heard in the audio file.", param="file", code="no_speech"
        )
    return text


class ClientGone(VocalisError):
    status_code = CLIENT_CLOSED


def _voice_language(speech: SpeechRequest) -> str:
    if speech.options.language:
        return speech.options.language
    return kokoro_voice(speech.options.voice).language if speech.engine == "kokoro" else "en"


# -- output -------------------------------------------------------------------------------


class FrameEncoder:
    """The reply's PCM frames in the response format; pcm is resampled to OpenAI's 24 kHz.
    Blocks: call it in a worker thread."""

    def __init__(self, fmt: str, engine_rate: int) -> None:
        self.format = fmt
        self.engine_rate = engine_rate
        self.rate = PCM_RATE if fmt == "pcm" else engine_rate
        self._encoder = StreamEncoder(fmt, self.rate)

    def write(self, pcm: bytes) -> bytes:
        samples = np.frombuffer(pcm, dtype="<i2")
        if self.rate != self.engine_rate:
            return self._encoder.write(resample(samples, self.engine_rate, self.rate))
        return self._encoder.write(samples)

    def close(self) -> bytes:
        return self._encoder.close()


async def _audio(
    client: ChatClient, reply: SpokenReply, encoder: FrameEncoder, started: float
) -> AsyncIterator[bytes]:
    """The encoded audio. An LLM failing mid-reply only ends it early (the status is sent)."""
    try:
        async with aclosing(reply.events()) as events:
            async for event in events:
                if isinstance(event, Audio) and (data := await _encode(encoder, event.pcm)):
                    yield data
        if tail := await anyio.to_thread.run_sync(encoder.close):
            yield tail
    except VocalisError as exc:
        log.warning("the voice loop's reply ended early: %s", exc.message)
    finally:
        await client.aclose()
        _log(reply, started)


async def _sse(
    client: ChatClient,
    reply: SpokenReply,
    encoder: FrameEncoder,
    transcript: str | None,
    started: float,
) -> AsyncIterator[bytes]:
    try:
        if transcript is not None:
            yield _event({"type": "chat.transcript", "text": transcript})
        async with aclosing(reply.events()) as events:
            async for event in events:
                if frame := await _sse_event(encoder, event):
                    yield frame
        if tail := await anyio.to_thread.run_sync(encoder.close):
            yield _audio_event(tail)
        yield _event({"type": "chat.audio.done"})
    except VocalisError as exc:  # the status line is gone already: report in the stream
        yield _event({"type": "error", **exc.envelope()})
    finally:
        await client.aclose()
        _log(reply, started)


async def _sse_event(encoder: FrameEncoder, event: object) -> bytes | None:
    if isinstance(event, TextDelta):
        return _event({"type": "chat.text.delta", "delta": event.text})
    if isinstance(event, TextDone):
        return _event({"type": "chat.text.done", "text": event.text})
    if isinstance(event, Audio) and (data := await _encode(encoder, event.pcm)):
        return _audio_event(data)
    return None


async def _encode(encoder: FrameEncoder, pcm: bytes) -> bytes:
    return await anyio.to_thread.run_sync(encoder.write, pcm)


def _audio_event(data: bytes) -> bytes:
    return _event({"type": "chat.audio.delta", "audio": base64.b64encode(data).decode()})


def _event(event: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode()


def _log(reply: SpokenReply, started: float) -> None:
    access_log.info(
        json.dumps(
            {
                "event": "chat",
                "reply_characters": len(reply.text),
                "spoken_characters": len(reply.spoken),
                "processing_seconds": round(time.perf_counter() - started, 3),
            }
        )
    )
