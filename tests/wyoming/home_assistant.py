"""Home Assistant's side of Wyoming, replayed with the wyoming library's own client in the order
its integration sends (homeassistant/components/wyoming: data.py, stt.py, tts.py)."""

from __future__ import annotations

import asyncio
import wave
from dataclasses import dataclass, field
from pathlib import Path

from wyoming.client import AsyncTcpClient
from wyoming.tts import SynthesizeVoice

from vocalis.wyoming.protocol import (
    AudioChunk,
    AudioStart,
    AudioStop,
    Describe,
    Event,
    Info,
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeStopped,
    Transcribe,
    Transcript,
)

HOST = "127.0.0.1"
# Home Assistant's discovery (data.py): 1 s per try, 3 tries.
INFO_TIMEOUT = 1.0
INFO_RETRIES = 3
# Long enough for any answer here; a hang fails the test instead of the session.
READ_TIMEOUT = 60.0


@dataclass(frozen=True)
class Pcm:
    audio: bytes
    rate: int
    width: int = 2
    channels: int = 1

    @classmethod
    def of_wav(cls, path: Path) -> Pcm:
        with wave.open(str(path)) as wav:
            frames = wav.readframes(wav.getnframes())
            return cls(frames, wav.getframerate(), wav.getsampwidth(), wav.getnchannels())

    @property
    def seconds(self) -> float:
        return len(self.audio) / (self.width * self.channels) / self.rate

    def chunks(self, frames: int = 1024) -> list[AudioChunk]:
        size = frames * self.width * self.channels
        return [
            AudioChunk(self.rate, self.width, self.channels, self.audio[i : i + size])
            for i in range(0, len(self.audio), size)
        ]


@dataclass
class Heard:
    """A synthesis answer: its audio and every event type in order (chunks once per run)."""

    start: AudioStart | None = None
    audio: bytearray = field(default_factory=bytearray)
    types: list[str] = field(default_factory=list)

    @property
    def pcm(self) -> Pcm:
        assert self.start is not None
        return Pcm(bytes(self.audio), self.start.rate, self.start.width, self.start.channels)

    def add(self, event: Event) -> None:
        if not self.types or self.types[-1] != event.type or event.type != "audio-chunk":
            self.types.append(event.type)
        if AudioStart.is_type(event.type) and self.start is None:
            self.start = AudioStart.from_event(event)
        elif AudioChunk.is_type(event.type):
            self.audio += AudioChunk.from_event(event).audio


def client(port: int) -> AsyncTcpClient:
    return AsyncTcpClient(HOST, port)


async def read(connection: AsyncTcpClient, timeout: float = READ_TIMEOUT) -> Event:
    event = await asyncio.wait_for(connection.read_event(), timeout)
    assert event is not None, "the server closed the connection"
    return event


async def discover(port: int) -> Info:
    """data.py load_wyoming_info: describe, then events until info, within 1 s; 3 tries."""
    for _ in range(INFO_RETRIES):
        try:
            async with client(port) as connection, asyncio.timeout(INFO_TIMEOUT):
                await connection.write_event(Describe().event())
                while True:
                    event = await read(connection)
                    if Info.is_type(event.type):
                        return Info.from_event(event)
        except TimeoutError:
            continue
    raise AssertionError(f"no info within {INFO_TIMEOUT} s in {INFO_RETRIES} tries")


async def send_command(connection: AsyncTcpClient, pcm: Pcm, language: str | None) -> None:
    """stt.py: transcribe {language}, audio-start, the chunks, audio-stop."""
    await connection.write_event(Transcribe(language=language).event())
    await connection.write_event(AudioStart(pcm.rate, pcm.width, pcm.channels).event())
    for chunk in pcm.chunks():
        await connection.write_event(chunk.event())
    await connection.write_event(AudioStop().event())


async def transcript(connection: AsyncTcpClient) -> tuple[str, list[Event]]:
    """Events until transcript (stt.py ignores the others), then the rest of the stream."""
    events = [await read(connection)]
    while not Transcript.is_type(events[-1].type):
        events.append(await read(connection))
    events.append(await read(connection))  # transcript-stop follows for streaming clients
    return Transcript.from_event(events[-2]).text, events


async def transcribe(port: int, pcm: Pcm, language: str | None = "en") -> tuple[str, list[Event]]:
    """One command on a new connection, as Home Assistant sends each."""
    async with client(port) as connection:
        await send_command(connection, pcm, language)
        return await transcript(connection)


async def speak(
    connection: AsyncTcpClient, text: str, voice: str | None, speaker: str | None = None
) -> Heard:
    """tts.py async_get_tts_audio: synthesize {text, voice {name, speaker}}, audio to audio-stop."""
    choice = SynthesizeVoice(name=voice, speaker=speaker) if voice else None
    await connection.write_event(Synthesize(text=text, voice=choice).event())
    heard = Heard()
    while not heard.types or heard.types[-1] != "audio-stop":
        heard.add(await read(connection))
    return heard


async def speak_streaming(
    connection: AsyncTcpClient,
    pieces: list[str],
    voice: str | None,
    audio_before: int | None = None,
) -> Heard:
    """tts.py async_stream_tts_audio: one task writes synthesize-start, the chunks, synthesize
    {whole text}, synthesize-stop, while the audio is read until synthesize-stopped.

    With `audio_before`, the writer sends no more than that many chunks until audio has come
    (as a slow LLM would): speech must start before the text is complete.
    """
    choice = SynthesizeVoice(name=voice) if voice else None
    audio = asyncio.Event()

    async def write() -> None:
        await connection.write_event(SynthesizeStart(voice=choice).event())
        for n, piece in enumerate(pieces):
            if n == audio_before:
                await asyncio.wait_for(audio.wait(), READ_TIMEOUT)
            await connection.write_event(SynthesizeChunk(text=piece).event())
        await connection.write_event(Synthesize(text="".join(pieces), voice=choice).event())
        await connection.write_event(SynthesizeStop().event())

    writer = asyncio.create_task(write())
    heard = Heard()
    while not heard.types or not SynthesizeStopped.is_type(heard.types[-1]):
        heard.add(await read(connection))
        if heard.audio:
            audio.set()
    await writer
    return heard
