"""`WS /v1/realtime` transcription sessions, driven by the official SDK's GA and beta clients.

The SDK builds its event objects without validating them (realtime parsing is loose, so
`_strict_response_validation` does not apply); every frame here is also validated strictly
against the SDK's type for its `type`, so a missing or mistyped field fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import random
import time
import wave
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import av
import httpx
import numpy as np
import pytest
from openai import AsyncOpenAI
from openai.types.beta.realtime import realtime_server_event as beta_events
from openai.types.beta.realtime.transcription_session import TranscriptionSession
from openai.types.realtime import realtime_server_event as ga_events
from pydantic import BaseModel
from websockets.exceptions import ConnectionClosed

from tests.conftest import EVAL_DIR, LiveServer, references, start_server, stop_server, wer
from vocalis.server.realtime import events as wire
from vocalis.server.realtime.session import Settings, Vad, update_beta, update_ga

RATE = 24_000
CHUNK = 4_800  # bytes: 100 ms
JFK = references()["jfk.wav"][1]
LAMP = references()["turn_on_the_living_room_lamp.wav"][1]
COMPLAINT, HORIZON = references()["fw_stereo_diarization.wav"][1].split(" | ")
LIGHT = references()["living_room_light_en.wav"][1]


def _types(union: Any) -> dict[str, type[BaseModel]]:
    classes = get_args(get_args(union)[0])
    return {get_args(cls.model_fields["type"].annotation)[0]: cls for cls in classes}


GA_TYPES = _types(ga_events.RealtimeServerEvent)
BETA_TYPES = _types(beta_events.RealtimeServerEvent)


def load(name: str, channel: int | None = None) -> bytes:
    """A public clip as PCM16 mono at 24 kHz."""
    resampler = av.AudioResampler(
        format="s16p", layout="mono" if channel is None else "stereo", rate=RATE
    )
    with av.open(str(EVAL_DIR / name)) as container:
        frames = [
            f.to_ndarray() for fr in container.decode(audio=0) for f in resampler.resample(fr)
        ]
    frames += [f.to_ndarray() for f in resampler.resample(None)]
    samples = np.concatenate(frames, axis=1)[channel or 0]
    return samples.astype("<i2").tobytes()


def wav(pcm: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return buffer.getvalue()


def silence(seconds: float) -> bytes:
    return bytes(2 * int(seconds * RATE))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- a connection seen through the SDK ---------------------------------------------------


@dataclass
class Received:
    at: float
    event: Any
    frame: dict[str, Any]


@dataclass
class Session:
    """One SDK connection: what it received, each frame validated against the SDK's type."""

    conn: Any
    beta: bool
    received: list[Received] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    async def next(self, timeout: float = 60) -> Received:
        raw = await asyncio.wait_for(self.conn.recv_bytes(), timeout)
        frame = json.loads(raw)
        if frame["type"] == "transcription_session.created":  # not in beta's union
            TranscriptionSession.model_validate(frame["session"])
        else:
            (BETA_TYPES if self.beta else GA_TYPES)[frame["type"]].model_validate(frame)
        got = Received(time.monotonic() - self.started, self.conn.parse_event(raw), frame)
        self.received.append(got)
        return got

    async def until(self, kind: str, timeout: float = 60) -> list[Received]:
        """Events up to and including the next of type `kind`."""
        events = [await self.next(timeout)]
        while events[-1].event.type != kind:
            events.append(await self.next(timeout))
        return events

    async def send(self, event: dict[str, Any]) -> None:
        await self.conn.send(event)

    async def send_raw(self, text: str) -> None:
        if self.beta:
            await self.conn._connection.send(text)
        else:
            await self.conn.send_raw(text)

    async def update(self, **session: Any) -> Received:
        if self.beta:
            await self.conn.transcription_session.update(session=session)
            return (await self.until("transcription_session.updated"))[-1]
        await self.conn.session.update(session={"type": "transcription", **session})
        return (await self.until("session.updated"))[-1]

    async def stream(self, pcm: bytes, pace: float = 1.0, seed: int = 0) -> None:
        """Appends of 20-100 ms; `pace` 1 is real time, 0 as fast as possible."""
        rng = random.Random(seed)
        start, sent = time.monotonic(), 0
        while sent < len(pcm):
            size = 2 * int(RATE * rng.uniform(0.02, 0.1))
            await self.conn.input_audio_buffer.append(audio=b64(pcm[sent : sent + size]))
            sent += size
            ahead = start + pace * sent / 2 / RATE - time.monotonic()
            await asyncio.sleep(max(0.0, ahead))

    def of(self, kind: str) -> list[Received]:
        return [r for r in self.received if r.event.type == kind]


@asynccontextmanager
async def ga(url: str) -> AsyncIterator[Session]:
    client = AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    async with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        yield Session(conn, beta=False)


@asynccontextmanager
async def beta(url: str, model: str = "gpt-4o-transcribe") -> AsyncIterator[Session]:
    ws = url.replace("http://", "ws://")
    client = AsyncOpenAI(base_url=f"{url}/v1", websocket_base_url=f"{ws}/v1", api_key="unused")
    connection = client.beta.realtime.connect(model=model, extra_query={"intent": "transcription"})
    async with connection as conn:
        yield Session(conn, beta=True)


Opener = Callable[[str], Any]
CLIENTS = pytest.mark.parametrize("opener", [ga, beta], ids=["ga", "beta"])


def manual(session: Session) -> dict[str, Any]:
    if session.beta:
        return {"input_audio_format": "pcm16", "turn_detection": None}
    return {
        "audio": {"input": {"format": {"type": "audio/pcm", "rate": RATE}, "turn_detection": None}}
    }


def file_text(http: httpx.Client, pcm: bytes) -> str:
    response = http.post("/v1/audio/transcriptions", files={"file": ("a.wav", wav(pcm))})
    assert response.status_code == 200, response.text
    return str(response.json()["text"])


async def settle(session: Session, sending: asyncio.Task[None], timeout: float = 90) -> None:
    """Read until the audio is sent and every utterance begun has its transcript."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        started = len(session.of("input_audio_buffer.speech_started"))
        done = len(session.of("conversation.item.input_audio_transcription.completed"))
        settled = sending.done() and started == done
        try:
            await session.next(timeout=1.5 if settled else 0.5)
        except TimeoutError:
            if settled:
                return
    seen = [(round(r.at, 2), r.event.type, _item_of(r)) for r in session.received]
    raise AssertionError(f"unsettled after {timeout} s: {seen}")


def check_items(session: Session) -> list[str]:
    """Each item's events in order, items chained by previous_item_id; the transcripts."""
    item_kind = "conversation.item.created" if session.beta else "conversation.item.added"
    order = ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"]
    order += ["input_audio_buffer.committed", item_kind]
    order += [] if session.beta else ["conversation.item.done"]
    order += ["conversation.item.input_audio_transcription.completed"]
    kinds = [r.event.type for r in session.received]
    committed = session.of("input_audio_buffer.committed")
    previous = None
    for c in committed:
        item = c.event.item_id
        assert c.event.previous_item_id == previous
        mine = [r for r in session.received if _item_of(r) == item]
        own_kinds = [r.event.type for r in mine if not r.event.type.endswith(".delta")]
        assert own_kinds == order, (item, own_kinds)
        created = next(r for r in mine if r.event.type == item_kind).event
        assert created.previous_item_id == previous
        assert created.item.role == "user" and created.item.content[0].type == "input_audio"
        deltas = [i for i, r in enumerate(mine) if r.event.type.endswith(".delta")]
        assert all(0 < i < len(mine) - 1 for i in deltas), own_kinds
        previous = item
    ids = [r.frame["event_id"] for r in session.received]
    assert len(set(ids)) == len(ids), "event ids repeat"
    assert kinds.count(item_kind) == len(committed)
    completed = session.of("conversation.item.input_audio_transcription.completed")
    assert [r.event.item_id for r in completed] == [c.event.item_id for c in committed]
    for r in completed:
        assert r.event.content_index == 0 and r.event.usage.type == "duration"
        assert 0 < r.event.usage.seconds < 15
    return [r.event.transcript for r in completed]


def check_deltas(session: Session) -> None:
    """Deltas came while someone spoke, and joined they begin like the final transcript."""
    deltas = session.of("conversation.item.input_audio_transcription.delta")
    assert deltas, [r.event.type for r in session.received]
    for done in session.of("conversation.item.input_audio_transcription.completed"):
        mine = [r.event.delta for r in deltas if r.event.item_id == done.event.item_id]
        joined = "".join(mine)
        assert not joined.startswith(" ") and "  " not in joined, mine
        # As many words of the final as the deltas hold ("ASK" against "ASK NOT!").
        start = " ".join(done.event.transcript.split()[: len(joined.split())])
        assert not mine or wer(joined, start) <= 0.5, (mine, done.event.transcript)


def _item_of(received: Received) -> str | None:
    event = received.event
    item = getattr(event, "item", None)
    return getattr(item, "id", None) or getattr(event, "item_id", None)


# -- server VAD ------------------------------------------------------------------------


def test_ga_at_real_time_pace_matches_the_file_endpoint(
    server: LiveServer, http: httpx.Client
) -> None:
    async def main() -> None:
        async with ga(server.url) as session:
            created = (await session.next()).event
            assert created.type == "session.created"
            assert created.session.type == "transcription"
            assert created.session.audio.input.format.rate == RATE
            assert created.session.audio.input.turn_detection.type == "server_vad"
            updated = await session.update(
                audio={
                    "input": {
                        "format": {"type": "audio/pcm", "rate": RATE},
                        "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                        "turn_detection": {
                            "type": "server_vad",
                            "threshold": 0.5,
                            "prefix_padding_ms": 300,
                            "silence_duration_ms": 500,
                        },
                    }
                },
                include=["item.input_audio_transcription.logprobs"],
            )
            audio_in = updated.event.session.audio.input
            assert audio_in.transcription.model == "gpt-4o-transcribe"
            assert audio_in.transcription.language == "en"
            assert audio_in.turn_detection.silence_duration_ms == 500
            # The complaint is 5 s without a pause, long enough for partials; it goes first,
            # since the core skips partials while finals (jfk's, which pauses often) decode.
            audio = load("fw_stereo_diarization.wav", channel=0) + silence(1.5)
            audio += load("jfk.wav") + silence(1.5)
            sending = asyncio.create_task(session.stream(audio))
            await settle(session, sending)
            texts = check_items(session)
            starts = [
                r.event.audio_start_ms for r in session.of("input_audio_buffer.speech_started")
            ]
            assert starts == sorted(starts) and 0 <= starts[0] < 1500
            reference = f"{COMPLAINT} {JFK}"
            live_wer = wer(reference, " ".join(texts))
            assert live_wer <= wer(reference, file_text(http, audio)) + 0.02, texts
            check_deltas(session)

    asyncio.run(main())


def test_beta_faster_than_real_time_two_utterances_in_order(server: LiveServer) -> None:
    async def main() -> None:
        async with beta(server.url) as session:
            created = await session.next()
            assert created.event.type == "transcription_session.created"
            assert created.frame["session"]["turn_detection"]["type"] == "server_vad"
            updated = await session.update(
                input_audio_format="pcm16",
                input_audio_transcription={"model": "whisper-1", "language": "en"},
                turn_detection={"type": "server_vad", "silence_duration_ms": 600},
            )
            assert updated.event.session.input_audio_transcription.model == "whisper-1"
            assert updated.event.session.turn_detection.silence_duration_ms == 600
            assert updated.event.session.turn_detection.threshold == 0.5
            audio = load("turn_on_the_living_room_lamp.wav") + silence(1.5)
            audio += load("fw_stereo_diarization.wav", channel=1) + silence(1.5)
            sending = asyncio.create_task(session.stream(audio, pace=0.25, seed=1))
            await settle(session, sending)
            texts = check_items(session)
            assert len(texts) == 2, texts
            assert wer(LAMP, texts[0]) <= 0.2 and wer(HORIZON, texts[1]) <= 0.2, texts

    asyncio.run(main())


def test_silence_alone_makes_no_items(server: LiveServer) -> None:
    async def main() -> None:
        async with ga(server.url) as session:
            await session.next()
            noise = np.random.default_rng(0).normal(0, 30, 3 * RATE).astype("<i2").tobytes()
            await session.stream(silence(1) + noise, pace=0)
            await asyncio.sleep(0.5)
            await session.send({"type": "input_audio_buffer.clear"})
            kinds = [r.event.type for r in await session.until("input_audio_buffer.cleared")]
            assert kinds == ["input_audio_buffer.cleared"]

    asyncio.run(main())


# -- manual turns ----------------------------------------------------------------------


@CLIENTS
def test_manual_commit_clear_and_an_empty_commit(server: LiveServer, opener: Opener) -> None:
    async def main() -> None:
        async with opener(server.url) as session:
            await session.next()
            updated = await session.update(**manual(session))
            shown = updated.frame["session"]
            assert (shown if session.beta else shown["audio"]["input"])["turn_detection"] is None
            await session.stream(load("living_room_light_en.wav"), pace=0)
            await session.conn.input_audio_buffer.commit(event_id="commit_1")
            events = await session.until("conversation.item.input_audio_transcription.completed")
            kinds = [r.event.type for r in events]
            item = "conversation.item.created" if session.beta else "conversation.item.added"
            assert kinds[:2] == ["input_audio_buffer.committed", item], kinds
            assert wer(LIGHT, events[-1].event.transcript) <= 0.2, events[-1].event.transcript

            await session.conn.input_audio_buffer.commit(event_id="commit_2")
            error = (await session.until("error"))[-1].event.error
            assert error.code == "input_audio_buffer_commit_empty"
            assert error.event_id == "commit_2" and error.type == "invalid_request_error"
            assert "buffer too small" in error.message

            await session.stream(silence(0.5), pace=0)
            await session.conn.input_audio_buffer.clear()
            assert [r.event.type for r in await session.until("input_audio_buffer.cleared")] == [
                "input_audio_buffer.cleared"
            ]
            await session.conn.input_audio_buffer.commit()
            assert (await session.until("error"))[-1].event.error.event_id is None

    asyncio.run(main())


# -- bad events ------------------------------------------------------------------------

GA_INPUT = "session.audio.input"
BAD: list[tuple[str, dict[str, Any] | str, str, str | None]] = [
    ("not json", "{not json", "invalid_json", None),
    ("not an object", "[1, 2]", "invalid_json", None),
    ("no type", {}, "missing_required_parameter", "type"),
    ("unknown type", {"type": "input_audio_buffer.dance"}, "invalid_value", "type"),
    ("conversation event", {"type": "response.create"}, "invalid_value", "type"),
    ("no audio", {"type": "input_audio_buffer.append"}, "missing_required_parameter", "audio"),
    (
        "audio not a string",
        {"type": "input_audio_buffer.append", "audio": 5},
        "invalid_value",
        "audio",
    ),
    ("bad base64", {"type": "input_audio_buffer.append", "audio": "#!?"}, "invalid_value", "audio"),
    (
        "odd bytes",
        {"type": "input_audio_buffer.append", "audio": b64(b"abc")},
        "invalid_value",
        "audio",
    ),
    ("no session", {"type": "session.update"}, "missing_required_parameter", "session"),
    ("session not an object", {"type": "session.update", "session": 1}, "invalid_value", "session"),
    (
        "conversation session",
        {"type": "session.update", "session": {"type": "realtime"}},
        "invalid_value",
        "session.type",
    ),
    (
        "g711",
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {"input": {"format": {"type": "audio/pcmu"}}},
            },
        },
        "invalid_value",
        f"{GA_INPUT}.format.type",
    ),
    (
        "rate out of range",
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 4000},
                        "transcription": {"model": "whisper-tiny.en"},  # fine, but not applied
                        "turn_detection": {"type": "server_vad"},
                    }
                },
            },
        },
        "invalid_value",
        f"{GA_INPUT}.format.rate",
    ),
    (
        "unknown model",
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {"input": {"transcription": {"model": "whisper-9"}}},
            },
        },
        "model_not_found",
        f"{GA_INPUT}.transcription.model",
    ),
    (
        "unknown language",
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {"input": {"transcription": {"language": "zz"}}},
            },
        },
        "invalid_value",
        f"{GA_INPUT}.transcription.language",
    ),
    (
        "semantic nonsense",
        {
            "type": "session.update",
            "session": {
                "type": "transcription",
                "audio": {"input": {"turn_detection": {"type": "magic"}}},
            },
        },
        "invalid_value",
        f"{GA_INPUT}.turn_detection.type",
    ),
    (
        "beta g711",
        {"type": "transcription_session.update", "session": {"input_audio_format": "g711_ulaw"}},
        "invalid_value",
        "session.input_audio_format",
    ),
    (
        "beta unknown model",
        {
            "type": "transcription_session.update",
            "session": {"input_audio_transcription": {"model": "nope"}},
        },
        "model_not_found",
        "session.input_audio_transcription.model",
    ),
    (
        "beta threshold",
        {"type": "transcription_session.update", "session": {"turn_detection": {"threshold": 7}}},
        "invalid_value",
        "session.turn_detection.threshold",
    ),
]


@CLIENTS
def test_every_bad_event_is_an_error_and_the_connection_goes_on(
    server: LiveServer, opener: Opener
) -> None:
    async def main() -> None:
        async with opener(server.url) as session:
            await session.next()
            await session.update(**manual(session))
            for n, (name, event, code, param) in enumerate(BAD):
                if isinstance(event, str):
                    await session.send_raw(event)
                else:
                    await session.send_raw(json.dumps({"event_id": f"bad_{n}", **event}))
                error = (await session.until("error", timeout=10))[-1].event.error
                assert (error.type, error.code, error.param) == (
                    "invalid_request_error",
                    code,
                    param,
                ), name
                assert error.event_id == (None if isinstance(event, str) else f"bad_{n}"), name
                assert len(error.message) > 10, name
            # Nothing above changed the session: still manual, default model, 24 kHz.
            shown = (await session.update(**manual(session))).frame["session"]
            if session.beta:
                assert (
                    shown["input_audio_transcription"]["model"] == "gpt-4o-transcribe"
                )  # the URL's
            else:
                assert shown["audio"]["input"]["transcription"]["model"] == "whisper-base"
                assert shown["audio"]["input"]["format"]["rate"] == RATE
            await session.stream(load("living_room_light_en.wav"), pace=0)
            await session.conn.input_audio_buffer.commit()
            done = await session.until("conversation.item.input_audio_transcription.completed")
            assert "error" not in [r.event.type for r in done]
            assert wer(LIGHT, done[-1].event.transcript) <= 0.2

    asyncio.run(main())


# -- limits, on a small server of their own ----------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        Path(tmp_path_factory.mktemp("small")),
        VOCALIS_MAX_LIVE_SESSIONS="1",
        VOCALIS_LIVE_IDLE_TIMEOUT="2",
        VOCALIS_LIVE_MAX_MESSAGE_KB="16",
    )
    yield live
    stop_server(live)


def test_session_cap_refuses_and_a_vanished_client_frees_its_slot(small: LiveServer) -> None:
    async def main() -> None:
        async with ga(small.url) as first:
            await first.next()
            async with beta(small.url) as second:
                error = (await second.next()).event
                assert error.type == "error" and error.error.code == "too_many_sessions"
                assert error.error.type == "rate_limit_error"
                with pytest.raises(ConnectionClosed) as closed:
                    await second.next()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
            first.conn._connection.transport.abort()  # gone without a close frame
        for _ in range(50):
            async with ga(small.url) as again:
                if (await again.next()).event.type == "session.created":
                    return
            await asyncio.sleep(0.1)
        raise AssertionError("the vanished client's session was never freed")

    asyncio.run(main())


def test_idle_timeout_and_size_limit_close(small: LiveServer) -> None:
    async def main() -> None:
        async with ga(small.url) as session:
            await session.next()
            error = (await session.next(timeout=10)).event.error
            assert error.code == "idle_timeout"
            with pytest.raises(ConnectionClosed) as closed:
                await session.next()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1000
        async with ga(small.url) as session:
            await session.next()
            await session.conn.input_audio_buffer.append(audio=b64(silence(0.5)))
            with pytest.raises(ConnectionClosed) as closed:
                await session.next()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009

    asyncio.run(main())


# -- pure pieces: session updates and server frames --------------------------------------

VAD = Vad(0.5, 300, 500)


def test_updates_keep_what_they_do_not_name() -> None:
    start = Settings(vad=VAD)
    ga_session = wire.GA_SESSION.validate_python(
        {"type": "transcription", "audio": {"input": {"transcription": {"language": "fr"}}}}
    )
    french = update_ga(start, ga_session, VAD)
    assert (french.language, french.vad, french.rate) == ("fr", VAD, RATE)
    off = update_beta(french, wire.BETA_SESSION.validate_python({"turn_detection": None}), VAD)
    assert off.vad is None and off.language == "fr"
    on = wire.BETA_SESSION.validate_python({"turn_detection": {"type": "semantic_vad"}})
    assert update_beta(off, on, VAD).vad == VAD
    rate = {"audio": {"input": {"format": {"type": "audio/pcm", "rate": 16000}}}}
    assert update_ga(start, wire.GA_SESSION.validate_python(rate), VAD).rate == 16000


def test_every_server_frame_fits_the_sdk_types() -> None:
    item = wire.UserAudio("item_1")
    frames = [
        wire.TranscriptionCompleted("item_1", "", wire.Usage(0.5)),
        wire.TranscriptionDelta("item_1", " word"),
        wire.TranscriptionFailed("item_1", wire.ErrorDetail("server_error", "x", "m", None, None)),
        wire.SpeechStarted(0, "item_1"),
        wire.SpeechStopped(10, "item_1"),
        wire.Cleared(),
        wire.Error(wire.ErrorDetail("invalid_request_error", "c", "m", "p", "e")),
        *wire.item_events(wire.Dialect.GA, "item_2", "item_1"),
    ]
    for event in frames:
        GA_TYPES[event.type].model_validate(event.frame())
    for event in [*frames[:7], *wire.item_events(wire.Dialect.BETA, "item_2", None)]:
        BETA_TYPES[event.type].model_validate(event.frame())
    assert wire.ItemCreated(item, None).frame()["item"]["content"][0]["type"] == "input_audio"
