"""The TTS Server seed's POST /tts and GET /voices, and a /health that says what is loaded."""

from __future__ import annotations

import io
import wave

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import wer
from tests.server.test_speech import heard
from vocalis import __version__
from vocalis.config import Settings
from vocalis.server.app import create_app

TEXT = "Please turn on the kitchen lights at seven in the evening."


def wav_seconds(data: bytes) -> tuple[int, float]:
    """The rate and the length a WAV's own header states (a streamed header would not know)."""
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        assert len(data) == 44 + 2 * w.getnframes()
        return w.getframerate(), w.getnframes() / w.getframerate()


@pytest.mark.parametrize("voice", [None, "en_US-joe-medium", "af_heart"])
def test_tts_answers_a_whole_wav_that_says_the_text(http: httpx.Client, voice: str | None) -> None:
    body = {"text": TEXT, **({"voice": voice} if voice else {})}
    response = http.post("/tts", json=body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    rate, seconds = wav_seconds(response.content)
    assert rate in (22_050, 24_000)
    assert 2.0 < seconds < 8.0
    assert wer(TEXT, heard(http, response.content)) <= 0.1


def test_tts_speed_shortens_the_audio(http: httpx.Client) -> None:
    normal = wav_seconds(http.post("/tts", json={"text": TEXT}).content)[1]
    fast = wav_seconds(http.post("/tts", json={"text": TEXT, "speed": 1.5}).content)[1]
    assert fast < normal * 0.8


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"text": "   "}, "text"),
        ({"text": TEXT, "voice": "nobody"}, "voice"),
        ({"voice": "af_heart"}, "text"),
        ({"text": TEXT, "speed": 9}, "speed"),
    ],
)
def test_tts_bad_requests_are_4xx_in_the_envelope(
    http: httpx.Client, body: dict[str, object], param: str
) -> None:
    response = http.post("/tts", json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert param in (error["param"] or "") + error["message"]


def test_voices_lists_every_voice_and_the_default(http: httpx.Client) -> None:
    body = http.get("/voices").json()
    assert "en_US-joe-medium" in body["voices"] and "af_heart" in body["voices"]
    assert len(body["voices"]) == len(http.get("/v1/audio/voices").json()["voices"])
    assert body["default"] in body["voices"]
    spoken = http.post("/tts", json={"text": "Hello.", "voice": body["default"]})
    assert spoken.status_code == 200


def test_health_names_the_loaded_models(http: httpx.Client) -> None:
    http.post("/tts", json={"text": "Hello.", "voice": "en_US-joe-medium"})
    body = http.get("/health").json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["uptime_seconds"] > 0
    # The session server preloads Whisper base and warms both speech engines.
    assert body["whisper_loaded"] is True
    assert "whisper-base" in body["stt_models_loaded"]
    assert {"piper", "kokoro"} <= set(body["tts_engines_loaded"])


def test_health_loads_nothing(tmp_path: object) -> None:
    app = create_app(Settings(allow_download=False))
    with TestClient(app) as local:
        first = local.get("/health").json()
        second = local.get("/health").json()
    assert first["whisper_loaded"] is False
    assert first["stt_models_loaded"] == [] and first["tts_engines_loaded"] == []
    assert second["uptime_seconds"] >= first["uptime_seconds"]
    assert app.state.services.stt.pool.loaded() == []
