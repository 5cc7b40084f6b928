"""WS /ws/chat end to end: speech in as PCM frames, each utterance the live core ends goes to
a real local LLM server, and its reply comes back as text deltas and audio, with the
conversation kept per connection and mistakes answered with error frames."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import numpy as np
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.chat.servers import ChatServer
from tests.chat.servers import chat_server as chat_server  # the shared fixture
from tests.conftest import EVAL_DIR, references, wer
from tests.live_client import pcm16
from tests.recordings import _load
from vocalis.audio.encode import wav_header

REPLY = "Okay, **turning on** the living room light now. Anything else?"
SECOND = "The weather is sunny today."


@pytest.fixture
def chat(chat_server: ChatServer) -> ChatServer:
    chat_server.llm.reset(REPLY, token_delay=0.03)
    return chat_server


def open_chat(chat: ChatServer) -> ClientConnection:
    url = chat.server.url.replace("http://", "ws://") + "/ws/chat?language=en&model=piper"
    return connect(url, open_timeout=10, max_size=None)


def until_end(conn: ClientConnection) -> tuple[list[dict[str, Any]], bytes]:
    """Frames up to the reply's end frame: (the text frames, the audio)."""
    frames: list[dict[str, Any]] = []
    audio = bytearray()
    deadline = time.monotonic() + 60
    while True:
        frame = conn.recv(timeout=deadline - time.monotonic())
        if isinstance(frame, bytes):
            audio += frame
            continue
        frames.append(json.loads(frame))
        if frames[-1]["type"] in ("end", "error"):
            return frames, bytes(audio)


def heard(chat: ChatServer, pcm: bytes, rate: int) -> str:
    with chat.server.client() as http:
        response = http.post(
            "/v1/audio/transcriptions", files={"file": ("r.wav", wav_header(rate, len(pcm)) + pcm)}
        )
    assert response.status_code == 200, response.text
    return str(response.json()["text"])


def test_a_spoken_turn_is_answered_aloud_and_remembered(chat: ChatServer) -> None:
    name = "living_room_light_en.wav"
    speech = np.concatenate([_load(EVAL_DIR / name, None), np.zeros(16_000, dtype=np.float32)])
    with open_chat(chat) as conn:
        for start in range(0, len(speech), 1600):  # 100-ms frames, faster than real time
            conn.send(pcm16(speech[start : start + 1600]))
        frames, audio = until_end(conn)
        kinds = [f["type"] for f in frames]
        assert kinds[0] == "transcript" and kinds[1] == "start" and kinds[-1] == "end", kinds
        transcript = frames[0]["text"]
        assert wer(references()[name][1], transcript) <= 0.2, transcript
        assert chat.llm.requests[-1].user_text == transcript
        deltas = "".join(f["delta"] for f in frames if f["type"] == "reply.delta")
        assert deltas == frames[-1]["text"] == REPLY
        rate = frames[1]["sample_rate"]
        said = heard(chat, audio, rate)
        assert wer("Okay, turning on the living room light now. Anything else?", said) <= 0.2
        assert "asterisk" not in said.lower()

        chat.llm.reset(SECOND, token_delay=0.0)
        conn.send(json.dumps({"type": "text", "text": "And the weather?"}))
        frames, audio = until_end(conn)
        assert frames[-1] == {"type": "end", "text": SECOND}
        assert chat.llm.requests[-1].body["messages"][1:] == [
            {"role": "user", "content": transcript},
            {"role": "assistant", "content": REPLY},
            {"role": "user", "content": "And the weather?"},
        ]
        assert len(audio) / 2 / rate > 1.0


def test_a_new_turn_cuts_in_and_reset_forgets(chat: ChatServer) -> None:
    chat.llm.reset("One two three four five six seven eight nine ten. " * 4, token_delay=0.1)
    with open_chat(chat) as conn:
        conn.send(json.dumps({"type": "text", "text": "Count."}))
        assert json.loads(conn.recv(timeout=10))["type"] == "start"
        conn.send(json.dumps({"type": "cancel"}))
        frames, _ = until_end(conn)
        assert frames[-1] == {"type": "end", "cancelled": True}
        chat.llm.reset("Fine.", token_delay=0.0)
        conn.send(json.dumps({"type": "reset"}))
        conn.send(json.dumps({"type": "text", "text": "Hello."}))
        frames, _ = until_end(conn)
        assert frames[-1]["text"] == "Fine."
        assert [m["role"] for m in chat.llm.requests[-1].body["messages"]] == ["system", "user"]


def test_bad_frames_get_error_frames_and_the_connection_goes_on(chat: ChatServer) -> None:
    chat.llm.reset("Yes.", token_delay=0.0)
    with open_chat(chat) as conn:
        for bad, code in [
            ("{nope", "invalid_json"),
            (json.dumps({"type": "dance"}), "unknown_type"),
            (json.dumps({"type": "text", "text": " "}), "invalid_value"),
            (b"\x01", "invalid_audio"),  # an odd number of bytes is no PCM16
        ]:
            conn.send(bad)
            frame = json.loads(conn.recv(timeout=10))
            assert frame["type"] == "error" and frame["error"]["code"] == code, frame
        chat.llm.faults.append(("status", 404))
        conn.send(json.dumps({"type": "text", "text": "Hi."}))
        frame = json.loads(conn.recv(timeout=10))
        assert frame["type"] == "error" and frame["error"]["code"] == "llm_error"
        conn.send(json.dumps({"type": "text", "text": "Hi again."}))
        frames, audio = until_end(conn)
        assert frames[-1]["text"] == "Yes." and audio


def test_a_bad_query_is_refused_with_an_error_frame(chat: ChatServer) -> None:
    url = chat.server.url.replace("http://", "ws://") + "/ws/chat?voice=nobody"
    with connect(url, open_timeout=10) as conn:
        frame = json.loads(conn.recv(timeout=10))
        assert frame["type"] == "error" and frame["error"]["param"] == "voice"
    with httpx.Client(base_url=chat.server.url) as http:  # and the server serves on
        assert http.get("/health").status_code == 200
