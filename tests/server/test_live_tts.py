"""WS /ws/tts with the real engines and a real WebSocket client: what is said comes back as the
same words, incremental text starts speaking before it has all arrived, cancel stops at once,
and a client's mistake gets an error frame on a connection that goes on serving."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import LiveServer, start_server, stop_server, wer
from vocalis.audio.encode import wav_header

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please turn on the kitchen lights at seven in the evening.",
    "Tomorrow we will walk along the river to the old mill.",
]
TEXT = " ".join(SENTENCES)
LONG = " ".join(f"This is sentence number {n}, spoken one after another." for n in range(1, 31))
RATES = {"piper": 22_050, "kokoro": 24_000}


@dataclass
class Spoken:
    """One request's answer: its start frame, audio, end frame and any frames in between."""

    start: dict[str, Any] | None
    pcm: bytes
    end: dict[str, Any]
    others: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        assert self.start is not None
        return len(self.pcm) / 2 / self.start["sample_rate"]


def ws(server: LiveServer) -> ClientConnection:
    return connect(server.url.replace("http://", "ws://") + "/ws/tts", open_timeout=10)


def send(conn: ClientConnection, **message: Any) -> None:
    conn.send(json.dumps(message))


def receive(
    conn: ClientConnection, start: dict[str, Any] | None = None, pcm: bytes = b""
) -> Spoken:
    """Frames until the request's end frame (after `start` and `pcm`, when those came already)."""
    audio = bytearray(pcm)
    others: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while True:
        frame = conn.recv(timeout=deadline - time.monotonic())
        if isinstance(frame, bytes):
            assert start is not None, "audio before the start frame"
            audio += frame
            continue
        message = json.loads(frame)
        if message["type"] == "start":
            assert start is None and not audio
            start = message
        elif message["type"] == "end":
            return Spoken(start, bytes(audio), message, others)
        else:
            others.append(message)


def heard(http: httpx.Client, spoken: Spoken) -> str:
    """The audio transcribed back by the server's own POST /v1/audio/transcriptions."""
    assert spoken.start is not None
    wav = wav_header(spoken.start["sample_rate"], len(spoken.pcm)) + spoken.pcm
    response = http.post(
        "/v1/audio/transcriptions",
        files={"file": ("speech.wav", wav)},
        data={"model": "whisper-base", "language": "en"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["text"])


def quiet(conn: ClientConnection, seconds: float) -> bool:
    """True when nothing arrives for `seconds`."""
    try:
        conn.recv(timeout=seconds)
    except TimeoutError:
        return True
    return False


def test_requests_one_after_another_are_said_right(server: LiveServer, http: httpx.Client) -> None:
    requests = [
        (TEXT, {"model": "piper"}, "piper"),
        (SENTENCES[0], {"model": "kokoro", "voice": "af_heart"}, "kokoro"),
        (SENTENCES[2], {"voice": "en_US-joe-medium", "speed": 1.2}, "piper"),
    ]
    with ws(server) as conn:
        for text, options, engine in requests:
            send(conn, text=text, **options)
            spoken = receive(conn)
            rate = RATES[engine]
            start = {"type": "start", "sample_rate": rate, "channels": 1, "format": "s16le"}
            assert spoken.start == start
            assert spoken.end == {"type": "end"} and not spoken.others
            assert len(text) / 25 < spoken.seconds < len(text) / 8
            assert wer(text, heard(http, spoken)) <= 0.10


WORDS = {"piper": TEXT, "kokoro": " ".join(SENTENCES[:2])}


@pytest.mark.parametrize(
    ("engine", "last"), [("piper", {"flush": True}), ("kokoro", {"type": "end"})]
)
def test_text_word_by_word_starts_speaking_before_it_is_all_sent(
    server: LiveServer, http: httpx.Client, engine: str, last: dict[str, Any]
) -> None:
    *words, last_word = WORDS[engine].split(" ")
    heard_audio, sent_last_word = threading.Event(), threading.Event()

    def type_words(conn: ClientConnection) -> None:
        for i, word in enumerate(words):
            time.sleep(0.05)  # about an LLM's pace
            send(conn, text=word if i == 0 else " " + word, flush=False, model=engine)
        # The server cannot know that more is coming; on a busy machine its first audio may
        # need a while, so the last word waits for it (at most 10 s).
        heard_audio.wait(10)
        sent_last_word.set()
        send(conn, text=" " + last_word, flush=False)
        send(conn, **last)

    with ws(server) as conn:
        typist = threading.Thread(target=type_words, args=(conn,))
        typist.start()
        start = json.loads(conn.recv(timeout=30))
        first = conn.recv(timeout=30)
        audio_before_the_end = not sent_last_word.is_set()
        heard_audio.set()
        assert isinstance(first, bytes)
        spoken = receive(conn, start, first)
        typist.join()
    assert spoken.start is not None and spoken.start["sample_rate"] == RATES[engine]
    assert audio_before_the_end
    assert spoken.end == {"type": "end"}
    text = WORDS[engine]
    assert len(text) / 25 < spoken.seconds < len(text) / 8
    assert wer(text, heard(http, spoken)) <= 0.10


def test_cancel_stops_at_once_and_the_next_request_works(
    server: LiveServer, http: httpx.Client
) -> None:
    stopped = server.log_text().count("speech stopped after")
    with ws(server) as conn:
        send(conn, text=LONG, model="piper")
        start = json.loads(conn.recv(timeout=30))
        assert start["type"] == "start" and isinstance(conn.recv(timeout=30), bytes)
        cancelled_at = time.monotonic()
        send(conn, type="cancel")
        late = receive(conn, start)  # frames already on their way, then the end
        assert time.monotonic() - cancelled_at < 1.0
        assert late.end == {"type": "end", "cancelled": True}
        assert late.seconds < 10  # of LONG's two minutes
        assert quiet(conn, 1.0)  # not a frame more of it
        server.wait_for_log("speech stopped after", timeout=10, count=stopped + 1)
        send(conn, type="cancel")  # nothing to cancel: no answer
        assert quiet(conn, 0.3)
        send(conn, text=SENTENCES[0], model="piper")
        spoken = receive(conn)
    assert spoken.end == {"type": "end"}
    assert wer(SENTENCES[0], heard(http, spoken)) <= 0.10


def test_a_new_request_replaces_the_one_speaking(server: LiveServer, http: httpx.Client) -> None:
    with ws(server) as conn:
        send(conn, text=LONG, model="piper")
        start = json.loads(conn.recv(timeout=30))
        assert start["type"] == "start" and isinstance(conn.recv(timeout=30), bytes)
        send(conn, text=SENTENCES[1], model="piper")
        assert receive(conn, start).end == {"type": "end", "cancelled": True}
        spoken = receive(conn)
    assert spoken.start == start and spoken.end == {"type": "end"}
    assert wer(SENTENCES[1], heard(http, spoken)) <= 0.10  # none of the first request in it


def error(
    message: str, code: str | None = "invalid_value", param: str | None = None
) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {
            "message": message,
            "type": "invalid_request_error",
            "code": code,
            "param": param,
        },
    }


def json_error(text: str) -> str:
    try:
        json.loads(text)
    except ValueError as exc:
        return f"The message is not valid JSON: {exc}."
    raise AssertionError(text)


BAD_FRAMES: list[tuple[str | bytes, dict[str, Any]]] = [
    ("{not json", error(json_error("{not json"), "invalid_json")),
    ("[1, 2]", error("A message must be a JSON object.", "invalid_json")),
    (
        '{"type": "speak", "text": "Hi."}',
        error(
            "Unknown message type \"speak\": expected 'cancel' or 'end', or no type for text "
            "to speak.",
            "unknown_type",
            "type",
        ),
    ),
    ('{"voice": "alloy"}', error("Missing required parameter: 'text'.", param="text")),
    ('{"text": "  "}', error("The text is empty.", param="text")),
    (
        '{"text": 5}',
        error("Invalid value for 'text': Input should be a valid string.", param="text"),
    ),
    (
        '{"text": "Hi.", "flush": "maybe"}',
        error(
            "Invalid value for 'flush': Input should be a valid boolean, unable to interpret "
            "input.",
            param="flush",
        ),
    ),
    (
        b"\x00\x01\x02\x03",
        error("Binary frames are not accepted: send JSON text frames.", "unsupported_frame"),
    ),
]


@pytest.mark.parametrize(("frame", "expected"), BAD_FRAMES)
def test_a_bad_frame_gets_its_error_and_the_connection_goes_on(
    server: LiveServer, frame: str | bytes, expected: dict[str, Any]
) -> None:
    with ws(server) as conn:
        conn.send(frame)
        assert json.loads(conn.recv(timeout=10)) == expected
        send(conn, text="Yes.", model="piper")
        spoken = receive(conn)
    assert spoken.end == {"type": "end"} and spoken.seconds > 0.2


# The same fields as POST /v1/audio/speech give the same errors, word for word.
BAD_OPTIONS: list[dict[str, Any]] = [
    {"voice": "nobody"},
    {"model": "piper", "voice": "af_heart"},
    {"model": "whisper-base"},
    {"model": "no-such-model"},
    {"speed": 9},
    {"speed": 0.1},
    {"model": "kokoro", "voice": "af_heart", "language": "de"},
]


@pytest.mark.parametrize("options", BAD_OPTIONS)
def test_bad_options_get_the_http_routes_error(
    server: LiveServer, http: httpx.Client, options: dict[str, Any]
) -> None:
    response = http.post("/v1/audio/speech", json={"input": "Hi.", **options})
    assert 400 <= response.status_code < 500
    with ws(server) as conn:
        send(conn, text="Hi.", **options)
        assert json.loads(conn.recv(timeout=10)) == {"type": "error", **response.json()}
        send(conn, text="Hi.", flush=False, **options)  # opening an incremental request too
        assert json.loads(conn.recv(timeout=10)) == {"type": "error", **response.json()}
        send(conn, text="Yes.")
        assert receive(conn).end == {"type": "end"}


def test_a_bad_frame_while_speaking_leaves_the_request_alone(server: LiveServer) -> None:
    with ws(server) as conn:
        send(conn, text=TEXT, model="piper")
        send(conn, text="Hi.", voice="nobody")
        conn.send(b"\x00")
        spoken = receive(conn)
    assert spoken.end == {"type": "end"} and spoken.seconds > 3
    assert [e["error"]["param"] for e in spoken.others] == ["voice", None]


@pytest.mark.parametrize("frame", ["x" * (1024 * 1024 + 1), b"\x00" * (1024 * 1024 + 1)])
def test_an_oversized_frame_closes_with_1009(server: LiveServer, frame: str | bytes) -> None:
    with ws(server) as conn:
        conn.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            conn.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    with ws(server) as conn:  # the server goes on
        send(conn, text="Yes.", model="piper")
        assert receive(conn).end == {"type": "end"}


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that closes live connections after 1 s idle and holds two at most (and loads
    no model: none is used)."""
    live = start_server(
        tmp_path_factory.mktemp("impatient"),
        VOCALIS_LIVE_IDLE_TIMEOUT="1",
        VOCALIS_MAX_LIVE_SESSIONS="2",
    )
    yield live
    stop_server(live)


def test_an_idle_connection_is_closed(impatient: LiveServer) -> None:
    with ws(impatient) as conn:
        opened = time.monotonic()
        for _ in range(4):  # a message now and then keeps it open
            time.sleep(0.5)
            send(conn, type="cancel")
        idle = json.loads(conn.recv(timeout=5))
        with pytest.raises(ConnectionClosed) as closed:
            conn.recv(timeout=5)
    assert 2.9 < time.monotonic() - opened < 5
    assert idle == error("Closed after 1 s without a message or audio.", "idle_timeout")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000


def test_connections_beyond_the_live_session_cap_are_refused(impatient: LiveServer) -> None:
    with ws(impatient) as first, ws(impatient) as second:
        send(first, type="cancel")
        send(second, type="cancel")
        with ws(impatient) as third:
            refused = json.loads(third.recv(timeout=5))
            with pytest.raises(ConnectionClosed) as closed:
                third.recv(timeout=5)
    assert refused["type"] == "error" and refused["error"]["code"] == "too_many_sessions"
    assert refused["error"]["type"] == "rate_limit_error"
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
    with ws(impatient) as conn:  # a place is free again
        send(conn, type="cancel")
        assert quiet(conn, 0.3)
