"""`WS /ws/stt` end to end: a real server, the real model, a real WebSocket client."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.conftest import EVAL_DIR, LiveServer, wer
from tests.live_client import RATE, LiveStream, pcm16
from tests.recordings import _clips, wav_bytes
from vocalis.config import Settings
from vocalis.server.app import create_app

# (samples, reference) of the clips read without a long pause inside them.
Clip = tuple[np.ndarray, str]


@pytest.fixture(scope="module")
def clips() -> dict[str, Clip]:
    loaded = _clips(EVAL_DIR)
    return {"complaint": loaded[1], "lamp": loaded[2], "horizon": loaded[3], "hello": loaded[6]}


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)


def file_text(http: httpx.Client, samples: np.ndarray) -> str:
    response = http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav_bytes(samples))})
    assert response.status_code == 200, response.text
    return str(response.json()["text"])


@pytest.fixture
def stream(server: LiveServer) -> Iterator[LiveStream]:
    with LiveStream.open(server.url, language="en") as live:
        yield live
        live.ws.close()


def test_utterances_at_real_time_pace_come_back_one_by_one(
    server: LiveServer, http: httpx.Client, clips: dict[str, Clip]
) -> None:
    order = ["lamp", "horizon", "hello", "complaint"]
    audio = np.concatenate([part for name in order for part in (clips[name][0], silence(1.5))])
    with LiveStream.open(server.url, language="en") as live:
        live.send_audio(audio, pace=1.0)
        live.finish()

        texts = live.transcripts()
        assert len(texts) == 4, texts
        for name, text in zip(order, texts, strict=True):
            assert wer(clips[name][1], text) <= 0.2, (name, text)
        reference = " ".join(clips[name][1] for name in order)
        live_wer, file_wer = wer(reference, " ".join(texts)), wer(reference, file_text(http, audio))
        assert live_wer <= file_wer + 0.02, (live_wer, file_wer, texts)
        durations = [r.frame["duration"] for r in live.of_type("transcript")]
        assert all(0.5 < d < 7 for d in durations), durations
        assert all(r.frame["keep_open"] is True for r in live.of_type("transcript"))
        assert live.close_code == 1000


def test_faster_than_real_time_and_at_48_khz(server: LiveServer, clips: dict[str, Clip]) -> None:
    samples, reference = clips["complaint"]
    upsampled = np.interp(np.arange(len(samples) * 3) / 3, np.arange(len(samples)), samples)
    with LiveStream.open(server.url, sample_rate="48000") as live:
        live.send_audio(np.concatenate([upsampled, np.zeros(3 * RATE)]).astype(np.float32), pace=0)
        live.finish()
        assert wer(reference, " ".join(live.transcripts())) <= 0.1, live.frames


def test_partials_grow_while_speaking(server: LiveServer, clips: dict[str, Clip]) -> None:
    samples, _ = clips["complaint"]
    with LiveStream.open(server.url, language="en") as live:
        live.send_audio(np.concatenate([samples, silence(1.0)]), pace=1.0)
        live.finish()
        partials = [r.frame["text"] for r in live.of_type("partial")]
        assert partials, live.frames
        assert all(b.startswith(a) for a, b in itertools.pairwise(partials)), partials
        final = live.of_type("transcript")[0]
        assert all(r.at <= final.at for r in live.of_type("partial"))
        start = " ".join(final.frame["text"].split()[: len(partials[-1].split())])
        assert wer(partials[-1], start) <= 0.5


def test_no_partials_when_asked(server: LiveServer, clips: dict[str, Clip]) -> None:
    with LiveStream.open(server.url, partials="false") as live:
        live.send_audio(np.concatenate([clips["complaint"][0], silence(1.0)]), pace=0)
        live.finish()
        assert live.of_type("partial") == [] and len(live.transcripts()) == 1


def test_silence_alone_yields_no_transcript(stream: LiveStream) -> None:
    stream.send_audio(silence(4), pace=0)
    stream.finish()
    assert stream.frames == [] and stream.close_code == 1000


def test_flush_ends_a_command_and_close_answers_before_closing(
    stream: LiveStream, clips: dict[str, Clip]
) -> None:
    samples, reference = clips["lamp"]
    stream.send_audio(samples, pace=0)
    stream.send({"type": "flush"})
    first = stream.wait_for("transcript")[0].frame
    assert wer(reference, first["text"]) <= 0.2, first
    # Speech cut off mid-sentence by a close still gets its transcript before the close.
    stream.send_audio(clips["hello"][0], pace=0)
    stream.finish()
    assert wer(clips["hello"][1], stream.transcripts()[-1]) <= 0.5
    assert stream.close_code == 1000


def test_without_vad_only_a_flush_ends_an_utterance(
    server: LiveServer, clips: dict[str, Clip]
) -> None:
    with LiveStream.open(server.url, vad="false") as live:
        both = np.concatenate([clips["lamp"][0], silence(1.5), clips["hello"][0]])
        live.send_audio(both, pace=0)
        live.send({"type": "flush"})
        texts = [r.frame["text"] for r in live.wait_for("transcript")]
        live.finish()
        assert len(texts) == 1
        assert wer(clips["lamp"][1] + " " + clips["hello"][1], texts[0]) <= 0.2


def test_bad_frames_get_error_frames_and_the_connection_goes_on(
    stream: LiveStream, clips: dict[str, Clip]
) -> None:
    stream.send(b"\x01\x02\x03")
    stream.send("not json")
    stream.send({"type": "dance"})
    stream.send(json.dumps([1, 2]))
    errors = [r.frame["error"] for r in stream.wait_for("error", 4)]
    assert [e["code"] for e in errors] == [
        "invalid_audio",
        "invalid_json",
        "unknown_type",
        "invalid_json",
    ]
    assert "multiple of 2 bytes, got 3" in errors[0]["message"]
    assert "'dance'" in errors[2]["message"]
    assert all(e["type"] == "invalid_request_error" for e in errors)
    stream.send_audio(np.concatenate([clips["lamp"][0], silence(1)]), pace=0)
    stream.finish()
    assert wer(clips["lamp"][1], " ".join(stream.transcripts())) <= 0.2


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"sample_rate": "abc"}, "sample_rate"),
        ({"sample_rate": "1000"}, "sample_rate"),
        ({"language": "xx"}, "language"),
        ({"model": "nope"}, "model"),
        ({"partials": "maybe"}, "partials"),
    ],
)
def test_bad_query_is_refused_with_policy_close(
    server: LiveServer, query: dict[str, str], param: str
) -> None:
    with LiveStream.open(server.url, **query) as live:
        live.wait_closed()
        assert live.close_code == 1008
        assert [r.frame["error"]["param"] for r in live.frames] == [param]


def test_an_oversized_frame_closes_with_1009(server: LiveServer, http: httpx.Client) -> None:
    with LiveStream.open(server.url) as live:
        live.send(b"\x00" * (1024 * 1024 + 2))
        live.wait_closed()
        assert live.close_code == 1009 and "1024 KB" in live.close_reason
        assert http.get("/health").status_code == 200


def test_a_client_that_vanishes_mid_utterance_frees_its_session(
    server: LiveServer, clips: dict[str, Clip]
) -> None:
    with LiveStream.open(server.url) as live:
        live.send_audio(clips["complaint"][0][: 3 * RATE], pace=0)
        live.ws.socket.close()  # no close frame: the client is simply gone
    with LiveStream.open(server.url) as after:
        after.send_audio(np.concatenate([clips["lamp"][0], silence(1)]), pace=0)
        after.finish()
        assert wer(clips["lamp"][1], " ".join(after.transcripts())) <= 0.2


# -- limits that need their own settings: the app in-process, no model is loaded ---------


def local_app(**settings: object) -> TestClient:
    return TestClient(create_app(Settings(**settings)))  # type: ignore[arg-type]


def test_sessions_beyond_the_limit_are_refused() -> None:
    with local_app(max_live_sessions=1) as client, client.websocket_connect("/ws/stt") as first:
        first.send_bytes(pcm16(silence(0.1)))
        with client.websocket_connect("/ws/stt") as second:
            error = second.receive_json()
            with pytest.raises(WebSocketDisconnect) as closed:
                second.receive_json()
        assert error["error"]["code"] == "too_many_sessions", error
        assert "VOCALIS_MAX_LIVE_SESSIONS" in error["error"]["message"]
        assert closed.value.code == 1013


def test_an_idle_connection_is_closed() -> None:
    with local_app(live_idle_timeout=0.3) as client, client.websocket_connect("/ws/stt") as ws:
        error = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert error["error"]["code"] == "idle_timeout"
    assert closed.value.code == 1000
