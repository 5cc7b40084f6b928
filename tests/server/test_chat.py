"""POST /v1/audio/chat end to end: a real Vocalis server, a real local LLM server streaming
tokens with delays, real Piper and Whisper. The reply is heard before the LLM has finished,
says the reply's words and none of its markdown, and every failure is a proper error."""

from __future__ import annotations

import base64
import io
import itertools
import json
import time
import wave
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.chat.servers import LLM_TIMEOUT, RETRY_DELAY, SYSTEM_PROMPT, ChatServer
from tests.chat.servers import chat_server as chat_server  # the shared fixture
from tests.conftest import EVAL_DIR, references, wer
from vocalis.config import Settings
from vocalis.server.app import create_app

REPLY = (
    "## A plan\n"
    "The **quick** brown fox jumps over the lazy dog. "
    "Please turn on the [kitchen lights](https://example.com/lights?id=7) at seven tonight.\n"
    "- Walk along the river\n"
    "- Visit the *old* mill\n"
    "```python\nprint('hello world')\n```\n"
    "That is all."
)
SPOKEN = (
    "A plan. The quick brown fox jumps over the lazy dog. Please turn on the kitchen lights "
    "at seven tonight. Walk along the river. Visit the old mill. Code omitted. That is all."
)
MARKDOWN_WORDS = {"asterisk", "hash", "https", "example", "print", "python", "dash", "star"}


@pytest.fixture
def chat(chat_server: ChatServer) -> ChatServer:
    chat_server.llm.reset(REPLY, token_delay=0.05)
    return chat_server


@pytest.fixture
def http(chat_server: ChatServer) -> Any:
    with chat_server.server.client() as client:
        yield client


def heard(http: httpx.Client, wav: bytes) -> str:
    response = http.post("/v1/audio/transcriptions", files={"file": ("reply.wav", wav)})
    assert response.status_code == 200, response.text
    return str(response.json()["text"])


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnframes() / w.getframerate() if w.getnframes() < 2**31 else -1.0


def test_the_reply_is_spoken_while_the_llm_still_writes_it(
    chat: ChatServer, http: httpx.Client
) -> None:
    history = [
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello! How can I help?"},
    ]
    body = {
        "input": "Make a plan.",
        "messages": history,
        "model": "piper",
        "response_format": "wav",
    }
    chat.llm.pause = (-3, 2.5)  # it thinks before its last sentence (within the timeout)
    audio, first_audio = bytearray(), None
    with http.stream("POST", "/v1/audio/chat", json=body) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"] == "audio/wav"
        for data in response.iter_bytes():
            first_audio = first_audio or time.monotonic()
            audio += data
    last_token = chat.llm.token_times[-1]
    assert first_audio is not None
    assert first_audio < last_token - 1.0, "the first audio waited for the whole reply"

    sent = chat.llm.requests[-1]
    assert sent.body["model"] == "fake-model" and sent.body["stream"] is True
    assert sent.authorization == "Bearer secret-key"
    assert sent.body["messages"] == [
        {"role": "system", "content": SYSTEM_PROMPT},
        *history,
        {"role": "user", "content": "Make a plan."},
    ]
    text = heard(http, bytes(audio))
    assert wer(SPOKEN, text) <= 0.2, text
    assert not MARKDOWN_WORDS & set(text.lower().replace(".", " ").split()), text


def test_sse_streams_text_deltas_and_audio_in_order(chat: ChatServer, http: httpx.Client) -> None:
    body = {"input": "Plan?", "model": "piper", "response_format": "pcm", "stream_format": "sse"}
    with http.stream("POST", "/v1/audio/chat", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [
            json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")
        ]
    kinds = [event["type"] for event in events]
    assert "chat.transcript" not in kinds  # text in: nothing was transcribed
    assert kinds[-1] == "chat.audio.done"
    assert kinds.index("chat.text.delta") < kinds.index("chat.audio.delta")
    # Audio starts before the text is all there: sentence by sentence.
    assert kinds.index("chat.audio.delta") < kinds.index("chat.text.done")
    deltas = "".join(e["delta"] for e in events if e["type"] == "chat.text.delta")
    done = next(e for e in events if e["type"] == "chat.text.done")
    assert deltas == done["text"] == REPLY
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events if e["type"] == "chat.audio.delta")
    seconds = len(pcm) / 2 / 24_000  # 24-kHz s16le, as /v1/audio/speech's pcm
    assert 5 < seconds < 20, seconds


def test_audio_in_is_transcribed_and_the_llm_gets_the_transcript(
    chat: ChatServer, http: httpx.Client
) -> None:
    chat.llm.reset("Sure, the lamp is on now.", token_delay=0.02)
    name = "turn_on_the_living_room_lamp.wav"
    reference = references()[name][1]
    history = [
        {"role": "user", "content": "Are you there?"},
        {"role": "assistant", "content": "Yes."},
    ]
    response = http.post(
        "/v1/audio/chat",
        files={"file": (name, (EVAL_DIR / name).read_bytes(), "audio/wav")},
        data={"model": "piper", "response_format": "wav", "messages": json.dumps(history)},
    )
    assert response.status_code == 200, response.text
    transcript = unquote(response.headers["x-transcript"])
    assert wer(reference, transcript) <= 0.2, transcript
    messages = chat.llm.requests[-1].body["messages"]
    assert messages[1:-1] == history
    assert messages[-1] == {"role": "user", "content": transcript}
    assert wer("Sure, the lamp is on now.", heard(http, response.content)) <= 0.2


def test_sse_with_audio_in_starts_with_the_transcript(chat: ChatServer, http: httpx.Client) -> None:
    chat.llm.reset("Done.", token_delay=0.0)
    name = "living_room_light_en.wav"
    files = {"file": (name, (EVAL_DIR / name).read_bytes())}
    data = {"model": "piper", "stream_format": "sse"}
    with http.stream("POST", "/v1/audio/chat", files=files, data=data) as response:
        events = [
            json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")
        ]
    assert events[0]["type"] == "chat.transcript"
    assert wer(references()[name][1], events[0]["text"]) <= 0.2
    assert chat.llm.requests[-1].user_text == events[0]["text"]


def test_an_unreachable_llm_is_retried_with_backoff_then_503_names_it(
    chat: ChatServer, http: httpx.Client
) -> None:
    chat.llm.faults.extend([("status", 503), ("hang_up", 0), ("status", 500), ("status", 502)])
    response = http.post("/v1/audio/chat", json={"input": "Hello?", "model": "piper"})
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "llm_unavailable" and error["type"] == "server_error"
    assert chat.llm.url in error["message"]
    times = [r.at for r in chat.llm.requests]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(times) == 4, "one attempt and three retries"
    for gap, expected in zip(gaps, (1, 2, 4), strict=True):
        assert expected * RETRY_DELAY * 0.9 <= gap <= expected * RETRY_DELAY + 0.5, gaps


def test_an_llm_back_after_retries_answers(chat: ChatServer, http: httpx.Client) -> None:
    chat.llm.reset("Back again.", token_delay=0.0)
    chat.llm.faults.extend([("hang_up", 0), ("status", 503)])
    response = http.post("/v1/audio/chat", json={"input": "Hello?", "model": "piper"})
    assert response.status_code == 200, response.text
    assert len(chat.llm.requests) == 3
    assert len(response.content) > 1000


def test_an_llm_that_stalls_times_out_with_504(chat: ChatServer, http: httpx.Client) -> None:
    chat.llm.faults.append(("stall", LLM_TIMEOUT + 2))
    started = time.monotonic()
    response = http.post("/v1/audio/chat", json={"input": "Hello?", "model": "piper"})
    elapsed = time.monotonic() - started
    assert response.status_code == 504, response.text
    assert response.json()["error"]["code"] == "llm_timeout"
    assert LLM_TIMEOUT * 0.9 <= elapsed < LLM_TIMEOUT + 1.5, elapsed
    assert len(chat.llm.requests) == 1, "a slow LLM is not asked again"


def test_an_llm_refusal_is_a_502_with_its_reason(chat: ChatServer, http: httpx.Client) -> None:
    chat.llm.faults.append(("status", 404))
    response = http.post("/v1/audio/chat", json={"input": "Hello?", "model": "piper"})
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == "llm_error" and "404" in error["message"], error
    assert "overloaded" in error["message"]  # the LLM's own words


def test_an_llm_failing_mid_reply_ends_the_sse_stream_with_an_error(
    chat: ChatServer, http: httpx.Client
) -> None:
    chat.llm.faults.append(("error_after", 12))
    body = {"input": "Plan?", "model": "piper", "stream_format": "sse"}
    with http.stream("POST", "/v1/audio/chat", json=body) as response:
        assert response.status_code == 200
        events = [
            json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")
        ]
    kinds = [event["type"] for event in events]
    assert kinds.count("chat.text.delta") == 12 and "chat.text.done" not in kinds
    assert kinds[-1] == "error" and events[-1]["error"]["code"] == "llm_error"
    assert "the GPU fell over" in events[-1]["error"]["message"]


def test_clients_hanging_up_mid_reply_leave_no_job_behind(
    chat: ChatServer, http: httpx.Client
) -> None:
    chat.llm.reset(" ".join([REPLY] * 4), token_delay=0.0)  # all of it in at once: long pieces
    for model in ("piper", "kokoro", "piper"):
        body = {"input": "Plan?", "model": model, "response_format": "pcm"}
        with (
            httpx.Client(base_url=chat.server.url, timeout=30) as other,
            other.stream("POST", "/v1/audio/chat", json=body) as response,
        ):
            assert response.status_code == 200
            next(response.iter_bytes())  # the first audio, then hang up
            time.sleep(0.3)  # the engine is on the next piece by now
        gone = chat.server.cpu_seconds()
        burned = chat.server.settle(timeout=10) - gone
        assert burned < 0.5, f"{model}: {burned:.2f} s of CPU after the hang-up"
    chat.llm.reset("Still here.", token_delay=0.0)
    # The server runs one job at a time: a slot still held would make this wait forever.
    response = http.post("/v1/audio/chat", json={"input": "Hi", "model": "piper"}, timeout=20)
    assert response.status_code == 200 and len(response.content) > 1000


@pytest.mark.parametrize(
    ("request_args", "param"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, None),
        ({"json": ["a list"]}, None),
        ({"json": {"voice": "alloy"}}, "input"),
        ({"json": {"input": "   "}}, "input"),
        ({"json": {"input": "Hi", "response_format": "ogg"}}, "response_format"),
        ({"json": {"input": "Hi", "speed": 9}}, "speed"),
        ({"json": {"input": "Hi", "voice": "nobody"}}, "voice"),
        ({"json": {"input": "Hi", "messages": [{"role": "robot", "content": "x"}]}}, "messages"),
        ({"data": {"input": "Hi", "messages": "[oops"}, "files": {"x": b"1"}}, "messages"),
        ({"data": {"input": "Hi"}, "files": {"file": ("a.wav", b"RIFF")}}, "input"),
        ({"data": {"model": "piper"}, "files": {"file": ("a.wav", b"not audio")}}, "file"),
    ],
)
def test_bad_input_is_a_400_in_the_envelope(
    chat: ChatServer, http: httpx.Client, request_args: dict[str, Any], param: str | None
) -> None:
    response = http.post("/v1/audio/chat", **request_args)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param, error
    assert not chat.llm.requests, "nothing reached the LLM"


def test_the_server_goes_on_after_bad_input_and_holds_no_job(
    chat: ChatServer, http: httpx.Client
) -> None:
    for _ in range(3):
        http.post("/v1/audio/chat", files={"file": ("a.wav", b"junk")}, data={"model": "piper"})
    chat.llm.faults.extend([("status", 404)] * 3)
    for _ in range(3):
        assert (
            http.post("/v1/audio/chat", json={"input": "Hi", "model": "piper"}).status_code == 502
        )
    chat.llm.reset("Still here.", token_delay=0.0)
    response = http.post("/v1/audio/chat", json={"input": "Hi", "model": "piper"})
    assert response.status_code == 200 and len(response.content) > 1000


def test_without_an_llm_url_the_loop_answers_503_saying_what_to_set() -> None:
    app = create_app(Settings(llm_url="", preload=False))
    with TestClient(app) as client:
        response = client.post("/v1/audio/chat", json={"input": "Hello"})
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "llm_not_configured" and "VOCALIS_LLM_URL" in error["message"]
