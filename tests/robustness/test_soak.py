"""A bounded soak: 530 mixed requests from 8 concurrent clients against one real server.

Health, voices and models; short transcriptions of the public clips (every English one
checked for word error rate) as JSON, verbose JSON, text and SSE; speech in every format,
each decoded and its duration checked; and WebSocket sessions on /ws/stt, /ws/tts and
/v1/realtime. Nothing may fail, and the server's resident memory (VmRSS from /proc) may grow
by less than 5% between the 100th and the last request. The figures are printed.

The server's queue holds more than 8 jobs, so no client is ever refused with 429
queue_full; a 429 would count as an unexpected error here.
"""

from __future__ import annotations

import base64
import io
import json
import random
import re
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from tests.conftest import EVAL_DIR, LiveServer, references, start_server, stop_server, wer
from tests.robustness import media

CLIENTS = 8
SEED = 20_261_201
# How many requests of each kind: 530 in all, dealt in a seeded shuffle.
PLAN = {
    "health": 220,
    "voices": 50,
    "models": 50,
    "transcribe": 70,
    "transcribe_sse": 20,
    "speech": 75,
    "speech_sse": 25,
    "ws_stt": 7,
    "ws_tts": 7,
    "realtime": 6,
}
# The first 100 requests warm up: every model loaded, every path taken, 8 heavy requests at
# once (the allocator's arenas reach their size). Memory is compared from there on.
WARM_UP_PLAN = {
    "transcribe": 30,
    "transcribe_sse": 8,
    "speech": 30,
    "speech_sse": 10,
    "ws_stt": 3,
    "ws_tts": 3,
    "realtime": 2,
    "health": 14,
}
WARM_UP = sum(WARM_UP_PLAN.values())
MAX_DRIFT = 0.05
REFERENCES = references()
CLIPS = ["living_room_light_en.wav", "speaches_audio.wav", "turn_on_the_living_room_lamp.wav"]
FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"]
SAID = "Turn on the light."
# Piper's joe says SAID in about 1.2 s; Kokoro a little faster.
SPOKEN_SECONDS = (0.6, 3.0)


@pytest.fixture(scope="module")
def soak_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("soak"),
        VOCALIS_PRELOAD="true",
        VOCALIS_MAX_CONCURRENT_JOBS="2",
        VOCALIS_MAX_QUEUED_JOBS="32",
    )
    yield live
    stop_server(live)


@dataclass
class Tally:
    """What the clients saw, shared between their threads."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    done: int = 0
    rss_at_warm_up: int = 0
    rss_series: list[int] = field(default_factory=list)  # every 50 requests, for the report
    lock: threading.Lock = field(default_factory=threading.Lock)


def test_soak(soak_server: LiveServer) -> None:
    kinds = plan()
    work = [(n, kind) for n, kind in enumerate(kinds)]
    tally = Tally()
    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        lanes = [work[i::CLIENTS] for i in range(CLIENTS)]
        list(pool.map(lambda lane: client(soak_server, lane, tally), lanes))
    elapsed = time.monotonic() - started
    rss_at_end = rss_kib(soak_server)
    drift = (rss_at_end - tally.rss_at_warm_up) / tally.rss_at_warm_up
    report(tally, elapsed, rss_at_end, drift)
    assert tally.done == len(kinds)
    assert not tally.errors, "\n".join(tally.errors[:20])
    assert drift < MAX_DRIFT, f"VmRSS grew {drift:.1%} after request {WARM_UP}"
    assert soak_server.process.poll() is None


def plan() -> list[str]:
    """The warm-up's requests, then the rest of PLAN, each part in a seeded shuffle."""
    rng = random.Random(SEED)
    warm = [kind for kind, n in WARM_UP_PLAN.items() for _ in range(n)]
    rest = [kind for kind, n in PLAN.items() for _ in range(n - WARM_UP_PLAN.get(kind, 0))]
    rng.shuffle(warm)
    rng.shuffle(rest)
    return warm + rest


def client(server: LiveServer, lane: list[tuple[int, str]], tally: Tally) -> None:
    """One client: its share of the plan, one request at a time, on one connection."""
    rng = random.Random(SEED + lane[0][0])
    with server.client(timeout=300) as http:
        for n, kind in lane:
            began = time.monotonic()
            try:
                REQUESTS[kind](http, server.url, rng)
            except Exception as exc:
                with tally.lock:
                    tally.errors.append(f"#{n} {kind}: {type(exc).__name__}: {exc}"[:600])
            finished(tally, server, kind, time.monotonic() - began)


def finished(tally: Tally, server: LiveServer, kind: str, seconds: float) -> None:
    with tally.lock:
        tally.latencies[kind].append(seconds)
        tally.done += 1
        if tally.done == WARM_UP:
            tally.rss_at_warm_up = rss_kib(server)
        if tally.done % 50 == 0:
            tally.rss_series.append(rss_kib(server))


def rss_kib(server: LiveServer) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert match, status
    return int(match.group(1))


def report(tally: Tally, elapsed: float, rss_at_end: int, drift: float) -> None:
    print(
        f"\nsoak: {tally.done} requests, {CLIENTS} clients, {elapsed:.1f} s, "
        f"{tally.done / elapsed:.1f} requests/s, {len(tally.errors)} errors"
    )
    print(
        f"VmRSS at request {WARM_UP}: {tally.rss_at_warm_up / 1024:.1f} MiB, "
        f"at the last: {rss_at_end / 1024:.1f} MiB, drift {drift:+.2%}"
    )
    print("VmRSS every 50 requests (MiB):", " ".join(f"{k / 1024:.0f}" for k in tally.rss_series))
    for kind, seconds in sorted(tally.latencies.items()):
        p50 = statistics.median(seconds)
        p95 = statistics.quantiles(seconds, n=20)[-1] if len(seconds) > 1 else seconds[0]
        print(f"  {kind:15} n={len(seconds):4}  p50 {p50 * 1000:7.0f} ms  p95 {p95 * 1000:7.0f} ms")


# -- the requests: each raises when its answer is wrong ------------------------------------

Request = Callable[[httpx.Client, str, random.Random], None]


def ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise AssertionError(f"{response.status_code}: {response.text[:300]}")
    return response


def health(http: httpx.Client, _: str, __: random.Random) -> None:
    assert ok(http.get("/health")).json()["status"] == "ok"


def voices(http: httpx.Client, _: str, __: random.Random) -> None:
    listed = {v["id"] for v in ok(http.get("/v1/audio/voices")).json()["voices"]}
    assert "en_US-joe-medium" in listed


def models(http: httpx.Client, _: str, __: random.Random) -> None:
    listed = {m["id"] for m in ok(http.get("/v1/models")).json()["data"]}
    assert {"whisper-base", "whisper-tiny.en"} <= listed


def transcribe(http: httpx.Client, _: str, rng: random.Random) -> None:
    clip = rng.choice(CLIPS)
    fmt = rng.choice(["json", "verbose_json", "text"])
    # Mostly tiny.en, the live model: base (whisper-1) is about three times slower here.
    data = {"model": rng.choice(["whisper-tiny.en"] * 3 + ["whisper-1"])}
    response = ok(
        http.post(
            "/v1/audio/transcriptions",
            files={"file": (clip, (EVAL_DIR / clip).read_bytes())},
            data={**data, "response_format": fmt, "language": "en"},
        )
    )
    text = response.text if fmt == "text" else response.json()["text"]
    check_heard(clip, text)


def transcribe_sse(http: httpx.Client, _: str, rng: random.Random) -> None:
    clip = rng.choice(CLIPS)
    response = ok(
        http.post(
            "/v1/audio/transcriptions",
            files={"file": (clip, (EVAL_DIR / clip).read_bytes())},
            data={"model": "whisper-tiny.en", "stream": "true"},
        )
    )
    events = sse_events(response.text)
    assert events[-1]["type"] == "transcript.text.done", events
    check_heard(clip, events[-1]["text"])


def check_heard(clip: str, text: str) -> None:
    assert wer(REFERENCES[clip][1], text) <= 0.25, (clip, text)


def speech(http: httpx.Client, _: str, rng: random.Random) -> None:
    fmt = rng.choice(FORMATS)
    model = rng.choice(["piper"] * 3 + ["kokoro"])
    response = ok(
        http.post("/v1/audio/speech", json={"input": SAID, "model": model, "response_format": fmt})
    )
    check_duration(response.content, fmt, 24_000 if fmt == "pcm" else None)


def speech_sse(http: httpx.Client, _: str, rng: random.Random) -> None:
    response = ok(
        http.post(
            "/v1/audio/speech",
            json={
                "input": SAID,
                "model": "piper",
                "response_format": "pcm",
                "stream_format": "sse",
            },
        )
    )
    events = sse_events(response.text)
    assert [e["type"] for e in events][-1] == "speech.audio.done"
    pcm = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    check_duration(pcm, "pcm", 24_000)


def check_duration(data: bytes, fmt: str, pcm_rate: int | None) -> None:
    if fmt == "pcm":
        seconds = len(data) / 2 / (pcm_rate or 24_000)
    else:
        with av.open(io.BytesIO(data)) as container:
            frames = list(container.decode(audio=0))
        seconds = sum(f.samples for f in frames) / frames[0].sample_rate
    low, high = SPOKEN_SECONDS
    assert low <= seconds <= high, (fmt, seconds)


def sse_events(text: str) -> list[dict[str, object]]:
    lines = text.splitlines()
    return [json.loads(line.removeprefix("data: ")) for line in lines if line.startswith("data: ")]


def ws_url(url: str, path: str) -> str:
    return url.replace("http", "ws", 1) + path


def ws_stt(_: httpx.Client, url: str, __: random.Random) -> None:
    texts = []
    with connect(ws_url(url, "/ws/stt?language=en&model=whisper-tiny.en"), max_size=None) as ws:
        ws.send(media.light_pcm())
        ws.send(json.dumps({"type": "flush"}))
        ws.send(json.dumps({"type": "close"}))
        for message in ws:
            event = json.loads(message)
            assert event["type"] != "error", event
            if event["type"] == "transcript":
                texts.append(event["text"])
    check_heard("living_room_light_en.wav", " ".join(texts))


def ws_tts(_: httpx.Client, url: str, __: random.Random) -> None:
    with connect(ws_url(url, "/ws/tts"), max_size=None) as ws:
        ws.send(json.dumps({"text": SAID, "model": "piper"}))
        start = json.loads(ws.recv(timeout=120))
        assert start["type"] == "start", start
        pcm = b""
        while isinstance(message := ws.recv(timeout=120), bytes):
            pcm += message
        assert json.loads(message) == {"type": "end"}
    check_duration(pcm, "pcm", start["sample_rate"])


def realtime(_: httpx.Client, url: str, __: random.Random) -> None:
    """A GA transcription session with server VAD: the clip, then silence ends the turn."""
    audio = REALTIME_AUDIO
    with connect(ws_url(url, "/v1/realtime?intent=transcription"), max_size=None) as ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "session.created"
        for start in range(0, len(audio), 48_000):
            chunk = base64.b64encode(audio[start : start + 48_000]).decode()
            ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": chunk}))
        while True:
            event = json.loads(ws.recv(timeout=120))
            assert event["type"] != "error", event
            if event["type"] == "conversation.item.input_audio_transcription.completed":
                check_heard("living_room_light_en.wav", event["transcript"])
                return


def at_24_khz(path: Path) -> bytes:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=24_000)
    with av.open(str(path)) as container:
        frames = [f for frame in container.decode(audio=0) for f in resampler.resample(frame)]
    samples = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    return samples.astype("<i2").tobytes() + b"\x00" * (24_000 * 2 * 2)  # then 2 s of silence


REALTIME_AUDIO = at_24_khz(media.LIGHT)
REQUESTS: dict[str, Request] = {
    "health": health,
    "voices": voices,
    "models": models,
    "transcribe": transcribe,
    "transcribe_sse": transcribe_sse,
    "speech": speech,
    "speech_sse": speech_sse,
    "ws_stt": ws_stt,
    "ws_tts": ws_tts,
    "realtime": realtime,
}
