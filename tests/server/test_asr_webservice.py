"""whisper-asr-webservice's API driven exactly as Bazarr's `whisperai` provider drives it.

A `requests` session with Subliminal's User-Agent; raw s16le mono 16 kHz (what Bazarr's
ffmpeg makes of a film) in the multipart part `audio_file`, no part content type; first
`/detect-language?encode=false`, then `/asr?task=transcribe&language=en&output=srt&
encode=false`; a 5-s connect and 3,600-s read timeout. Bazarr keeps the body whatever the
status, so every error must be a 4xx, and the srt must parse strictly with pysrt.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import av
import numpy as np
import pysrt
import pytest
import requests

from tests.conftest import EVAL_DIR, LiveServer, references, start_server, stop_server, wer
from tests.recordings import RATE, long

TIMEOUT = (5, 3600)
JFK = references()["jfk.wav"][1]
FRENCH = "whats_your_name_french.wav"


def pcm(path: Path) -> bytes:
    """The clip as Bazarr's ffmpeg sends it: s16le, mono, 16 kHz, no header."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    with av.open(str(path)) as container:
        frames = [f for frame in container.decode(audio=0) for f in resampler.resample(frame)]
    frames += resampler.resample(None)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype("<i2").tobytes()


def to_pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="module")
def asr_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("asr-server"),
        VOCALIS_PRELOAD="true",
        VOCALIS_MAX_UPLOAD_MB="64",
        VOCALIS_MAX_CONCURRENT_JOBS="2",
    )
    yield live
    stop_server(live)


@pytest.fixture(scope="module")
def bazarr(asr_server: LiveServer) -> Iterator[requests.Session]:
    """Bazarr's session, as its provider's `initialize` makes it."""
    with requests.Session() as session:
        session.headers["User-Agent"] = "Subliminal/2.1"
        yield session


def post(
    session: requests.Session, server: LiveServer, path: str, audio: bytes, **params: Any
) -> requests.Response:
    return session.post(
        f"{server.url}{path}",
        params=params,
        files={"audio_file": ("audio_file", audio)},
        timeout=TIMEOUT,
    )


def check_cues(subs: pysrt.SubRipFile, seconds: float) -> None:
    """Readable subtitles: 42 characters a line, 2 lines, 1-7 s, none overlapping the next."""
    durations = []
    for cue, nxt in zip(subs, [*subs[1:], None], strict=True):
        lines = cue.text.splitlines()
        assert 1 <= len(lines) <= 2 and all(len(line) <= 42 for line in lines), cue.text
        duration = (cue.end.ordinal - cue.start.ordinal) / 1000
        assert 1.0 <= duration <= 7.0, (cue.index, duration)
        if nxt is not None:
            assert cue.end.ordinal <= nxt.start.ordinal, cue.index
        durations.append(duration)
    assert subs[-1].end.ordinal / 1000 <= seconds + 7
    speeds = [len(c.text.replace("\n", "")) / d for c, d in zip(subs, durations, strict=True)]
    assert statistics.median(speeds) <= 17, statistics.median(speeds)
    assert max(speeds) <= 25, max(speeds)


def detect(session: requests.Session, server: LiveServer, audio: bytes) -> tuple[float, Any]:
    started = time.monotonic()
    response = post(session, server, "/detect-language", audio, encode="false")
    assert response.status_code == 200, response.text
    return time.monotonic() - started, response.json()


def test_bazarr_subtitles_a_ten_minute_recording(
    bazarr: requests.Session, asr_server: LiveServer
) -> None:
    samples, reference = long(EVAL_DIR, 10)
    audio = to_pcm(samples)
    # Bazarr sends the whole track to learn its language; only the first 30 s are heard.
    with ThreadPoolExecutor(2) as pool:
        # Warm: both of the model's workers have run (the one free during the long job too).
        list(pool.map(lambda _: detect(bazarr, asr_server, audio), range(2)))
        idle = statistics.median(detect(bazarr, asr_server, audio)[0] for _ in range(3))
        pending = pool.submit(
            post,
            bazarr,
            asr_server,
            "/asr",
            audio,
            task="transcribe",
            language="en",
            output="srt",
            encode="false",
        )
        asr_server.wait_for_log(r'"event": "window".*"window": 1', timeout=300)
        seconds, body = detect(bazarr, asr_server, audio)
        response = pending.result()

    assert body == {
        "detected_language": "english",
        "language_code": "en",
        "confidence": body["confidence"],
    }
    assert 0.5 < body["confidence"] <= 1.0
    assert seconds <= idle + 1.5, f"{seconds:.2f} s while idle took {idle:.2f} s"
    assert response.status_code == 200, response.text
    assert response.headers["Asr-Engine"] == "faster_whisper"
    assert response.headers["Content-Disposition"] == 'attachment; filename="audio_file.srt"'
    subs = pysrt.from_string(response.text, error_handling=pysrt.ERROR_RAISE)
    assert [s.index for s in subs] == list(range(1, len(subs) + 1))
    check_cues(subs, len(samples) / RATE)
    assert wer(reference, subs.text.replace("\n", " ")) < 0.05
    assert len(subs) > 100


@pytest.mark.parametrize("output", ["txt", "vtt", "srt", "tsv", "json"])
def test_each_output_in_its_shape(
    bazarr: requests.Session, asr_server: LiveServer, output: str
) -> None:
    response = post(
        bazarr, asr_server, "/asr", pcm(EVAL_DIR / "jfk.wav"), output=output, encode="false"
    )
    assert response.status_code == 200, response.text
    assert response.headers["Asr-Engine"] == "faster_whisper"
    disposition = f'attachment; filename="audio_file.{output}"'
    assert response.headers["Content-Disposition"] == disposition
    text = response.text
    if output == "json":
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert list(body) == ["language", "segments", "text"] and body["language"] == "en"
        assert wer(JFK, body["text"]) < 0.05
        first = body["segments"][0]
        assert first["id"] == 1 and first["words"] is None
        assert {"seek", "start", "end", "tokens", "avg_logprob", "no_speech_prob"} <= set(first)
        return
    assert response.headers["Content-Type"].startswith("text/")
    if output == "txt":
        assert wer(JFK, text) < 0.05 and text.endswith("\n")
    elif output == "tsv":
        header, *rows = text.splitlines()
        assert header == "start\tend\ttext"
        assert all(r.split("\t")[0].isdigit() and r.split("\t")[1].isdigit() for r in rows)
        assert wer(JFK, " ".join(r.split("\t")[2] for r in rows)) < 0.05
    elif output == "vtt":
        assert text.startswith("WEBVTT\n\n00:00:0")
        assert (
            wer(JFK, " ".join(line for line in text.splitlines()[1:] if "-->" not in line)) < 0.05
        )
    else:
        subs = pysrt.from_string(text, error_handling=pysrt.ERROR_RAISE)
        check_cues(subs, 11.0)
        assert wer(JFK, subs.text.replace("\n", " ")) < 0.05
        assert len(subs) >= 2  # laid out: the one 11-s segment is too long for a cue


def test_an_encoded_upload_and_word_timestamps(
    bazarr: requests.Session, asr_server: LiveServer
) -> None:
    wav = (EVAL_DIR / "jfk.flac").read_bytes()
    response = post(bazarr, asr_server, "/asr", wav, output="json", word_timestamps="true")
    assert response.status_code == 200, response.text
    words = [w for s in response.json()["segments"] for w in s["words"]]
    assert wer(JFK, "".join(w["word"] for w in words)) < 0.05
    assert words[0]["start"] < 1.0 and 9.0 < words[-1]["end"] <= 11.1


def test_french_is_detected_and_translated(
    bazarr: requests.Session, asr_server: LiveServer
) -> None:
    audio = pcm(EVAL_DIR / FRENCH)
    body = detect(bazarr, asr_server, audio)[1]
    assert (body["detected_language"], body["language_code"]) == ("french", "fr")
    response = post(
        bazarr,
        asr_server,
        "/asr",
        audio,
        task="translate",
        language="fr",
        output="srt",
        encode="false",
        video_file="/movies/Amélie (2001).mkv",  # Bazarr may send it; it is ignored
    )
    assert response.status_code == 200, response.text
    text = pysrt.from_string(response.text, error_handling=pysrt.ERROR_RAISE).text.lower()
    assert "you" in text and ("name" in text or "call" in text), text


@pytest.mark.parametrize(
    ("path", "params", "files", "param"),
    [
        ("/asr", {"output": "docx", "encode": "false"}, "jfk", "output"),
        ("/asr", {"task": "summarise", "encode": "false"}, "jfk", "task"),
        ("/asr", {"language": "klingon", "encode": "false"}, "jfk", "language"),
        ("/asr", {"encode": "maybe"}, "jfk", "encode"),
        ("/asr", {"output": "srt", "encode": "false"}, "empty", "file"),
        ("/asr", {"output": "srt"}, "garbage", "file"),
        ("/asr", {"output": "srt", "encode": "false"}, "odd", "file"),
        ("/asr", {"output": "srt"}, None, "audio_file"),
        ("/detect-language", {"encode": "false"}, "empty", "file"),
        ("/detect-language", {}, "garbage", "file"),
        ("/detect-language", {}, None, "audio_file"),
    ],
)
def test_errors_are_4xx_never_a_subtitle(
    bazarr: requests.Session,
    asr_server: LiveServer,
    path: str,
    params: dict[str, str],
    files: str | None,
    param: str,
) -> None:
    bodies = {
        "jfk": pcm(EVAL_DIR / "jfk.wav")[:32000],
        "empty": b"",
        "garbage": b"this is not audio at all" * 100,
        "odd": b"\x01\x02\x03",
    }
    upload = {"audio_file": ("audio_file", bodies[files])} if files else None
    response = bazarr.post(
        f"{asr_server.url}{path}",
        params=params,
        files=upload,
        data={} if upload else {"x": "1"},
        timeout=TIMEOUT,
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == param, error
    with pytest.raises(pysrt.Error):
        pysrt.from_string(response.text, error_handling=pysrt.ERROR_RAISE)
