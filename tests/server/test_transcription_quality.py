"""The real default model end to end: accuracy on the public recordings."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

from tests.conftest import EVAL_DIR, references, wer

ENGLISH = [
    name
    for name, (language, text) in references().items()
    if language == "en" and not text.startswith("(") and "|" not in text
]


def transcribe(http: httpx.Client, name: str, **fields: str) -> httpx.Response:
    with (EVAL_DIR / name).open("rb") as f:
        return http.post("/v1/audio/transcriptions", files={"file": (name, f)}, data=fields)


@pytest.mark.parametrize("name", ENGLISH)
def test_english_word_error_rate_under_5_percent(http: httpx.Client, name: str) -> None:
    response = transcribe(http, name, model="whisper-1")
    assert response.status_code == 200, response.text
    reference = references()[name][1]
    assert wer(reference, response.json()["text"]) < 0.05


def test_french_is_detected(http: httpx.Client) -> None:
    response = transcribe(http, "whats_your_name_french.wav", response_format="verbose_json")
    body = response.json()
    assert body["language"] == "fr"
    assert wer("comment t'appelles tu", body["text"]) <= 0.34


def test_translation_of_french_is_english(http: httpx.Client) -> None:
    with (EVAL_DIR / "whats_your_name_french.wav").open("rb") as f:
        response = http.post("/v1/audio/translations", files={"file": f})
    text = response.json()["text"].lower()
    assert "you" in text and ("name" in text or "call" in text), text


def test_language_hint_is_used(http: httpx.Client) -> None:
    response = transcribe(http, "jfk.flac", language="en", response_format="verbose_json")
    assert response.json()["language"] == "en"
    assert wer(references()["jfk.flac"][1], response.json()["text"]) < 0.05


def test_english_only_model(http: httpx.Client) -> None:
    response = transcribe(http, "jfk.mp3", model="whisper-tiny.en")
    assert wer(references()["jfk.mp3"][1], response.json()["text"]) < 0.10


def test_hotwords_spell_the_product_name(http: httpx.Client) -> None:
    plain = transcribe(http, "fw_hotwords.mp3").json()["text"]
    hinted = transcribe(http, "fw_hotwords.mp3", hotwords="ComfyUI").json()["text"]
    assert "ComfyUI" in hinted, (plain, hinted)


def test_silence_with_vad_is_empty(http: httpx.Client) -> None:
    silence = bytes(16_000 * 2 * 5)  # 5 s of 16-bit zeros
    response = http.post(
        "/v1/audio/transcriptions",
        files={"file": ("silence.pcm", silence)},
        data={"sample_rate": "16000", "vad_filter": "true"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["text"] == ""


def test_raw_pcm_upload(http: httpx.Client) -> None:
    import av

    with av.open(str(EVAL_DIR / "jfk.wav")) as container:
        pcm = b"".join(bytes(frame.planes[0]) for frame in container.decode(audio=0))
    response = http.post(
        "/v1/audio/transcriptions",
        files={"file": ("jfk.raw", pcm)},
        data={"sample_rate": "16000", "channels": "1"},
    )
    assert wer(references()["jfk.wav"][1], response.json()["text"]) < 0.05


@pytest.mark.parametrize(
    ("fmt", "media_type", "marker"),
    [
        ("text", "text/plain", "ask not"),
        ("srt", "text/plain", "00:00:00,000 --> "),
        ("vtt", "text/vtt", "WEBVTT"),
    ],
)
def test_text_formats(http: httpx.Client, fmt: str, media_type: str, marker: str) -> None:
    response = transcribe(http, "jfk.wav", response_format=fmt)
    assert response.headers["content-type"].startswith(media_type)
    assert marker in response.text
    spoken = [line for line in response.text.splitlines() if line and not _is_cue_line(line)]
    assert wer(references()["jfk.wav"][1], " ".join(spoken)) < 0.05


def _is_cue_line(line: str) -> bool:
    return line == "WEBVTT" or line.isdigit() or " --> " in line


def test_language_is_detected_after_leading_silence(http: httpx.Client) -> None:
    from vocalis.audio.decode import decode

    with (EVAL_DIR / "whats_your_name_french.wav").open("rb") as f:
        speech = decode(f, max_seconds=60)
    silence = np.zeros(16_000 * 15, dtype=np.float32)
    pcm = (np.concatenate([silence, speech]) * 32767).astype("<i2").tobytes()
    response = http.post(
        "/v1/audio/transcriptions",
        files={"file": ("late.raw", pcm)},
        data={"sample_rate": "16000", "response_format": "verbose_json"},
    )
    assert response.json()["language"] == "fr"
