"""A table of hand-written bad inputs across HTTP, SSE and WebSockets, against one real server.

Each row names what it sends and exactly what comes back: the status and OpenAI's envelope
(type, code, param where stable) for HTTP, the error frames and close code for WebSockets.
Valid audio that holds no speech (silence, noise, a header that overstates its length) is
not an error: it is a 200 with little or no text. After every row the server still
answers /health, and at the end of the table it still transcribes and speaks correctly.

Rows that tests/server/test_errors.py, test_gateway.py, test_live_*.py and test_realtime.py
already hold are not repeated here; these are the cases those tables did not reach.
"""

from __future__ import annotations

import base64
import io
import json
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import av
import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import LiveServer, normalise, wer
from tests.robustness import media

LIGHT_TEXT = "Turn on the living room light."
LIGHT = media.LIGHT.read_bytes()
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + media.random_bytes(2000)
MEGABYTE = 1024 * 1024
# The server's VOCALIS_LIVE_MAX_MESSAGE_KB (1024 by default): one byte more is refused.
FRAME_LIMIT = 1024 * 1024


# -- what a row expects ---------------------------------------------------------------------

Check = Callable[[httpx.Response], None]


def error(
    status: int,
    param: str | None,
    code: str | None = "invalid_value",
    says: str = "",
    type_: str = "invalid_request_error",
) -> Check:
    """The OpenAI envelope with exactly these fields; `says` is part of its message."""

    def check(response: httpx.Response) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
        found = body["error"]
        assert (found["type"], found["code"], found["param"]) == (type_, code, param), found
        assert says in found["message"], found

    return check


def loose_error(status: int, says: str, code: str | None = None) -> Check:
    """The envelope where the framework, not Vocalis, names the param (it is not stable)."""

    def check(response: httpx.Response) -> None:
        assert response.status_code == status, response.text
        found = response.json()["error"]
        assert set(found) == {"message", "type", "param", "code"}
        assert found["type"] == "invalid_request_error" and found["code"] == code, found
        assert says in found["message"], found

    return check


def heard(reference: str, bound: float = 0.2) -> Check:
    def check(response: httpx.Response) -> None:
        assert response.status_code == 200, response.text
        assert wer(reference, response.json()["text"]) <= bound, response.text

    return check


def words(text: str) -> int:
    """Words with a letter or digit: Whisper writes "..." over noise, which says nothing."""
    return len(normalise(text).split())


def quiet(max_words: int = 3) -> Check:
    """A 200 with little or no text: Whisper may say "you" over silence, never an essay."""

    def check(response: httpx.Response) -> None:
        assert response.status_code == 200, response.text
        text = response.json()["text"]
        assert words(text) <= max_words, text

    return check


def quiet_text(max_words: int = 3) -> Check:
    def check(response: httpx.Response) -> None:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain")
        assert words(response.text) <= max_words, response.text

    return check


def sse(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    lines = response.text.splitlines()
    return [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]


def sse_quiet(response: httpx.Response) -> None:
    events = sse(response)
    assert events[-1]["type"] == "transcript.text.done", events
    assert words(events[-1]["text"]) <= 3, events


def sse_error(param: str, code: str, says: str) -> Check:
    """The status line had gone before the error was found: the error is the stream's event."""

    def check(response: httpx.Response) -> None:
        events = sse(response)
        assert len(events) == 1, events
        found = events[0]["error"]
        assert (found["type"], found["code"], found["param"]) == (
            "invalid_request_error",
            code,
            param,
        )
        assert says in found["message"]

    return check


def speech_sse_silent(response: httpx.Response) -> None:
    """Text with nothing to pronounce: no audio, and the stream still ends properly."""
    events = sse(response)
    assert [e["type"] for e in events] == ["speech.audio.done"], events
    assert events[0]["usage"]["output_tokens"] == 0


def audio(fmt: str, min_seconds: float) -> Check:
    """Audio that decodes to at least `min_seconds`."""

    def check(response: httpx.Response) -> None:
        assert response.status_code == 200, response.text[:300]
        assert response.headers["content-type"].startswith("audio/")
        assert decoded_seconds(response.content, fmt) >= min_seconds

    return check


def decoded_seconds(data: bytes, fmt: str) -> float:
    """Seconds of audio in `data`, decoded (a streamed WAV's header does not know its length)."""
    with av.open(io.BytesIO(data), format=fmt) as container:
        frames = list(container.decode(audio=0))
    return sum(f.samples for f in frames) / frames[0].sample_rate if frames else 0.0


def whole_wav(min_seconds: float) -> Check:
    def check(response: httpx.Response) -> None:
        assert response.status_code == 200, response.text[:300]
        with wave.open(io.BytesIO(response.content)) as w:
            assert w.getnframes() / w.getframerate() >= min_seconds

    return check


def asr_heard(response: httpx.Response) -> None:
    """Transcribed, and the upload's name comes back without its path."""
    assert response.status_code == 200, response.text
    assert wer(LIGHT_TEXT, response.text) <= 0.2, response.text
    disposition = response.headers["content-disposition"]
    assert disposition == 'attachment; filename="passwd.txt"', disposition


def detected(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"detected_language", "language_code", "confidence"}
    assert 2 <= len(body["language_code"]) <= 3 and 0 <= body["confidence"] <= 1, body


def raw_quiet(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert words(response.json()["text"]) <= 3, response.text


# -- how a row sends ------------------------------------------------------------------------

Send = Callable[[httpx.Client], httpx.Response]


def upload(
    content: bytes, name: str = "audio.wav", path: str = "/v1/audio/transcriptions", **data: Any
) -> Send:
    return lambda http: http.post(path, files={"file": (name, content)}, data=data)


def fields(path: str = "/v1/audio/transcriptions", **parts: tuple[str | None, bytes]) -> Send:
    """Multipart parts as given: raw bytes, a chosen filename."""
    return lambda http: http.post(path, files=dict(parts))


def post_json(path: str, body: Any) -> Send:
    return lambda http: http.post(path, json=body)


def post_raw(path: str, content: bytes, content_type: str, **params: Any) -> Send:
    return lambda http: http.post(
        path, content=content, params=params, headers={"content-type": content_type}
    )


def speech(**body: Any) -> Send:
    return post_json("/v1/audio/speech", {"input": "Hello.", **body})


def asr(content: bytes, name: str = "audio.wav", **params: Any) -> Send:
    return lambda http: http.post("/asr", params=params, files={"audio_file": (name, content)})


def detect(content: bytes, name: str = "audio.wav") -> Send:
    return lambda http: http.post("/detect-language", files={"audio_file": (name, content)})


def get(path: str) -> Send:
    return lambda http: http.get(path)


@dataclass(frozen=True)
class Http:
    name: str
    send: Send
    check: Check


NO_SAMPLES = "The file contains no audio samples."
UNDECODABLE = "could not be decoded as audio"
NOT_SPEECH_MODEL = "is not a speech model"
UNKNOWN_VOICE = "Unknown voice '../../x'."

HTTP: list[Http] = [
    # --- transcriptions: lying and truncated media
    Http(
        "wav header claims 60 s, holds 2.4 s of speech",
        upload(media.lying_wav(60, media.light_pcm())),
        heard(LIGHT_TEXT),
    ),
    Http(
        "wav header claims 10 s, holds nothing",
        upload(media.wav_header_only(10)),
        error(400, "file", "invalid_file_format", NO_SAMPLES),
    ),
    Http(
        "wav header then 3 bytes",
        upload(media.lying_wav(10, b"\x01\x02\x03")),
        quiet(0),
    ),
    Http(
        "wav of zero frames",
        upload(media.wav(media.silence(0))),
        error(400, "file", "invalid_file_format", NO_SAMPLES),
    ),
    Http(
        "mp3 frame sync over a garbage body",
        upload(media.garbage_mp3(), "song.mp3"),
        error(400, "file", "invalid_file_format", UNDECODABLE),
    ),
    Http(
        "a text file named .wav",
        upload(b"Not audio, only words.\n" * 200, "speech.wav"),
        error(400, "file", "invalid_file_format", UNDECODABLE),
    ),
    Http(
        "a PNG named .mp3",
        upload(PNG, "cover.mp3"),
        error(400, "file", "invalid_file_format", "no audio stream"),
    ),
    # --- transcriptions: valid audio without speech
    Http("3 s of silence", upload(media.wav(media.silence(3))), quiet()),
    Http("1 s of white noise", upload(media.wav(media.noise(1))), quiet()),
    Http("one sample", upload(media.wav(media.silence(1 / media.RATE))), quiet(0)),
    # --- transcriptions: huge, non-UTF-8 and mistyped fields
    Http(
        "a 1 MB prompt",
        upload(LIGHT, prompt="word " * (MEGABYTE // 5 + 1)),
        loose_error(400, "Part exceeded maximum size of 1024KB"),
    ),
    Http(
        "a prompt that is not UTF-8",
        fields(file=("a.wav", LIGHT), prompt=(None, b"\xff\xfe\xfa caf\xe9")),
        heard(LIGHT_TEXT),
    ),
    Http(
        "a prompt with a NUL",
        upload(LIGHT, prompt="living\x00room"),
        heard(LIGHT_TEXT),
    ),
    Http(
        "a filename that is not UTF-8",
        fields(file=(b"\xff\xfe.wav".decode("latin-1"), LIGHT)),
        heard(LIGHT_TEXT),
    ),
    Http("temperature as a word", upload(LIGHT, temperature="hot"), error(400, "temperature")),
    Http("stream as a word", upload(LIGHT, stream="maybe"), error(400, "stream")),
    Http("beam_size 0", upload(LIGHT, beam_size="0"), error(400, "beam_size")),
    Http("99 channels", upload(LIGHT, channels="99"), error(400, "channels")),
    Http(
        "raw PCM of odd length",
        upload(b"\x01\x02\x03", "a.pcm", sample_rate="16000"),
        error(400, "file", "invalid_file_format", "multiple of 2 bytes"),
    ),
    Http(
        "file as a plain field",
        lambda http: http.post("/v1/audio/transcriptions", data={"file": "audio.wav"}),
        error(400, "file", says="Expected UploadFile"),
    ),
    Http(
        "a JSON body instead of multipart",
        post_json("/v1/audio/transcriptions", {"file": "audio.wav", "model": "whisper-1"}),
        error(400, "file", says="Missing required parameter: 'file'."),
    ),
    Http(
        "chunking_strategy not JSON",
        upload(LIGHT, chunking_strategy="{type: server_vad"),
        error(400, "chunking_strategy"),
    ),
    # --- transcriptions: path traversal in every name
    Http("filename ../../etc/passwd", upload(LIGHT, "../../etc/passwd"), heard(LIGHT_TEXT)),
    Http(
        "model ../x",
        upload(LIGHT, model="../x"),
        error(404, "model", "model_not_found", "'../x'"),
    ),
    Http(
        "model /etc/passwd",
        upload(LIGHT, model="/etc/passwd"),
        error(404, "model", "model_not_found", "'/etc/passwd'"),
    ),
    Http(
        "response_format ../x",
        upload(LIGHT, response_format="../x"),
        error(400, "response_format"),
    ),
    Http("language ../x", upload(LIGHT, language="../x"), error(400, "language", says="'../x'")),
    # --- translations
    Http(
        "translation of a garbage mp3",
        upload(media.garbage_mp3(), "x.mp3", "/v1/audio/translations"),
        error(400, "file", "invalid_file_format", UNDECODABLE),
    ),
    Http(
        "translation with model ../../x",
        upload(LIGHT, path="/v1/audio/translations", model="../../x"),
        error(404, "model", "model_not_found"),
    ),
    Http(
        "translation with a 1 MB prompt",
        upload(LIGHT, path="/v1/audio/translations", prompt="x" * (MEGABYTE + 1)),
        loose_error(400, "Part exceeded maximum size of 1024KB"),
    ),
    Http(
        "translation of silence",
        upload(media.wav(media.silence(2)), path="/v1/audio/translations"),
        quiet(),
    ),
    Http(
        "translation of a text file named .wav",
        upload(b"words, words" * 100, "x.wav", "/v1/audio/translations"),
        error(400, "file", "invalid_file_format", UNDECODABLE),
    ),
    # --- transcriptions as Server-Sent Events
    Http(
        "stream of random bytes: refused before the stream starts",
        upload(media.random_bytes(5000), "x.mp3", stream="true"),
        error(400, "file", "invalid_file_format", UNDECODABLE),
    ),
    Http(
        "stream of a text file named .wav",
        upload(b"hello " * 500, "x.wav", stream="true"),
        error(400, "file", "invalid_file_format", UNDECODABLE),
    ),
    Http(
        "stream of a wav header that holds nothing",
        upload(media.wav_header_only(10), stream="true"),
        sse_error("file", "invalid_file_format", NO_SAMPLES),
    ),
    Http("stream of silence", upload(media.wav(media.silence(2)), stream="true"), sse_quiet),
    # --- speech
    Http(
        "5000 characters of input",
        speech(input="é" * 5000),
        error(400, "input", says="at most 4096"),
    ),
    Http("voice ../../x", speech(voice="../../x"), error(400, "voice", says=UNKNOWN_VOICE)),
    Http(
        "speech model ../x",
        speech(model="../x"),
        error(404, "model", "model_not_found", NOT_SPEECH_MODEL),
    ),
    Http("input as a number", speech(input=123), error(400, "input")),
    Http("speed as a word", speech(speed="fast"), error(400, "speed")),
    Http("voice as a list", speech(voice=["alloy"]), error(400, "voice")),
    Http(
        "a JSON array body",
        post_json("/v1/audio/speech", ["Hello."]),
        error(400, None, says="valid dictionary"),
    ),
    Http(
        "a body that is not UTF-8",
        post_raw("/v1/audio/speech", b'{"input": "\xff\xfe"}', "application/json"),
        loose_error(400, "error parsing the body"),
    ),
    Http(
        "a form body instead of JSON",
        lambda http: http.post("/v1/audio/speech", data={"input": "Hello."}),
        error(400, None, says="valid dictionary"),
    ),
    Http(
        "a lone surrogate in the input",
        post_raw("/v1/audio/speech", b'{"input": "Hi \\ud800 there"}', "application/json"),
        error(400, "input", says="unicode"),
    ),
    Http(
        "control characters in the input",
        speech(input="Hello\x01\x02\x1b[31m there\x7f.", model="piper", response_format="wav"),
        audio("wav", 0.3),
    ),
    Http(
        "a NUL in the input (Piper)",
        speech(input="Hello\x00there.", model="piper", response_format="wav"),
        audio("wav", 0.3),
    ),
    Http(
        "only emoji: nothing to pronounce, an empty but valid file",
        speech(input="\U0001f642\U0001f642", response_format="flac"),
        audio("flac", 0.0),
    ),
    # --- speech as Server-Sent Events: refused before the stream starts
    Http(
        "sse with an unknown voice",
        speech(voice="nobody", stream_format="sse"),
        error(400, "voice", says="Unknown voice 'nobody'."),
    ),
    Http(
        "sse with response_format ogg",
        speech(response_format="ogg", stream_format="sse"),
        error(400, "response_format"),
    ),
    Http("sse at speed 0", speech(speed=0, stream_format="sse"), error(400, "speed")),
    Http(
        "sse of empty input",
        speech(input="", stream_format="sse"),
        error(400, "input", says="at least 1 character"),
    ),
    Http(
        "sse of 5000 characters",
        speech(input="a" * 5000, stream_format="sse"),
        error(400, "input", says="at most 4096"),
    ),
    Http(
        "sse of punctuation only",
        speech(input="... !? ...", stream_format="sse"),
        speech_sse_silent,
    ),
    # --- /v1/models/{id}
    Http(
        "model id ../../etc/passwd",
        get("/v1/models/" + quote("../../etc/passwd", safe="")),
        error(404, None, "model_not_found", "'../../etc/passwd' does not exist"),
    ),
    Http(
        "model id of 5000 characters",
        get("/v1/models/" + "x" * 5000),
        error(404, None, "model_not_found"),
    ),
    Http(
        "model id that is not UTF-8",
        get("/v1/models/%ff%fe"),
        error(404, None, "model_not_found"),
    ),
    # --- /tts (the TTS Server seed)
    Http(
        "tts of 5000 characters",
        post_json("/tts", {"text": "a" * 5000}),
        error(400, "text", says="at most 4096"),
    ),
    Http(
        "tts voice ../../x",
        post_json("/tts", {"text": "Hi.", "voice": "../../x"}),
        error(400, "voice", says=UNKNOWN_VOICE),
    ),
    Http("tts text as a list", post_json("/tts", {"text": ["Hi."]}), error(400, "text")),
    Http(
        "tts body not JSON",
        post_raw("/tts", b"text=hello", "application/json"),
        loose_error(400, "JSON decode error", "invalid_value"),
    ),
    Http(
        "tts model ../x",
        post_json("/tts", {"text": "Hi.", "model": "../x"}),
        error(404, "model", "model_not_found", NOT_SPEECH_MODEL),
    ),
    Http(
        "tts with a NUL in the text (Piper)",
        post_json("/tts", {"text": "Hello\x00there.", "model": "piper"}),
        whole_wav(0.3),
    ),
    # --- /asr and /detect-language (whisper-asr-webservice)
    Http(
        "asr of a text file named .wav",
        asr(b"hello " * 200),
        error(400, "file", "invalid_file_format", UNDECODABLE),
    ),
    Http(
        "asr of a header that holds nothing",
        asr(media.wav_header_only(5)),
        error(400, "file", "invalid_file_format", NO_SAMPLES),
    ),
    Http("asr output ../x", asr(LIGHT, output="../x"), error(400, "output")),
    Http("asr task ../x", asr(LIGHT, task="../x"), error(400, "task")),
    Http("asr language ../x", asr(LIGHT, language="../x"), error(400, "language")),
    Http("asr filename ../../etc/passwd", asr(LIGHT, "../../etc/passwd"), asr_heard),
    Http(
        "asr of raw silence",
        asr(media.pcm16(media.silence(2)), "a.pcm", encode="false"),
        quiet_text(),
    ),
    Http("detect-language of silence", detect(media.wav(media.silence(2))), detected),
    Http(
        "detect-language of a garbage mp3",
        detect(media.garbage_mp3(), "a.mp3"),
        error(400, "file", "invalid_file_format", UNDECODABLE),
    ),
    Http(
        "detect-language of a header that holds nothing",
        detect(media.wav_header_only(5)),
        error(400, "file", "invalid_file_format", NO_SAMPLES),
    ),
    # --- /api/stt/bytes (the gateway seed)
    Http(
        "raw silence",
        post_raw("/api/stt/bytes", media.pcm16(media.silence(2)), "application/octet-stream"),
        raw_quiet,
    ),
    Http(
        "a whole WAV sent as raw PCM: its header is 22 samples of noise",
        post_raw("/api/stt/bytes", LIGHT, "application/octet-stream"),
        heard(LIGHT_TEXT),
    ),
    Http(
        "raw PCM with model ../x",
        post_raw("/api/stt/bytes", media.light_pcm(), "application/octet-stream", model="../x"),
        error(404, "model", "model_not_found", "'../x'"),
    ),
    Http(
        "raw PCM with ch as a word",
        post_raw("/api/stt/bytes", media.light_pcm(), "application/octet-stream", ch="two"),
        error(400, "ch"),
    ),
]


@pytest.fixture(autouse=True)
def still_serving(server: LiveServer) -> Iterator[None]:
    yield
    assert httpx.get(f"{server.url}/health", timeout=30).json()["status"] == "ok"
    assert server.process.poll() is None


@pytest.fixture
def own(server: LiveServer) -> Iterator[httpx.Client]:
    """A connection per row: a row whose connection the server drops breaks no other test."""
    with server.client() as client:
        yield client


@pytest.mark.parametrize("row", HTTP, ids=[row.name for row in HTTP])
def test_http(own: httpx.Client, row: Http) -> None:
    row.check(row.send(own))


# -- WebSockets -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ws:
    """Frames sent on `path`; the (code, param) of each error frame expected back, in order;
    the close code the server ends with, or None when the connection must stay usable."""

    name: str
    path: str
    frames: tuple[str | bytes, ...]
    errors: tuple[tuple[str | None, str | None], ...]
    close: int | None = None


def frame(**fields: Any) -> str:
    return json.dumps(fields)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


OVERSIZED_TEXT = "x" * (FRAME_LIMIT + 1)
OVERSIZED_BINARY = b"\x00" * (FRAME_LIMIT + 2)
APPEND = "input_audio_buffer.append"

WS: list[Ws] = [
    # --- /ws/stt: bad queries close with 1008 after one error frame
    Ws("stt sample_rate=0", "/ws/stt?sample_rate=0", (), (("invalid_value", "sample_rate"),), 1008),
    Ws(
        "stt sample_rate=-16000",
        "/ws/stt?sample_rate=-16000",
        (),
        (("invalid_value", "sample_rate"),),
        1008,
    ),
    Ws(
        "stt sample_rate=16000.5",
        "/ws/stt?sample_rate=16000.5",
        (),
        (("invalid_value", "sample_rate"),),
        1008,
    ),
    Ws(
        "stt sample_rate=999999999",
        "/ws/stt?sample_rate=999999999",
        (),
        (("invalid_value", "sample_rate"),),
        1008,
    ),
    Ws("stt language=../x", "/ws/stt?language=../x", (), (("invalid_value", "language"),), 1008),
    # A name with a "/" is taken for a hub id, so the session opens; its first utterance
    # says why the model cannot be had (HTTP answers 404 model_not_found at once).
    Ws(
        "stt model=../../x",
        "/ws/stt?model=../../x",
        (media.light_pcm(), frame(type="flush"), frame(type="close")),
        (("transcription_failed", None),),
        1000,
    ),
    Ws("stt vad=maybe", "/ws/stt?vad=maybe", (), (("invalid_value", "vad"),), 1008),
    # --- /ws/stt: bad frames get an error frame and the connection goes on
    Ws("stt type as a number", "/ws/stt", (frame(type=5),), (("invalid_json", None),)),
    Ws("stt JSON null", "/ws/stt", ("null",), (("invalid_json", None),)),
    Ws("stt one byte of audio", "/ws/stt", (b"\x01",), (("invalid_audio", None),)),
    Ws("stt flush with nothing buffered", "/ws/stt", (frame(type="flush"),), ()),
    Ws("stt oversized text frame", "/ws/stt", (OVERSIZED_TEXT,), (), 1009),
    # --- /ws/tts
    Ws("tts 5000 characters", "/ws/tts", (frame(text="a" * 5000),), (("invalid_value", "text"),)),
    Ws(
        "tts voice ../../x",
        "/ws/tts",
        (frame(text="Hi.", voice="../../x"),),
        (("invalid_value", "voice"),),
    ),
    Ws(
        "tts model ../x",
        "/ws/tts",
        (frame(text="Hi.", model="../x"),),
        (("model_not_found", "model"),),
    ),
    Ws("tts type as a number", "/ws/tts", (frame(type=5),), (("unknown_type", "type"),)),
    Ws("tts JSON null", "/ws/tts", ("null",), (("invalid_json", None),)),
    Ws(
        "tts speed as a word",
        "/ws/tts",
        (frame(text="Hi.", speed="fast"),),
        (("invalid_value", "speed"),),
    ),
    Ws(
        "tts JSON in a binary frame",
        "/ws/tts",
        (frame(text="Hi.").encode(),),
        (("unsupported_frame", None),),
    ),
    Ws("tts oversized binary frame", "/ws/tts", (OVERSIZED_BINARY,), (), 1009),
    # --- /v1/realtime
    Ws(
        "realtime garbage in a binary frame",
        "/v1/realtime",
        (b"\xff\xfe\x00garbage",),
        (("invalid_json", None),),
    ),
    Ws(
        "realtime base64 with bad padding",
        "/v1/realtime",
        (frame(type=APPEND, audio="abc"),),
        (("invalid_value", "audio"),),
    ),
    Ws(
        "realtime type null",
        "/v1/realtime",
        (frame(type=None),),
        (("missing_required_parameter", "type"),),
    ),
    Ws(
        "realtime sample rate as a word",
        "/v1/realtime",
        (
            frame(
                type="session.update",
                session={"type": "transcription", "audio": {"input": {"format": {"rate": "fast"}}}},
            ),
        ),
        (("invalid_value", "session.audio.input.format.rate"),),
    ),
    Ws(
        "realtime oversized audio",
        "/v1/realtime",
        (frame(type=APPEND, audio=b64(b"\x00" * FRAME_LIMIT)),),
        (),
        1009,
    ),
    Ws("realtime model=../x in the URL", "/v1/realtime?model=../x", (), ()),
]


@pytest.mark.parametrize("row", WS, ids=[row.name for row in WS])
def test_websocket(server: LiveServer, row: Ws) -> None:
    url = server.url.replace("http", "ws", 1) + row.path
    with connect(url, max_size=None, open_timeout=10) as ws:
        for message in row.frames:
            ws.send(message)
        errors, closed = error_frames(ws, len(row.errors), row.close is not None)
        assert [(e["code"], e["param"]) for e in errors] == list(row.errors), errors
        assert all(e["type"] == "invalid_request_error" and len(e["message"]) > 10 for e in errors)
        if row.close is not None:
            assert closed == row.close, closed
        else:
            STILL_WORKS[row.path.split("?")[0]](ws)


def error_frames(
    ws: ClientConnection, count: int, until_closed: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """The first `count` error frames (others, such as session.created, are skipped), and the
    close code when the server closes."""
    errors: list[dict[str, Any]] = []
    try:
        while len(errors) < count or until_closed:
            message = ws.recv(timeout=30)
            if isinstance(message, str) and (event := json.loads(message))["type"] == "error":
                errors.append(event["error"])
    except ConnectionClosed as exc:
        return errors, exc.rcvd.code if exc.rcvd else None
    return errors, None


def stt_still_works(ws: ClientConnection) -> None:
    ws.send(media.light_pcm())
    ws.send(frame(type="flush"))
    ws.send(frame(type="close"))
    texts = []
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            event = json.loads(ws.recv(timeout=60))
            assert event["type"] != "error", event
            if event["type"] == "transcript":
                texts.append(event["text"])
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
    assert wer(LIGHT_TEXT, " ".join(texts)) <= 0.2, texts


def tts_still_works(ws: ClientConnection) -> None:
    ws.send(frame(text="Yes.", model="piper"))
    audio_bytes = 0
    while (message := ws.recv(timeout=60)) != '{"type": "end"}':
        if isinstance(message, bytes):
            audio_bytes += len(message)
        else:
            assert json.loads(message)["type"] == "start", message
    assert audio_bytes > 22_050 * 2 * 0.2  # at least 0.2 s of Piper's 22 kHz PCM


def test_websocket_tts_nul_in_the_text(server: LiveServer) -> None:
    """Said like the HTTP route says it (a row of its own: the request must end by itself,
    where a following request would replace it)."""
    with connect(server.url.replace("http", "ws", 1) + "/ws/tts", max_size=None) as ws:
        ws.send(frame(text="Hello\0there.", model="piper"))
        assert json.loads(ws.recv(timeout=60))["type"] == "start"
        pcm = b""
        while isinstance(message := ws.recv(timeout=60), bytes):
            pcm += message
    assert json.loads(message) == {"type": "end"}, message
    assert len(pcm) / 2 / 22_050 > 0.3


def realtime_still_works(ws: ClientConnection) -> None:
    ws.send(frame(type="input_audio_buffer.clear"))
    while True:
        event = json.loads(ws.recv(timeout=30))
        assert event["type"] != "error", event
        if event["type"] == "input_audio_buffer.cleared":
            return


STILL_WORKS: dict[str, Callable[[ClientConnection], None]] = {
    "/ws/stt": stt_still_works,
    "/ws/tts": tts_still_works,
    "/v1/realtime": realtime_still_works,
}


def test_the_table_is_big_enough() -> None:
    assert len(HTTP) + len(WS) >= 60


def test_still_transcribes_and_speaks_after_the_table(own: httpx.Client) -> None:
    # Last in the module, so it runs after every row (pytest keeps the order of definition).
    heard(LIGHT_TEXT, 0.1)(upload(LIGHT)(own))
    spoken = own.post(
        "/v1/audio/speech", json={"input": LIGHT_TEXT, "model": "piper", "response_format": "wav"}
    )
    heard(LIGHT_TEXT, 0.2)(upload(spoken.content, "spoken.wav")(own))
