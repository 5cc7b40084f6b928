"""Work stops when nobody is waiting: CPU a server spends after its client hangs up."""

from __future__ import annotations

import json
import socket
import statistics
import time

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.conftest import EVAL_DIR, LiveServer, wer
from tests.recordings import long, wav_bytes

# A long reply: Kokoro needs many seconds of CPU for it on two cores.
TEXT = " ".join(
    f"Sentence number {n} of this long reply goes on for a while, with a clause or two."
    for n in range(1, 41)
)
SPEECH = "/v1/audio/speech"


def speak_and_hang_up(
    server: LiveServer, body: dict[str, object], wait_for_audio: bool, path: str = SPEECH
) -> None:
    """POST JSON to `path` by hand, then close the socket: at the first audio, or after 1 s."""
    payload = json.dumps(body).encode()
    port = int(server.url.rsplit(":", 1)[1])
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
        f"\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(head + payload)
        if wait_for_audio:
            assert conn.recv(4096).startswith(b"HTTP/1.1 200")
        else:
            time.sleep(1.0)  # the engine is busy with the whole text by now


@pytest.mark.parametrize(
    ("path", "body", "wait_for_audio"),
    [
        (SPEECH, {"voice": "af_heart", "response_format": "pcm"}, True),
        (SPEECH, {"voice": "af_heart", "response_format": "wav", "stream": False}, False),
        (SPEECH, {"voice": "en_US-joe-medium", "response_format": "mp3", "stream": False}, False),
        ("/tts", {"text": TEXT, "voice": "af_heart"}, False),  # the seed's: a whole WAV
    ],
    ids=["kokoro-streamed", "kokoro-whole", "piper-whole", "seed-tts"],
)  # fmt: skip
def test_speech_stops_within_its_piece_when_the_client_goes(
    server: LiveServer, path: str, body: dict[str, object], wait_for_audio: bool
) -> None:
    speak_and_hang_up(server, {"input": TEXT, **body}, wait_for_audio, path)
    gone = server.cpu_seconds()
    time.sleep(2.0)
    burned = server.cpu_seconds() - gone
    assert burned < 0.5, f"{burned:.2f} s of CPU after the client left"
    with server.client() as http:  # and the slot is free again
        assert http.post("/v1/audio/speech", json={"input": "Hi.", "voice": "alloy"}).content


@pytest.mark.parametrize("how", ["hang-up", "cancel"])
def test_live_speech_stops_within_its_piece_when_the_client_goes_or_cancels(
    server: LiveServer, how: str
) -> None:
    burned = live_speech_cpu_after(server, how)
    assert burned < 0.5, f"{burned:.2f} s of CPU after the {how}"


def live_speech_cpu_after(server: LiveServer, how: str) -> float:
    """The CPU after a /ws/tts client hangs up or cancels while Kokoro speaks TEXT (long
    pieces); after a cancel, the connection must speak its next request whole."""
    url = server.url.replace("http://", "ws://") + "/ws/tts"
    with connect(url) as conn:
        conn.send(json.dumps({"text": TEXT, "voice": "af_heart"}))
        while not isinstance(conn.recv(timeout=60), bytes):
            pass
        if how == "cancel":
            conn.send(json.dumps({"type": "cancel"}))
            burned = cpu_until_idle(server)
            assert until_end(conn)[1] == {"type": "end", "cancelled": True}
            conn.send(json.dumps({"text": "Still here.", "voice": "af_heart"}))
            audio, end = until_end(conn)
            assert end == {"type": "end"} and audio > 24_000  # 0.5 s of 24-kHz s16le
            return burned
    return cpu_until_idle(server)


def until_end(conn: ClientConnection) -> tuple[int, dict[str, object]]:
    """The bytes of audio up to the next end frame, and that frame."""
    audio = 0
    while isinstance(frame := conn.recv(timeout=60), bytes) or '"end"' not in frame:
        audio += len(frame) if isinstance(frame, bytes) else 0
    return audio, json.loads(frame)


def cpu_until_idle(server: LiveServer) -> float:
    """The server's CPU from now until it is idle again."""
    gone = server.cpu_seconds()
    return server.settle(timeout=10) - gone


@pytest.mark.parametrize("fields", [{}, {"stream": "true"}], ids=["whole", "server-sent-events"])
def test_a_transcription_stops_at_its_next_engine_call_when_the_client_goes(
    server: LiveServer, fields: dict[str, str]
) -> None:
    samples, _ = long(EVAL_DIR, 0.75)  # 45 s: two of Whisper's 30-s chunks and more
    files = {"file": ("talk.wav", wav_bytes(samples))}
    full = transcription_cpu(server, files)  # 2-3 s of CPU here
    delays = (0.25, 0.45, 0.65, 0.85, 1.05, 1.25)
    burned = [cpu_after_hang_up(server, files, delay, fields) for delay in delays]
    # What goes on is the rest of the engine call under way when the hang-up is seen: little
    # after a decode, at most a 30-s chunk's encode (0.6-0.8 s of CPU here).
    assert statistics.mean(burned) < 0.25 * full, f"{burned} s of CPU after, {full:.2f} s whole"
    assert max(burned) < 0.5 * full, f"{burned} s of CPU after, {full:.2f} s whole"


def cpu_after_hang_up(
    server: LiveServer,
    files: dict[str, tuple[str, bytes]],
    delay: float,
    fields: dict[str, str] | None = None,
) -> float:
    """CPU the server spends between a hang-up `delay` s into a transcription and its job's end."""
    with server.hanging_up("/v1/audio/transcriptions", files, fields):
        time.sleep(delay)
    return round(cpu_until_idle(server), 2)


def transcription_cpu(server: LiveServer, files: dict[str, tuple[str, bytes]]) -> float:
    """CPU of the same transcription seen through to its end."""
    before = server.cpu_seconds()
    with server.client() as http:
        assert http.post("/v1/audio/transcriptions", files=files).json()["text"]
    return server.cpu_seconds() - before


def test_an_upload_cut_off_midway_costs_nothing_and_holds_no_slot(server: LiveServer) -> None:
    samples, text = long(EVAL_DIR, 0.5)
    body = wav_bytes(samples)
    boundary = "cutoff"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    total = len(head) + len(body) + len(f"\r\n--{boundary}--\r\n")
    request = (
        "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {total}\r\n\r\n"
    ).encode()
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(request + head + body[: len(body) // 3])
        time.sleep(0.3)
    gone = server.cpu_seconds()
    time.sleep(2.0)
    assert server.cpu_seconds() - gone < 0.5
    with server.client() as http:
        assert http.get("/metrics").text.count("vocalis_jobs_running 0.0") == 1
        answer = http.post("/v1/audio/transcriptions", files={"file": ("a.wav", body)})
    assert wer(text, answer.json()["text"]) < 0.1
