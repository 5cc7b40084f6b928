"""Home Assistant's Wyoming path: how long a spoken command waits for its text, and a reply for
its first audio, on a live `vocalis serve --wyoming` server.

  command   a 3-s command sent as Home Assistant sends it (16 kHz mono s16le in 1024-sample
            chunks on a new connection): from writing audio-stop to reading `transcript`;
  library   faster-whisper's plain `WhisperModel.transcribe` on the same 16-kHz audio in this
            process (int8, beam 5, English), the call a user would write by hand;
  speech    `synthesize` of a short reply: from writing it to reading `audio-start` (sent
            with the first audio), per engine;
  streamed  `synthesize-start` and the reply's chunks: from the chunk that completes the
            first sentence to `audio-start`.
Rounds are interleaved and each waits until the server is idle. A few tens of seconds.
Run with `make bench` (or `python benchmarks/wyoming.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, this file's folder comes first on sys.path, where its name would hide the
# wyoming library: the repository root takes its place.
sys.path[0] = str(ROOT)

from faster_whisper import WhisperModel  # noqa: E402
from wyoming.client import AsyncTcpClient  # noqa: E402

from tests.conftest import (  # noqa: E402
    EVAL_DIR,
    LiveServer,
    free_port,
    references,
    start_server,
    stop_server,
    wer,
)
from tests.wyoming.home_assistant import Pcm, read, transcript  # noqa: E402
from vocalis.audio.decode import decode  # noqa: E402
from vocalis.audio.encode import to_s16le  # noqa: E402
from vocalis.config import Settings  # noqa: E402
from vocalis.models.catalog import default_catalog  # noqa: E402
from vocalis.models.store import ModelStore  # noqa: E402
from vocalis.wyoming.protocol import (  # noqa: E402
    AudioStart,
    AudioStop,
    Event,
    SynthesizeChunk,
    Transcribe,
)

COMMAND = "turn_on_the_living_room_lamp.wav"
REPLY = "Turning on the living room lamp. Anything else?"
VOICES = {"piper": "en_US-joe-medium", "kokoro": "af_heart"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def command(port: int, pcm: Pcm) -> tuple[float, str]:
    async with AsyncTcpClient("127.0.0.1", port) as connection:
        await connection.write_event(Transcribe(language="en").event())
        await connection.write_event(AudioStart(pcm.rate, pcm.width, pcm.channels).event())
        for chunk in pcm.chunks():
            await connection.write_event(chunk.event())
        started = time.perf_counter()
        await connection.write_event(AudioStop().event())
        text, _ = await transcript(connection)
        return time.perf_counter() - started, text


async def speech(port: int, voice: str) -> float:
    async with AsyncTcpClient("127.0.0.1", port) as connection:
        started = time.perf_counter()
        await connection.write_event(Event("synthesize", {"text": REPLY, "voice": {"name": voice}}))
        latency = await audio_start(connection, started)
        await until(connection, "audio-stop")
        return latency


async def streamed(port: int, voice: str) -> float:
    first, rest = REPLY.split(". ", 1)
    async with AsyncTcpClient("127.0.0.1", port) as connection:
        await connection.write_event(Event("synthesize-start", {"voice": {"name": voice}}))
        await connection.write_event(SynthesizeChunk(text=first + ".").event())
        started = time.perf_counter()
        await connection.write_event(SynthesizeChunk(text=" " + rest).event())  # ends sentence 1
        latency = await audio_start(connection, started)
        await connection.write_event(Event("synthesize-stop"))
        await until(connection, "synthesize-stopped")
        return latency


async def audio_start(connection: AsyncTcpClient, started: float) -> float:
    await until(connection, "audio-start")
    return time.perf_counter() - started


async def until(connection: AsyncTcpClient, kind: str) -> None:
    while (await read(connection)).type != kind:
        pass


def summary(name: str, values: list[float]) -> str:
    return (
        f"{name:<18} p50 {percentile(values, 0.5) * 1000:6.0f} ms   "
        f"p95 {percentile(values, 0.95) * 1000:6.0f} ms   ({len(values)} runs)"
    )


def measure(
    rounds: int, server: LiveServer, steps: dict[str, Callable[[], float]]
) -> dict[str, list[float]]:
    """Each step once per round, in turn, after a warm-up round; the server idle before each."""
    times: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(rounds + 1):
        for name, step in steps.items():
            server.settle()
            seconds = step()
            if round_:
                times[name].append(seconds)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    settings = Settings()
    store = ModelStore(default_catalog(), settings.models_dir, settings.local_models)
    threads = os.cpu_count() or 1
    model = WhisperModel(
        str(store.path(store.spec("whisper-base"))), device="cpu", compute_type="int8",
        cpu_threads=threads,
    )  # fmt: skip
    audio = decode(io.BytesIO((EVAL_DIR / COMMAND).read_bytes()), max_seconds=60)
    pcm, reference = Pcm(to_s16le(audio), 16_000), references()[COMMAND][1]
    print(f"command: {COMMAND}, {pcm.seconds:.1f} s; whisper-base int8, {threads} CPU threads")

    texts: dict[str, str] = {}

    def library() -> float:
        started = time.perf_counter()
        segments, _ = model.transcribe(audio, language="en", beam_size=5)
        texts["library"] = "".join(segment.text for segment in segments)
        return time.perf_counter() - started

    def wyoming_command() -> float:
        seconds, texts["command"] = asyncio.run(command(port, pcm))
        return seconds

    port = free_port()
    steps: dict[str, Callable[[], float]] = {"command": wyoming_command, "library": library}
    for engine, voice in VOICES.items():
        steps[f"speech {engine}"] = lambda v=voice: asyncio.run(speech(port, v))
        steps[f"streamed {engine}"] = lambda v=voice: asyncio.run(streamed(port, v))
    with tempfile.TemporaryDirectory() as tmp:
        env = {"VOCALIS_PRELOAD": "true", "VOCALIS_WYOMING_URI": f"tcp://127.0.0.1:{port}"}
        server = start_server(Path(tmp), **env)
        try:
            times = measure(args.rounds, server, steps)
        finally:
            stop_server(server)

    for name, values in times.items():
        print(summary(name, values))
    ratio = statistics.median(times["command"]) / statistics.median(times["library"])
    print(f"command / library  {ratio:.2f}x at p50")
    for name, text in texts.items():
        print(f"{name:<18} WER {wer(reference, text):.2f}  {text.strip()!r}")


if __name__ == "__main__":
    main()
