"""Graceful shutdown with a real server process and real signals: SIGTERM drains, then exit 0."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EVAL_DIR, LiveServer, start_server, stop_server, wer
from tests.live_client import LiveStream
from tests.recordings import long, wav_bytes

DECODING = "Processing audio with duration"


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(tmp_path, VOCALIS_PRELOAD="true", VOCALIS_SHUTDOWN_GRACE="60")
    yield server
    if server.process.poll() is None:
        stop_server(server)


def transcribe_in_background(server: LiveServer, audio: bytes) -> tuple[threading.Thread, dict]:
    answer: dict[str, Any] = {}

    def post() -> None:
        with server.client(timeout=300) as http:
            try:
                answer["response"] = http.post(
                    "/v1/audio/transcriptions",
                    files={"file": ("long.wav", audio)},
                    data={"model": "whisper-base", "language": "en"},
                )
            except httpx.TransportError as exc:
                answer["error"] = exc

    thread = threading.Thread(target=post)
    thread.start()
    return thread, answer


def test_sigterm_finishes_running_work_refuses_new_and_exits_0(fresh_server: LiveServer) -> None:
    samples, text = long(EVAL_DIR, 1.0)
    thread, answer = transcribe_in_background(fresh_server, wav_bytes(samples))
    fresh_server.wait_for_log(DECODING)
    fresh_server.process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    with fresh_server.client(timeout=10) as http:
        ready = http.get("/ready")
        refused = http.post("/v1/audio/speech", json={"input": "Hello.", "voice": "alloy"})
        health = http.get("/health")
    assert ready.status_code == 503 and ready.json()["status"] == "draining"
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["error"]["code"] == "shutting_down"
    assert health.status_code == 200
    thread.join(timeout=300)
    response = answer["response"]
    assert response.status_code == 200, response.text
    assert wer(text, response.json()["text"]) < 0.05
    assert fresh_server.process.wait(timeout=30) == 0


def test_sigterm_answers_what_a_live_client_sent_then_closes_with_1001(
    fresh_server: LiveServer,
) -> None:
    speech, text = long(EVAL_DIR, 0.2)
    with LiveStream.open(fresh_server.url, partials="false") as stream:
        stream.send_audio(speech, pace=0)
        fresh_server.process.send_signal(signal.SIGTERM)
        stream.wait_closed(timeout=60)
    assert stream.close_code == 1001
    assert wer(text, " ".join(stream.transcripts())) < 0.15, stream.frames
    assert fresh_server.process.wait(timeout=30) == 0


def test_a_second_signal_exits_at_once(fresh_server: LiveServer) -> None:
    samples, _ = long(EVAL_DIR, 1.0)
    thread, _ = transcribe_in_background(fresh_server, wav_bytes(samples))
    fresh_server.wait_for_log(DECODING)
    fresh_server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    started = time.monotonic()
    fresh_server.process.send_signal(signal.SIGTERM)
    assert fresh_server.process.wait(timeout=15) == 1
    assert time.monotonic() - started < 2
    thread.join(timeout=30)


def test_an_idle_server_stops_at_once_and_then_refuses_connections(
    fresh_server: LiveServer,
) -> None:
    started = time.monotonic()
    fresh_server.process.send_signal(signal.SIGTERM)
    assert fresh_server.process.wait(timeout=30) == 0
    assert time.monotonic() - started < 5
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{fresh_server.url}/health", timeout=2)
