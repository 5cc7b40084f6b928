"""Streaming speech: audio leaves while later sentences are still being synthesized, a client
that goes away stops synthesis, and SSE events match OpenAI's schema."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import uvicorn
import yaml

from tests.conftest import ROOT, free_port
from vocalis.config import Settings
from vocalis.server.app import build_services, create_app
from vocalis.tts.base import Samples, SynthesisOptions, Synthesizer, Voice
from vocalis.tts.service import TextToSpeech
from vocalis.tts.text import normalize, pack, stream_chunks

SENTENCES = [f"This is sentence number {n}, spoken one after another." for n in range(1, 13)]
LONG_TEXT = " ".join(SENTENCES)


@dataclass
class Recording:
    """Wraps a real engine and records, in order, each piece it finishes."""

    inner: Synthesizer
    events: list[tuple[str, str]] = field(default_factory=list)

    @property
    def sample_rate(self) -> int:
        return self.inner.sample_rate

    @property
    def native_speed(self) -> tuple[float, float]:
        return self.inner.native_speed

    @property
    def max_chars(self) -> int:
        return self.inner.max_chars

    @property
    def first_chunk_chars(self) -> int:
        return self.inner.first_chunk_chars

    def voices(self) -> list[Voice]:
        return self.inner.voices()

    def synthesize(self, text: str, options: SynthesisOptions) -> Samples:
        audio = self.inner.synthesize(text, options)
        self.events.append(("synthesized", text))
        return audio

    def count(self) -> int:
        return sum(1 for kind, _ in self.events if kind == "synthesized")


@dataclass
class InProcessServer:
    url: str
    engines: dict[str, Recording]


@pytest.fixture(scope="module")
def live() -> Iterator[InProcessServer]:
    settings = Settings()
    services = build_services(settings)
    plain = services.tts
    engines: dict[str, Recording] = {}

    def recorded(name: str, load: Any) -> Any:
        def loader() -> Recording:
            engines[name] = Recording(load())
            return engines[name]

        return loader

    services.tts = TextToSpeech(
        settings,
        services.store,
        loaders={
            "piper": recorded("piper", plain._load_piper),
            "kokoro": recorded("kokoro", plain._load_kokoro),
        },
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, services), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield InProcessServer(f"http://127.0.0.1:{port}", engines)
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("engine", ["piper", "kokoro"])
def test_first_audio_leaves_before_the_last_sentence_is_synthesized(
    live: InProcessServer, engine: str
) -> None:
    body = {"model": engine, "voice": "alloy", "input": LONG_TEXT, "response_format": "mp3"}
    with httpx.stream("POST", f"{live.url}/v1/audio/speech", json=body, timeout=120) as response:
        assert response.status_code == 200
        chunks = response.iter_raw()
        first = next(chunks)
        recording = live.engines[engine]
        recording.events.append(("received", f"{len(first)} bytes"))
        rest = b"".join(chunks)
    kinds = [kind for kind, _ in recording.events]
    first_received = kinds.index("received")
    last_synthesized = len(kinds) - 1 - kinds[::-1].index("synthesized")
    assert first and rest
    assert first_received < last_synthesized, recording.events
    assert recording.events[last_synthesized][1].endswith("twelve, spoken one after another.")
    recording.events.clear()


@pytest.mark.parametrize("engine", ["piper", "kokoro"])
def test_client_disconnect_stops_synthesis(live: InProcessServer, engine: str) -> None:
    text = " ".join(SENTENCES * 3)  # 36 sentences
    body = {"model": engine, "voice": "alloy", "input": text, "response_format": "pcm"}
    with httpx.stream("POST", f"{live.url}/v1/audio/speech", json=body, timeout=120) as response:
        next(response.iter_raw())
    recording = live.engines[engine]
    # Wait until the engine has been idle for a while, then count what it made.
    last, stable_since = -1, time.monotonic()
    while time.monotonic() - stable_since < 2.0:
        time.sleep(0.2)
        if recording.count() != last:
            last, stable_since = recording.count(), time.monotonic()
    sentences = stream_chunks(normalize(text), recording.max_chars, recording.first_chunk_chars)
    pieces = pack(sentences, 2 * recording.first_chunk_chars, recording.max_chars)
    assert len(pieces) >= 6
    # The client took one chunk; the server made at most a piece or two more before it noticed.
    assert 1 <= recording.count() <= 3, (recording.count(), len(pieces))
    recording.events.clear()


def openai_schema(name: str) -> dict[str, Any]:
    spec_path = Path(ROOT.parent / "shared" / "openapi" / "openai-openapi.yaml")
    with spec_path.open() as f:
        spec = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return dict(spec["components"]["schemas"][name])


def test_sse_events_match_openai_schema(live: InProcessServer) -> None:
    delta_schema = {**openai_schema("SpeechAudioDeltaEvent"), "additionalProperties": False}
    done_schema = {**openai_schema("SpeechAudioDoneEvent"), "additionalProperties": False}
    body = {
        "model": "piper",
        "voice": "alloy",
        "input": " ".join(SENTENCES[:3]),
        "response_format": "pcm",
        "stream_format": "sse",
    }
    response = httpx.post(f"{live.url}/v1/audio/speech", json=body, timeout=120)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")
    ]
    *deltas, done = events
    for event in deltas:
        jsonschema.validate(event, delta_schema)
        assert event["type"] == "speech.audio.delta"
    jsonschema.validate(done, done_schema)
    pcm = b"".join(base64.b64decode(e["audio"]) for e in deltas)
    seconds = len(pcm) / 2 / 24_000
    assert len(deltas) >= 2 and 3 < seconds < 15
    usage = done["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] > 0
