"""The Wyoming server end to end with the real models and the wyoming library's own client, in
Home Assistant's order: what is said comes back as its words, what is synthesized transcribes
back to its text, one connection serves request after request, and every mistake is answered
with an `error` event on a connection that goes on, leaving no job slot held.

The server runs in this process (on its own event loop in a thread), so the tests can look at
its job queue; tests/wyoming/test_announce.py starts the real `vocalis serve --wyoming`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from wyoming.tts import SynthesizeVoice

from tests.conftest import EVAL_DIR, free_port, references, wer
from tests.wyoming.home_assistant import (
    Pcm,
    client,
    discover,
    read,
    send_command,
    speak,
    speak_streaming,
    transcribe,
    transcript,
)
from vocalis.config import Settings
from vocalis.server.app import build_services
from vocalis.server.deps import Services
from vocalis.wyoming import serving
from vocalis.wyoming.protocol import (
    AudioChunk,
    AudioStart,
    AudioStop,
    Describe,
    Error,
    Event,
    Info,
    Ping,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    Transcribe,
)

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please turn on the kitchen lights at seven in the evening.",
    "Tomorrow we will walk along the river to the old mill.",
]
TEXT = " ".join(SENTENCES)
PIPER, KOKORO = "en_US-joe-medium", "af_heart"
RATES = {PIPER: 22_050, KOKORO: 24_000}


@dataclass
class Running:
    services: Services
    port: int

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Until no job runs or waits: every slot a request took has been given back."""
        jobs = self.services.jobs
        deadline = time.monotonic() + timeout
        while jobs.running or jobs.waiting:
            assert time.monotonic() < deadline, f"{jobs.running} running, {jobs.waiting} waiting"
            time.sleep(0.05)


@contextmanager
def running(services: Services) -> Iterator[None]:
    """The services' Wyoming server, on its own event loop in a thread, while the block runs."""
    loop = asyncio.new_event_loop()
    ready, stop = threading.Event(), asyncio.Event()

    async def main() -> None:
        async with serving(services):
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.start()
    try:
        assert ready.wait(30), "the Wyoming server did not start"
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


def wyoming_services() -> tuple[Services, int]:
    port = free_port()
    return build_services(Settings(wyoming_uri=f"tcp://127.0.0.1:{port}")), port


@pytest.fixture(scope="module")
def wyoming() -> Iterator[Running]:
    services, port = wyoming_services()
    services.stt.pool.load(services.stt.default_model)
    services.tts.warm_up()
    with running(services):
        yield Running(services, port)


def command(name: str) -> tuple[Pcm, str]:
    return Pcm.of_wav(EVAL_DIR / name), references()[name][1]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# -- discovery --------------------------------------------------------------------------------


def test_describe_answers_within_home_assistants_second(wyoming: Running) -> None:
    info = run(discover(wyoming.port))
    asr, tts = info.asr[0], info.tts[0]
    assert asr.installed and asr.supports_transcript_streaming
    assert asr.models[0].name == "whisper-base" and asr.models[0].installed
    assert {"en", "fr", "de"} <= set(asr.models[0].languages)
    assert tts.installed and tts.supports_synthesize_streaming
    voices = {voice.name: voice for voice in tts.voices}
    assert voices[PIPER].languages == ["en_US"] and voices[PIPER].installed
    assert voices[KOKORO].description == "Heart (en-US, Kokoro)"
    assert len(voices) == len(wyoming.services.tts.voices())


# -- speech to text -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["living_room_light_en.wav", "jfk.wav"])
def test_a_command_transcribes_as_home_assistant_sends_it(wyoming: Running, name: str) -> None:
    pcm, reference = command(name)
    assert (pcm.rate, pcm.channels) == (16_000, 1)
    text, events = run(transcribe(wyoming.port, pcm))
    assert wer(reference, text) <= 0.1, text
    types = [event.type for event in events]
    assert types[0] == "transcript-start" and types[-2:] == ["transcript", "transcript-stop"]
    assert set(types[1:-2]) == {"transcript-chunk"}
    assert "".join(event.data["text"] for event in events[1:-2]) == text
    assert events[0].data["language"] == "en"
    wyoming.wait_idle()


def test_transcribe_names_its_model(wyoming: Running) -> None:
    pcm, reference = command("living_room_light_en.wav")

    async def with_tiny() -> str:
        async with client(wyoming.port) as connection:
            await connection.write_event(Transcribe(name="whisper-tiny.en", language="en").event())
            await connection.write_event(AudioStart(pcm.rate, pcm.width, pcm.channels).event())
            for piece in pcm.chunks():
                await connection.write_event(piece.event())
            await connection.write_event(AudioStop().event())
            return (await transcript(connection))[0]

    assert wer(reference, run(with_tiny())) <= 0.2
    assert "whisper-tiny.en" in wyoming.services.stt.pool.loaded()


def test_44khz_stereo_is_resampled(wyoming: Running) -> None:
    pcm, reference = command("turn_on_the_living_room_lamp.wav")
    assert (pcm.rate, pcm.channels) == (44_100, 2)
    text, _ = run(transcribe(wyoming.port, pcm))
    assert wer(reference, text) <= 0.2, text


def test_language_tags_and_detection(wyoming: Running) -> None:
    pcm, reference = command("whats_your_name_french.wav")
    tagged, _ = run(transcribe(wyoming.port, pcm, language="fr-FR"))
    detected, events = run(transcribe(wyoming.port, pcm, language=None))
    assert wer(reference, tagged) <= 0.34, tagged
    assert wer(reference, detected) <= 0.34, detected
    assert "language" not in events[0].data  # detected, not told


def test_audio_stop_without_audio_is_an_empty_transcript(wyoming: Running) -> None:
    async def empty() -> str:
        async with client(wyoming.port) as connection:
            await connection.write_event(Transcribe(language="en").event())
            await connection.write_event(AudioStart(16_000, 2, 1).event())
            await connection.write_event(AudioStop().event())
            return (await transcript(connection))[0]

    assert run(empty()) == ""


# -- text to speech -----------------------------------------------------------------------------


def heard_back(wyoming: Running, pcm: Pcm) -> str:
    """What Whisper hears in synthesized audio, sent at its own rate over Wyoming."""
    return str(run(transcribe(wyoming.port, pcm))[0])


def test_streamed_text_is_spoken_sentence_by_sentence(wyoming: Running) -> None:
    """Text arrives word by word as an LLM writes it; the first sentence is spoken before the
    rest has been sent; the trailing whole-text `synthesize` is not spoken a second time."""
    pieces = [word + " " for word in TEXT.split()]
    second_sentence = len(SENTENCES[0].split()) + 1  # its first word shows the first has ended

    async def stream() -> Any:
        async with client(wyoming.port) as connection:
            return await speak_streaming(connection, pieces, PIPER, audio_before=second_sentence)

    heard = run(stream())
    assert heard.types[0] == "audio-start" and heard.types[-2:] == [
        "audio-stop",
        "synthesize-stopped",
    ]
    assert heard.types.count("audio-stop") == 1
    assert heard.start is not None and heard.start.rate == RATES[PIPER]
    words = len(TEXT.split())
    assert words / 4.5 < heard.pcm.seconds < words / 2.2, heard.pcm.seconds  # 3 a second, once
    assert wer(TEXT, heard_back(wyoming, heard.pcm)) <= 0.15
    wyoming.wait_idle()


@pytest.mark.parametrize("voice", [PIPER, KOKORO])
def test_synthesize_speaks_until_audio_stop(wyoming: Running, voice: str) -> None:
    text = SENTENCES[1]

    async def whole() -> Any:
        async with client(wyoming.port) as connection:
            return await speak(connection, text, voice)

    heard = run(whole())
    assert heard.types == ["audio-start", "audio-chunk", "audio-stop"]
    assert heard.start is not None and heard.start.rate == RATES[voice]
    assert 1.5 < heard.pcm.seconds < 8.0
    assert wer(text, heard_back(wyoming, heard.pcm)) <= 0.15


def test_a_voice_chosen_by_language(wyoming: Running) -> None:
    async def french() -> Any:
        async with client(wyoming.port) as connection:
            voice = {"language": "fr_FR"}
            await connection.write_event(Event("synthesize", {"text": "Bonjour.", "voice": voice}))
            return [await read(connection) for _ in range(3)]

    events = run(french())
    assert events[0].type == "audio-start" and events[0].data["rate"] == RATES[KOKORO]
    assert events[-1].type == "audio-stop"


# -- one connection, many requests, and mistakes -------------------------------------------------


def test_one_connection_serves_request_after_request(wyoming: Running) -> None:
    light, light_text = command("living_room_light_en.wav")
    lamp, lamp_text = command("turn_on_the_living_room_lamp.wav")

    async def session() -> list[Any]:
        async with client(wyoming.port) as connection:
            await connection.write_event(Describe().event())
            info = Info.is_type((await read(connection)).type)
            await send_command(connection, light, "en")
            first = (await transcript(connection))[0]
            spoken = await speak(connection, "Done.", PIPER)
            streamed = await speak_streaming(connection, ["All ", "set."], PIPER)
            await send_command(connection, lamp, "en")
            second = (await transcript(connection))[0]
            await connection.write_event(Ping(text="still there?").event())
            pong = await read(connection)
            return [info, first, spoken, streamed, second, pong]

    info, first, spoken, streamed, second, pong = run(session())
    assert info
    assert wer(light_text, first) <= 0.1 and wer(lamp_text, second) <= 0.2
    assert spoken.pcm.seconds > 0.2 and streamed.pcm.seconds > 0.3
    assert pong.type == "pong" and pong.data["text"] == "still there?"


def chunk(rate: int = 16_000, width: int = 2, channels: int = 1, size: int = 640) -> Event:
    return AudioChunk(rate, width, channels, bytes(size)).event()


def error_code(events: list[Event]) -> list[str | None]:
    return [Error.from_event(e).code if Error.is_type(e.type) else e.type for e in events]


async def answers(connection: Any, *events: Event) -> list[Event]:
    """What the server answers to `events`: everything until the `info` of a describe sent
    after them (so an event answered with nothing shows as nothing)."""
    for event in events:
        await connection.write_event(event)
    await connection.write_event(Describe().event())
    replies = [await read(connection)]
    while not Info.is_type(replies[-1].type):
        replies.append(await read(connection))
    return replies[:-1]


def test_mistakes_get_error_events_and_the_connection_goes_on(wyoming: Running) -> None:
    light, light_text = command("living_room_light_en.wav")
    voice = {"text": "Hi.", "voice": {"name": "no-such-voice"}}
    cases: list[tuple[list[Event], list[str | None]]] = [
        ([Event("synthesize", voice)], ["unknown_voice"]),
        ([Event("synthesize", {"voice": {"name": PIPER}})], ["malformed_event"]),
        ([Event("synthesize", {"text": "Hi.", "voice": "alloy"})], ["malformed_event"]),
        ([Event("synthesize", {"text": "Hi.", "voice": {"language": "tlh"}})], ["unknown_voice"]),
        ([Event("transcribe", {"name": "whisper-huge"}), chunk(), AudioStop().event()],
         ["model_not_found"]),
        ([Transcribe(language="xx").event(), AudioStart(16_000, 2, 1).event(), chunk()],
         ["invalid_value"]),
        ([Event("transcribe", {"language": 5})], ["malformed_event"]),
        ([AudioStop().event()], []),  # ends the refused request: its error has gone
        ([AudioStop().event()], ["no_request"]),
        ([chunk(), chunk(), AudioStop().event()], ["no_request"]),
        ([Event("audio-start", {"rate": 16_000}), AudioStop().event()], ["malformed_event"]),
        ([AudioStart(1_000, 2, 1).event(), chunk(), AudioStop().event()],
         ["unsupported_audio_format"]),
        ([AudioStart(16_000, 5, 1).event(), AudioStop().event()], ["unsupported_audio_format"]),
        ([AudioStart(16_000, 2, 3).event(), AudioStop().event()], ["unsupported_audio_format"]),
        ([AudioStart(16_000, 2, 1).event(), chunk(size=641), chunk(), AudioStop().event()],
         ["unsupported_audio_format"]),
        ([AudioStart(16_000, 2, 1).event(), chunk(rate=8_000), AudioStop().event()],
         ["unsupported_audio_format"]),
        ([SynthesizeChunk(text="Hello").event()], ["no_request"]),
        ([SynthesizeStop().event()], ["no_request"]),
        ([Event("synthesize-start", {"voice": {"name": "nope"}}),
          SynthesizeChunk(text="Hello.").event(), SynthesizeStop().event()],
         ["unknown_voice", "synthesize-stopped"]),
        ([Event("frobnicate", {"x": 1}), Event("select-program", {"name": "vocalis"})], []),
    ]  # fmt: skip

    async def session() -> tuple[list[list[str | None]], str]:
        async with client(wyoming.port) as connection:
            got = [error_code(await answers(connection, *events)) for events, _ in cases]
            await send_command(connection, light, "en")
            return got, (await transcript(connection))[0]

    got, text = run(session())
    assert got == [expected for _, expected in cases]
    assert wer(light_text, text) <= 0.1
    wyoming.wait_idle(timeout=1)


@pytest.mark.parametrize("voice", [PIPER, KOKORO])
def test_a_client_that_leaves_mid_speech_stops_it(
    wyoming: Running, caplog: pytest.LogCaptureFixture, voice: str
) -> None:
    long_text = " ".join(f"This is sentence number {n}, spoken in turn." for n in range(40))

    async def leave() -> None:
        async with client(wyoming.port) as connection:
            await connection.write_event(SynthesizeStart(voice=SynthesizeVoice(voice)).event())
            await connection.write_event(SynthesizeChunk(text=long_text).event())
            while (await read(connection)).type != "audio-chunk":
                pass
            await asyncio.sleep(0.3)  # the engine is on the next piece by now

    with caplog.at_level(logging.INFO, logger="vocalis.access"):
        run(leave())
        gone = cpu_seconds()  # this process's: the server's, while the test only waits
        wyoming.wait_idle(timeout=60)
        burned = cpu_seconds() - gone
    spoken = [json.loads(r.message) for r in caplog.records if "wyoming_speech" in r.message]
    assert spoken[-1]["cancelled"]
    assert spoken[-1]["audio_seconds"] < 60  # of about 130 s
    assert burned < 0.5, f"{burned:.2f} s of CPU after the client left"  # the piece stopped


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_broken_framing_closes_that_connection_only(wyoming: Running) -> None:
    async def garbage() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", wyoming.port)
        writer.write(b'{"no type": true}\n')
        await writer.drain()
        rest = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        return rest

    assert run(garbage()) == b""  # closed, nothing said
    assert run(discover(wyoming.port)).asr


def test_a_draining_server_refuses_new_requests() -> None:
    services, port = wyoming_services()  # nothing loaded: a refusal needs no model

    async def session() -> list[list[str | None]]:
        async with client(port) as connection:
            services.drain.begin()
            return [
                error_code(await answers(connection, Transcribe(language="en").event())),
                error_code(await answers(connection, Event("synthesize", {"text": "Hi."}))),
                error_code(await answers(connection, SynthesizeStart().event())),
            ]

    with running(services):
        refused = run(session())
    assert refused == [["shutting_down"], ["shutting_down"], ["shutting_down"]]
