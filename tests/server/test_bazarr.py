"""The Voice Stack seed's Bazarr endpoints and verbose transcriptions, and `subtitle_layout`
on the OpenAI route, against the session's live server with the real models."""

from __future__ import annotations

import json

import httpx
import pysrt
import pytest

from tests.conftest import EVAL_DIR, references, wer

JFK = references()["jfk.wav"][1]


def bazarr_asr(http: httpx.Client, name: str = "jfk.wav", **data: str) -> httpx.Response:
    with (EVAL_DIR / name).open("rb") as f:
        return http.post("/bazarr/asr", files={"file": (name, f)}, data=data)


def test_srt_by_default_laid_out(http: httpx.Client) -> None:
    response = bazarr_asr(http, language="en")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Disposition"] == 'attachment; filename="jfk.wav.srt"'
    subs = pysrt.from_string(response.text, error_handling=pysrt.ERROR_RAISE)
    assert len(subs) >= 2
    assert all(len(line) <= 42 for s in subs for line in s.text.splitlines())
    assert wer(JFK, subs.text.replace("\n", " ")) < 0.05


@pytest.mark.parametrize("output", ["json", "vtt", "txt", "tsv", "jsonl"])
def test_each_output(http: httpx.Client, output: str) -> None:
    response = bazarr_asr(http, output=output)
    assert response.status_code == 200, response.text
    if output == "json":
        body = response.json()
        assert body["language"] == "en" and wer(JFK, body["text"]) < 0.05
    elif output == "jsonl":
        lines = [json.loads(line) for line in response.text.splitlines()]
        assert [line["id"] for line in lines] == list(range(1, len(lines) + 1))
        assert wer(JFK, "".join(line["text"] for line in lines)) < 0.05
    elif output == "vtt":
        assert response.text.startswith("WEBVTT\n\n")
    elif output == "tsv":
        assert response.text.startswith("start\tend\ttext\n")
    else:
        assert wer(JFK, response.text) < 0.05


def test_detect_language_and_models(http: httpx.Client) -> None:
    with (EVAL_DIR / "whats_your_name_french.wav").open("rb") as f:
        response = http.post("/bazarr/detect-language", files={"file": f})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["language_code"] == "fr" and body["detected_language"] == "french"
    assert 0 < body["confidence"] <= 1
    models = http.get("/bazarr/models").json()
    ids = [m["id"] for m in models["models"]]
    assert models["default"] == "whisper-base" and "whisper-tiny.en" in ids
    tiny = next(m for m in models["models"] if m["id"] == "whisper-tiny.en")
    assert tiny["languages"] == ["en"] and not tiny["multilingual"]


@pytest.mark.parametrize(
    ("data", "param"),
    [({"output": "pdf"}, "output"), ({"task": "translate", "model": "whisper-tiny.en"}, "model")],
)
def test_bad_requests_are_4xx(http: httpx.Client, data: dict[str, str], param: str) -> None:
    response = bazarr_asr(http, **data)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    response = http.post("/bazarr/asr", data={"output": "srt"})
    assert response.status_code == 400 and response.json()["error"]["param"] == "file"


def test_verbose_transcriptions_default_to_verbose_json(http: httpx.Client) -> None:
    with (EVAL_DIR / "jfk.wav").open("rb") as f:
        response = http.post("/v1/audio/transcriptions/verbose", files={"file": f})
    body = response.json()
    assert body["task"] == "transcribe" and body["language"] == "en"
    assert body["duration"] == pytest.approx(11.0, abs=0.1) and body["segments"]
    assert wer(JFK, body["text"]) < 0.05
    with (EVAL_DIR / "jfk.wav").open("rb") as f:
        response = http.post(
            "/v1/audio/transcriptions/verbose", files={"file": f}, data={"response_format": "text"}
        )
    assert wer(JFK, response.text) < 0.05


def test_subtitle_layout_is_an_option_on_openai_transcriptions(http: httpx.Client) -> None:
    wav, reference, seconds = (EVAL_DIR / "jfk.wav").read_bytes(), JFK, 11.0
    raw = http.post(
        "/v1/audio/transcriptions", files={"file": ("a.wav", wav)}, data={"response_format": "srt"}
    )
    laid = http.post(
        "/v1/audio/transcriptions",
        files={"file": ("a.wav", wav)},
        data={"response_format": "srt", "subtitle_layout": "true"},
    )
    plain = pysrt.from_string(raw.text, error_handling=pysrt.ERROR_RAISE)
    subs = pysrt.from_string(laid.text, error_handling=pysrt.ERROR_RAISE)
    # Raw segments stay the default: one cue a segment, here one of 107 characters.
    assert len(plain) == 1 and len(plain[0].text) > 84
    assert len(subs) > len(plain)
    for cue, nxt in zip(subs, [*subs[1:], None], strict=True):
        assert all(len(line) <= 42 for line in cue.text.splitlines()) and cue.text.count("\n") <= 1
        assert 1000 <= cue.end.ordinal - cue.start.ordinal <= 7000
        assert nxt is None or cue.end.ordinal <= nxt.start.ordinal
    assert subs[-1].end.ordinal / 1000 <= seconds + 1
    assert wer(reference, subs.text.replace("\n", " ")) < 0.05
