"""Bad input gets a 4xx in OpenAI's error envelope, and the server keeps serving."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.conftest import EVAL_DIR, references, wer

JFK = EVAL_DIR / "jfk.wav"


def assert_envelope(response: httpx.Response, status: int, param: str | None) -> dict[str, str]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    assert len(error["message"]) > 10
    return error  # type: ignore[no-any-return]


def post(
    http: httpx.Client, content: bytes, name: str = "audio.wav", **data: str
) -> httpx.Response:
    return http.post("/v1/audio/transcriptions", files={"file": (name, content)}, data=data)


@pytest.fixture(autouse=True)
def still_serving(http: httpx.Client) -> object:
    yield
    # After every bad request, a good one still works.
    assert http.get("/health").json()["status"] == "ok"


def test_corrupt_audio(http: httpx.Client) -> None:
    data = JFK.read_bytes()
    corrupt = data[:44] + os.urandom(len(data) // 4)
    response = post(http, corrupt[:1000] + b"\x00" * 10 + os.urandom(5000), "broken.mp3")
    assert response.status_code in (200, 400)
    error = assert_envelope(post(http, os.urandom(20_000), "noise.mp3"), 400, "file")
    assert "Supported formats" in error["message"]


def test_truncated_wav_header(http: httpx.Client) -> None:
    assert_envelope(post(http, JFK.read_bytes()[:30]), 400, "file")


def test_empty_file(http: httpx.Client) -> None:
    error = assert_envelope(post(http, b""), 400, "file")
    assert "empty" in error["message"]


def test_text_file_as_audio(http: httpx.Client) -> None:
    text = b"These are not the samples you are looking for.\n" * 50
    error = assert_envelope(post(http, text, "notes.txt"), 400, "file")
    assert error["code"] == "invalid_file_format"


def test_unknown_model(http: httpx.Client) -> None:
    error = assert_envelope(post(http, JFK.read_bytes(), model="whisper-enormous"), 404, "model")
    assert "whisper-base" in error["message"]


def test_bad_language(http: httpx.Client) -> None:
    error = assert_envelope(post(http, JFK.read_bytes(), language="klingon"), 400, "language")
    assert "ISO-639-1" in error["message"]


def test_english_model_refuses_french(http: httpx.Client) -> None:
    response = post(http, JFK.read_bytes(), model="whisper-tiny.en", language="fr")
    assert_envelope(response, 400, "language")


def test_bad_response_format(http: httpx.Client) -> None:
    error = assert_envelope(
        post(http, JFK.read_bytes(), response_format="docx"), 400, "response_format"
    )
    assert "verbose_json" in error["message"]


def test_bad_granularity(http: httpx.Client) -> None:
    response = post(http, JFK.read_bytes(), **{"timestamp_granularities[]": "syllable"})
    assert_envelope(response, 400, "timestamp_granularities")


def test_temperature_out_of_range(http: httpx.Client) -> None:
    assert_envelope(post(http, JFK.read_bytes(), temperature="3"), 400, "temperature")


def test_missing_file(http: httpx.Client) -> None:
    error = assert_envelope(
        http.post("/v1/audio/transcriptions", data={"model": "whisper-1"}), 400, "file"
    )
    assert "file" in error["message"]


def test_oversized_upload(http: httpx.Client) -> None:
    # The session server's limit is 4 MB.
    error = assert_envelope(post(http, os.urandom(5 * 1024 * 1024)), 413, "file")
    assert "VOCALIS_MAX_UPLOAD_MB" in error["message"]


def test_translation_with_english_only_model(http: httpx.Client) -> None:
    response = http.post(
        "/v1/audio/translations",
        files={"file": ("jfk.wav", JFK.read_bytes())},
        data={"model": "whisper-tiny.en"},
    )
    assert_envelope(response, 400, "model")


def test_unknown_model_object(http: httpx.Client) -> None:
    assert_envelope(http.get("/v1/models/nope"), 404, None)


def test_unknown_route(http: httpx.Client) -> None:
    response = http.get("/v1/audio/nothing")
    assert response.status_code == 404
    assert "error" in response.json()


def test_good_request_after_bad_ones(http: httpx.Client) -> None:
    response = post(http, JFK.read_bytes())
    assert wer(references()["jfk.wav"][1], response.json()["text"]) < 0.05
