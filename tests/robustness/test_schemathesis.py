"""Schemathesis over OpenAI's own OpenAPI spec: the audio operations and the model list.

Every generated request goes to a real server process with the real models. Whatever the
request, the answer is never a 5xx; a 4xx is OpenAI's error envelope; a 2xx is valid
against the spec's response schema (and, for audio, decodes). Generation is derandomized,
so every run sends the same requests.

A third of the cases are sent as schemathesis made them (mostly strings no server hosts);
the others swap in what a real client sends, so the 2xx paths are exercised too: a real
clip or random bytes for `file`, a model and voice this server serves, short text.

Where the spec allows what Vocalis deliberately refuses, the refusal is a 4xx in the
envelope like any other, and EXEMPTIONS says why:
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

import av
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.conftest import EVAL_DIR, LiveServer
from tests.robustness import openai_spec

EXEMPTIONS = {
    "model": "any string is allowed by the spec; a model this server does not host is a 404 "
    "model_not_found (OpenAI answers the same), OpenAI's names map to local models",
    "diarized_json": "Vocalis has no speaker diarization: response_format diarized_json is a 400, "
    "and known_speaker_names/known_speaker_references are ignored",
    "temperature": "the spec gives no bounds, its description says 0 to 1: Vocalis refuses others",
    "language": "any string in the spec; Vocalis takes the ISO-639-1 codes Whisper knows",
    "stream": "the spec allows null, which multipart can only send as the text 'null': a 400",
    "input": "an input of only whitespace has nothing to say: a 400 (OpenAI refuses it too)",
    "voice": "a voice this server lacks (OpenAI's custom voice ids included) is a 400",
    "content-type": "speech is answered as audio/mpeg, audio/wav, ... (as OpenAI does) where "
    "the spec says application/octet-stream; text, srt and vtt transcripts as text/plain or "
    "text/vtt, which the spec does not list",
    "oneOf": "a verbose_json transcript also matches the plain json variant, so the spec's "
    "oneOf can never hold: each 2xx is validated against the variant its response_format names",
    "security": "the server runs without API keys here; keys are tested on their own",
}

# Examples per operation: bounded so the module runs in about a minute on two cores.
EXAMPLES = {
    "createTranscription": 40,
    "createTranslation": 20,
    "createSpeech": 40,
    "listModels": 2,
    "retrieveModel": 20,
}
CLIPS = {
    name: (EVAL_DIR / name).read_bytes()
    for name in ("living_room_light_en.wav", "speaches_audio.wav", "whats_your_name_french.wav")
}
ERROR_TYPES = {"invalid_request_error", "rate_limit_error"}  # 429 queue_full, if ever
AUDIO_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}


@pytest.fixture(scope="module")
def spec(server: LiveServer) -> dict[str, Any]:
    return openai_spec.cut(openai_spec.load(), f"{server.url}/v1")


@pytest.fixture(scope="module")
def schema(spec: dict[str, Any]) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(spec)


@pytest.fixture(scope="module")
def validators(spec: dict[str, Any]) -> Callable[[str], Draft202012Validator]:
    """A JSON Schema validator for each named component, resolving the spec's $refs."""
    registry = Registry().with_resource("spec", DRAFT202012.create_resource(spec))

    def validator(name: str) -> Draft202012Validator:
        return Draft202012Validator({"$ref": f"spec#/components/schemas/{name}"}, registry=registry)

    return validator


@pytest.mark.parametrize("operation_id", list(EXAMPLES))
def test_operation_against_openai_spec(
    schema: schemathesis.BaseSchema,
    validators: Callable[[str], Draft202012Validator],
    server: LiveServer,
    operation_id: str,
) -> None:
    operation = schema.find_operation_by_id(operation_id)
    cases = st.one_of(
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )
    statuses: Counter[int] = Counter()
    session = requests.Session()

    @given(data=st.data())
    @settings(
        max_examples=EXAMPLES[operation_id],
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],  # no shrinking: each step is a real request
        suppress_health_check=list(HealthCheck),
    )
    def one_request(data: st.DataObject) -> None:
        case = data.draw(cases)
        if data.draw(st.integers(0, 2), label="as a real client would (1, 2)") > 0:
            REALISTIC[operation_id](case, data)
        response = send(session, case, f"{server.url}/v1")
        statuses[response.status_code] += 1
        try:
            check(operation_id, case, response, validators)
        except AssertionError as exc:
            exc.add_note(f"Reproduce with: {case.as_curl_command()}")
            raise

    started = time.monotonic()
    with session:
        one_request()
    took = time.monotonic() - started
    print(f"{operation_id}: {dict(sorted(statuses.items()))} in {took:.1f} s")
    assert sum(n for status, n in statuses.items() if status < 300) >= 1, statuses
    assert server.process.poll() is None
    assert requests.get(f"{server.url}/health", timeout=10).json()["status"] == "ok"


def send(session: requests.Session, case: schemathesis.Case, base_url: str) -> requests.Response:
    """The case as schemathesis serializes it, read to the end (event streams included)."""
    request = case.as_transport_kwargs(base_url=base_url)
    fields = ("method", "url", "headers", "params", "cookies", "files", "data", "json")
    return session.request(**{k: request[k] for k in fields if k in request}, timeout=120)


# -- checks ---------------------------------------------------------------------------------


def check(
    operation_id: str,
    case: schemathesis.Case,
    response: requests.Response,
    validators: Callable[[str], Draft202012Validator],
) -> None:
    status = response.status_code
    assert status < 500, f"{status}: {response.text[:500]}"
    if status >= 400:
        check_envelope(response, validators)
        return
    assert status == 200, status
    RESPONSES[operation_id](case, response, validators)


def check_envelope(
    response: requests.Response, validators: Callable[[str], Draft202012Validator]
) -> None:
    assert response.headers["content-type"] == "application/json", response.headers
    body = response.json()
    validators("ErrorResponse").validate(body)
    error = body["error"]
    assert set(body) == {"error"} and set(error) == {"message", "type", "param", "code"}, body
    assert error["type"] in ERROR_TYPES, error
    assert isinstance(error["message"], str) and len(error["message"]) > 10, error
    if response.status_code == 429:
        assert int(response.headers["retry-after"]) >= 1


def check_transcription(
    case: schemathesis.Case,
    response: requests.Response,
    validators: Callable[[str], Draft202012Validator],
    variants: dict[str, str],
) -> None:
    body = case.body if isinstance(case.body, dict) else {}
    fmt = body.get("response_format", "json")
    content_type = response.headers["content-type"]
    if content_type.startswith("text/event-stream"):
        events = sse_events(response.text)
        for event in events:
            validators("CreateTranscriptionResponseStreamEvent").validate(event)
        assert [e["type"] for e in events][-1] == "transcript.text.done", events
        return
    if fmt in variants:
        assert content_type == "application/json", content_type
        validators(variants[fmt]).validate(response.json())
        return
    # text, srt, vtt: not in the spec's 200 content; plain UTF-8 text all the same.
    assert content_type.split(";")[0] in ("text/plain", "text/vtt"), content_type
    text = response.content.decode("utf-8")
    if fmt == "vtt":
        assert text.startswith("WEBVTT"), text


def check_speech(
    case: schemathesis.Case,
    response: requests.Response,
    validators: Callable[[str], Draft202012Validator],
) -> None:
    body = case.body
    assert isinstance(body, dict)
    fmt = body.get("response_format", "mp3")
    if body.get("stream_format") == "sse":
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response.text)
        for event in events:
            validators("CreateSpeechResponseStreamEvent").validate(event)
        assert [e["type"] for e in events][-1] == "speech.audio.done", events
        audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    else:
        assert response.headers["content-type"] == AUDIO_TYPES[fmt], response.headers
        audio = response.content
    check_audio(audio, fmt)


def check_audio(data: bytes, fmt: str) -> None:
    """Some audio that decodes: the encoders of every format round-trip through PyAV."""
    assert data, "no audio"
    if fmt == "pcm":
        assert len(data) % 2 == 0
        return
    with av.open(io.BytesIO(data)) as container:
        samples = sum(frame.samples for frame in container.decode(audio=0))
    assert samples > 0, fmt


def sse_events(text: str) -> list[dict[str, Any]]:
    events = [
        json.loads(line.removeprefix("data: "))
        for line in text.splitlines()
        if line.startswith("data: ")
    ]
    assert events, text[:500]
    return events


def check_model_list(
    _: schemathesis.Case,
    response: requests.Response,
    validators: Callable[[str], Draft202012Validator],
) -> None:
    body = response.json()
    validators("ListModelsResponse").validate(body)
    assert {"whisper-base", "whisper-1"} & {m["id"] for m in body["data"]}


def check_model(
    case: schemathesis.Case,
    response: requests.Response,
    validators: Callable[[str], Draft202012Validator],
) -> None:
    body = response.json()
    validators("Model").validate(body)
    assert body["id"] == unquote(case.path_parameters["model"])


RESPONSES: dict[str, Callable[..., None]] = {
    "createTranscription": lambda case, response, validators: check_transcription(
        case,
        response,
        validators,
        {
            "json": "CreateTranscriptionResponseJson",
            "verbose_json": "CreateTranscriptionResponseVerboseJson",
        },
    ),
    "createTranslation": lambda case, response, validators: check_transcription(
        case,
        response,
        validators,
        {
            "json": "CreateTranslationResponseJson",
            "verbose_json": "CreateTranslationResponseVerboseJson",
        },
    ),
    "createSpeech": check_speech,
    "listModels": check_model_list,
    "retrieveModel": check_model,
}


# -- what a real client sends ---------------------------------------------------------------


def real_upload(case: schemathesis.Case, data: st.DataObject, models: list[str]) -> None:
    """A real clip (or random bytes, which must be a 4xx), a served model, sane options."""
    body = form(case)
    body["file"] = data.draw(
        st.one_of(
            st.sampled_from(list(CLIPS.values())),
            st.sampled_from(list(CLIPS.values())),
            st.binary(min_size=1, max_size=4096),
        ),
        label="file",
    )
    body["model"] = data.draw(st.sampled_from(models), label="model")
    for name, strategy in (
        ("language", st.sampled_from(["en", "fr"])),
        ("temperature", st.floats(0, 1)),
    ):
        if name in body:
            body[name] = data.draw(strategy, label=name)
    if body.get("stream") is None:
        body.pop("stream", None)
    body.pop("chunking_strategy", None)


def real_speech(case: schemathesis.Case, data: st.DataObject) -> None:
    """A served model and voice, and text short enough to synthesize in a moment."""
    body = case.body if isinstance(case.body, dict) else {}
    case.body = body
    body["model"] = data.draw(st.sampled_from(["tts-1", "tts-1-hd", "gpt-4o-mini-tts", "piper"]))
    body["voice"] = data.draw(st.sampled_from(["alloy", "echo", "nova", "en_US-joe-medium"]))
    text = body.get("input")
    body["input"] = (text if isinstance(text, str) else "")[:40] + " Hello there."


def real_model(case: schemathesis.Case, data: st.DataObject) -> None:
    names = ["whisper-base", "whisper-1", "whisper-tiny.en", "kokoro", "tts-1", "../x", "a/b"]
    # Encoded as a client library does: the server sees the name, not a shorter path.
    name = data.draw(st.sampled_from(names), label="model")
    case.path_parameters = {"model": quote(name, safe="")}


def form(case: schemathesis.Case) -> dict[str, Any]:
    if not isinstance(case.body, dict):
        case.body = {}
    return case.body  # type: ignore[return-value]


def nothing(case: schemathesis.Case, data: st.DataObject) -> None:
    del case, data


TRANSCRIBE_MODELS = ["whisper-1", "gpt-4o-mini-transcribe", "whisper-base", "whisper-tiny.en"]
REALISTIC: dict[str, Callable[[schemathesis.Case, st.DataObject], None]] = {
    "createTranscription": lambda case, data: real_upload(case, data, TRANSCRIBE_MODELS),
    "createTranslation": lambda case, data: real_upload(case, data, ["whisper-1", "whisper-base"]),
    "createSpeech": real_speech,
    "listModels": nothing,
    "retrieveModel": real_model,
}
