"""The gateway seed's raw-PCM endpoints, against a live server with the real small models."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import av
import httpx
import numpy as np
import pytest

from tests.conftest import EVAL_DIR, references, wer
from tests.recordings import short
from vocalis.server.routes.gateway import header_value, transcript
from vocalis.stt.base import Segment

JFK = EVAL_DIR / "jfk.wav"
JFK_TEXT = references()["jfk.wav"][1]
LAMP = EVAL_DIR / "turn_on_the_living_room_lamp.wav"
LIMIT = 4 * 1024 * 1024  # the session server's VOCALIS_MAX_UPLOAD_MB


def pcm(path: Path, rate: int = 16_000, channels: int = 1) -> bytes:
    """The file as headerless interleaved s16le at `rate`."""
    layout = "mono" if channels == 1 else "stereo"
    resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
    with av.open(str(path)) as container:
        frames = [f for frame in container.decode(audio=0) for f in resampler.resample(frame)]
    frames += resampler.resample(None)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype("<i2").tobytes()


def stt(http: httpx.Client, body: Any, **params: Any) -> httpx.Response:
    return http.post("/api/stt/bytes", params=params, content=body)


def echo(http: httpx.Client, body: Any, **params: Any) -> httpx.Response:
    return http.post("/api/echo-bytes", params=params, content=body)


def envelope(message: str, param: str | None, code: str | None = "invalid_value") -> dict[str, Any]:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    return {"error": error}


def check_segments(body: dict[str, Any], duration_ms: int) -> None:
    segments = body["segments"]
    assert segments, body
    assert body["text"] == " ".join(s["text"] for s in segments)
    previous_end = 0
    for s in segments:
        assert set(s) == {"start_ms", "end_ms", "text"}
        assert isinstance(s["start_ms"], int) and isinstance(s["end_ms"], int)
        assert previous_end <= s["start_ms"] < s["end_ms"] <= duration_ms, segments
        previous_end = s["end_ms"]


# --- Pure pieces ------------------------------------------------------------------------


def segment(start: float, end: float, text: str) -> Segment:
    return Segment(0, 0, start, end, text, [], 0.0, 0.0, 1.0, 0.0)


def test_transcript_in_milliseconds() -> None:
    body = transcript([segment(0.0, 1.2345, " Hello"), segment(1.5, 2.0, " world.")])
    assert body.model_dump() == {
        "text": "Hello world.",
        "segments": [
            {"start_ms": 0, "end_ms": 1234, "text": "Hello"},
            {"start_ms": 1500, "end_ms": 2000, "text": "world."},
        ],
    }


def test_header_value_is_ascii_and_round_trips() -> None:
    text = "Ça va? Ask not — 你好, (what) it's 100%!"
    value = header_value(text)
    assert value.isascii() and value.isprintable() and " " not in value
    assert unquote(value) == text
    # As JavaScript's encodeURIComponent writes it.
    assert header_value("it's (ok)! a,b") == "it's%20(ok)!%20a%2Cb"


# --- /api/stt/bytes ---------------------------------------------------------------------


def test_transcribes_raw_pcm(http: httpx.Client) -> None:
    wav, reference, seconds = short(EVAL_DIR)  # seven clips, 0.5 s apart
    with wave.open(io.BytesIO(wav)) as w:
        body = w.readframes(w.getnframes())
    response = stt(http, body, sr=16_000, ch=1, lang="en")
    assert response.status_code == 200, response.text
    result = response.json()
    assert set(result) == {"text", "segments"}
    assert wer(reference, result["text"]) < 0.05, result["text"]
    assert len(result["segments"]) >= 5, result
    check_segments(result, duration_ms=round(seconds * 1000))
    assert result["segments"][0]["start_ms"] < 1000


@pytest.mark.parametrize(
    ("rate", "channels", "bound"),
    [(8_000, 1, 0.1), (48_000, 1, 0.05), (44_100, 2, 0.05)],
)
def test_rates_and_stereo(http: httpx.Client, rate: int, channels: int, bound: float) -> None:
    body = pcm(EVAL_DIR / "jfk.flac", rate, channels)
    result = stt(http, body, sr=rate, ch=channels).json()
    assert wer(JFK_TEXT, result["text"]) <= bound, result
    check_segments(result, duration_ms=len(body) * 1000 // (2 * channels * rate))


def test_stereo_clip_at_its_own_rate(http: httpx.Client) -> None:
    result = stt(http, pcm(LAMP, 44_100, 2), sr=44_100, ch=2, lang="en").json()
    assert wer(references()[LAMP.name][1], result["text"]) <= 0.2, result


def test_chunked_body(http: httpx.Client) -> None:
    body = pcm(JFK)

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 10_001):  # odd pieces: framing is checked on the whole
            yield body[start : start + 10_001]

    result = stt(http, pieces()).json()
    assert wer(JFK_TEXT, result["text"]) <= 0.05, result


# --- /api/echo-bytes --------------------------------------------------------------------


def wav_info(data: bytes) -> tuple[int, int, float]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getframerate(), w.getnchannels(), w.getnframes() / w.getframerate()


def heard(http: httpx.Client, wav: bytes) -> str:
    """What the server's own transcription makes of the echoed WAV."""
    response = http.post("/v1/audio/transcriptions", files={"file": ("echo.wav", wav)})
    return str(response.json()["text"])


def test_echo_speaks_the_transcript(http: httpx.Client) -> None:
    # Piper speaks a long sentence several times faster than Kokoro on a small CPU.
    response = echo(http, pcm(JFK), sr=16_000, ch=1, fmt="s16le", model="piper", voice="echo")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    said = unquote(response.headers["x-transcript"])
    assert wer(JFK_TEXT, said) <= 0.05, said
    assert wav_info(response.content)[:2] == (22_050, 1)  # Piper's joe
    assert 4 < wav_info(response.content)[2] < 15
    assert wer(said, heard(http, response.content)) <= 0.1


def test_echo_with_the_default_voice(http: httpx.Client) -> None:
    response = echo(http, pcm(LAMP, 44_100, 2), sr=44_100, ch=2)
    assert response.status_code == 200, response.text
    rate, channels, seconds = wav_info(response.content)
    # "alloy" is a Kokoro voice (24 kHz) where Kokoro is installed, else Piper's joe.
    assert rate in (22_050, 24_000) and channels == 1 and 1 < seconds < 5
    said = unquote(response.headers["x-transcript"])
    assert wer(references()[LAMP.name][1], said) <= 0.2, said
    assert wer(said, heard(http, response.content)) <= 0.1


# --- Bad input: a 4xx in OpenAI's envelope, and the server keeps serving ------------------


@pytest.fixture
def still_serving(http: httpx.Client) -> Iterator[None]:
    yield
    assert http.get("/health").json()["status"] == "ok"


ROUTES = [stt, echo]
EMPTY = envelope("The audio file is empty.", "file", "invalid_file_format")


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("send", ROUTES)
@pytest.mark.parametrize(
    ("body", "params", "status", "error"),
    [
        (b"", {}, 400, EMPTY),
        (None, {"sr": 8000}, 400, EMPTY),
        (
            b"\x00" * 3,
            {},
            400,
            envelope(
                "Raw PCM length must be a multiple of 2 bytes (s16le).",
                "file",
                "invalid_file_format",
            ),
        ),
        (
            b"\x00" * 6,
            {"ch": 2},
            400,
            envelope(
                "Raw PCM length must be a multiple of 4 bytes (s16le).",
                "file",
                "invalid_file_format",
            ),
        ),
        (
            b"\x00" * 64,
            {"sr": 0},
            400,
            envelope(
                "Invalid value for 'sr': Input should be greater than or equal to 1000.", "sr"
            ),
        ),
        (
            b"\x00" * 64,
            {"sr": 500_000},
            400,
            envelope("Invalid value for 'sr': Input should be less than or equal to 384000.", "sr"),
        ),
        (
            b"\x00" * 64,
            {"sr": "16k"},
            400,
            envelope(
                "Invalid value for 'sr': Input should be a valid integer, "
                "unable to parse string as an integer.",
                "sr",
            ),
        ),
        (
            b"\x00" * 64,
            {"ch": 0},
            400,
            envelope("Invalid value for 'ch': Input should be greater than or equal to 1.", "ch"),
        ),
        (
            b"\x00" * 64,
            {"ch": 9},
            400,
            envelope("Invalid value for 'ch': Input should be less than or equal to 8.", "ch"),
        ),
        (
            b"\x00" * 64,
            {"fmt": "f32le"},
            400,
            envelope("Invalid value for 'fmt': Input should be 's16le'.", "fmt"),
        ),
        (
            b"\x00" * 64,
            {"lang": "klingon"},
            400,
            envelope(
                "Unsupported language 'klingon': give an ISO-639-1 code such as 'en' or 'fr', "
                "or omit it to detect the language.",
                "language",
            ),
        ),
        (
            b"\x00" * (LIMIT + 2),
            {},
            413,
            envelope(
                "The request body is larger than this server's limit of 4 MB "
                "(setting VOCALIS_MAX_UPLOAD_MB).",
                "file",
                "file_too_large",
            ),
        ),
        (
            b"\x00" * (5 * 1024 * 1024),
            {},
            413,
            envelope(
                "The upload is larger than this server's limit of 4 MB "
                "(setting VOCALIS_MAX_UPLOAD_MB).",
                "file",
                "file_too_large",
            ),
        ),
    ],
)
def test_bad_input(
    http: httpx.Client,
    send: Any,
    body: bytes | None,
    params: dict[str, Any],
    status: int,
    error: dict[str, Any],
) -> None:
    response = send(http, body, **params)
    assert (response.status_code, response.json()) == (status, error)


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("send", ROUTES)
def test_too_large_without_declared_length(http: httpx.Client, send: Any) -> None:
    def pieces() -> Iterator[bytes]:
        for _ in range(5):
            yield b"\x00" * (LIMIT // 4)

    response = send(http, pieces())
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["message"].startswith("The request body is larger")


@pytest.mark.usefixtures("still_serving")
def test_unknown_stt_model(http: httpx.Client) -> None:
    response = stt(http, pcm(JFK), model="whisper-enormous")
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("model", "model_not_found")
    assert "whisper-base" in error["message"]


@pytest.mark.usefixtures("still_serving")
def test_echo_unknown_voice(http: httpx.Client) -> None:
    response = echo(http, pcm(JFK), voice="nobody")
    message = "Unknown voice 'nobody'. GET /v1/audio/voices lists the voices of this server."
    assert (response.status_code, response.json()) == (400, envelope(message, "voice"))


@pytest.mark.usefixtures("still_serving")
def test_echo_unknown_speech_model(http: httpx.Client) -> None:
    response = echo(http, pcm(JFK), model="tts-9")
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["param"], error["code"]) == ("model", "model_not_found")
    assert error["message"].startswith("The model 'tts-9' is not a speech model.")


@pytest.mark.usefixtures("still_serving")
def test_echo_too_long(http: httpx.Client) -> None:
    response = echo(http, b"\x00" * (121 * 16_000 * 2))
    message = (
        "Echo takes at most 120 s of audio, got 121.0 s; "
        "transcribe longer audio with /api/stt/bytes."
    )
    assert (response.status_code, response.json()) == (
        413,
        envelope(message, "file", "file_too_large"),
    )
