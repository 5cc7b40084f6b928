"""Live speech out: time to the first PCM chunk over WS /ws/tts, against POST /v1/audio/speech.

For each engine, interleaved round by round on one live Vocalis server:
  sentence  /ws/tts with the text streamed as an LLM would: the request is open, then the first
            sentence arrives (and the next word at once, which shows the sentence has ended);
            from sending that sentence to the first binary frame. Target: Piper 0.15 s,
            Kokoro 0.5 s.
  whole     /ws/tts with the whole text in one message: from sending it to the first frame;
  http      POST /v1/audio/speech, streaming pcm, the same text: to the first audio byte;
  barge-in  /ws/tts, a whole request sent while another is being spoken (0.3 s after its first
            audio, the engine inside a later piece): from sending it to its first frame;
  engine    the engine alone on the same first piece, in this process: what no path can beat.
Each measurement is cancelled once its first audio is in, and the next waits until the server
has gone idle (its CPU time stops growing), so a cancelled piece never overlaps the next round.
Run with `make bench` (or `python benchmarks/live_tts.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.tts import TEXT  # noqa: E402
from tests.conftest import LiveServer, start_server, stop_server  # noqa: E402
from vocalis.config import Settings  # noqa: E402
from vocalis.server.app import build_services  # noqa: E402
from vocalis.tts.service import TextToSpeech  # noqa: E402
from vocalis.tts.text import normalize, split_sentences, stream_chunks  # noqa: E402

TARGETS = {"piper": 0.15, "kokoro": 0.5}
PATHS = ("sentence", "whole", "http", "barge-in", "engine")


def engine_path(tts: TextToSpeech, engine: str) -> float:
    """The engine alone on the first piece a streaming request speaks."""
    request = tts.request(engine, "alloy", TEXT, 1.0, None)
    synthesizer = tts.pool.load(engine)
    text = normalize(TEXT)
    first = stream_chunks(text, synthesizer.max_chars, synthesizer.first_chunk_chars)[0]
    started = time.perf_counter()
    synthesizer.synthesize(first, request.options)
    return time.perf_counter() - started


def first_frame(conn: ClientConnection) -> None:
    """Until the first binary frame (the start frame comes before it)."""
    while not isinstance(conn.recv(timeout=60), bytes):
        pass


def stop(conn: ClientConnection) -> None:
    conn.send(json.dumps({"type": "cancel"}))
    until_end(conn)


def until_end(conn: ClientConnection) -> None:
    while True:
        frame = conn.recv(timeout=60)
        if isinstance(frame, str) and json.loads(frame)["type"] == "end":
            return


def sentence_path(conn: ClientConnection, engine: str) -> float:
    first, *rest = split_sentences(TEXT)
    conn.send(json.dumps({"text": "", "flush": False, "model": engine, "voice": "alloy"}))
    assert json.loads(conn.recv(timeout=60))["type"] == "start"
    started = time.perf_counter()
    conn.send(json.dumps({"text": first, "flush": False}))
    conn.send(json.dumps({"text": " " + rest[0].split()[0], "flush": False}))
    first_frame(conn)
    elapsed = time.perf_counter() - started
    stop(conn)
    return elapsed


def whole_path(conn: ClientConnection, engine: str) -> float:
    started = time.perf_counter()
    conn.send(json.dumps({"text": TEXT, "model": engine, "voice": "alloy"}))
    first_frame(conn)
    elapsed = time.perf_counter() - started
    stop(conn)
    return elapsed


def barge_in_path(conn: ClientConnection, engine: str) -> float:
    request = json.dumps({"text": TEXT, "model": engine, "voice": "alloy"})
    conn.send(request)
    first_frame(conn)
    time.sleep(0.3)
    started = time.perf_counter()
    conn.send(request)  # it replaces the one being spoken
    until_end(conn)  # that one's, cancelled
    first_frame(conn)
    elapsed = time.perf_counter() - started
    stop(conn)
    return elapsed


def http_path(client: httpx.Client, engine: str) -> float:
    body = {"model": engine, "voice": "alloy", "input": TEXT, "response_format": "pcm"}
    started = time.perf_counter()
    with client.stream("POST", "/v1/audio/speech", json=body) as response:
        response.raise_for_status()
        next(chunk for chunk in response.iter_raw() if chunk)
        return time.perf_counter() - started


def measure(
    server: LiveServer, tts: TextToSpeech, engine: str, rounds: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {path: [] for path in PATHS}
    ws_url = server.url.replace("http://", "ws://") + "/ws/tts"
    with httpx.Client(base_url=server.url, timeout=600) as client, connect(ws_url) as conn:
        paths: dict[str, Callable[[], float]] = {
            "sentence": lambda: sentence_path(conn, engine),
            "whole": lambda: whole_path(conn, engine),
            "http": lambda: http_path(client, engine),
            "barge-in": lambda: barge_in_path(conn, engine),
            "engine": lambda: engine_path(tts, engine),
        }
        for warm_up in (True, *([False] * rounds)):
            for path, run in paths.items():
                server.settle()
                elapsed = run()
                if not warm_up:
                    times[path].append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"text: {len(TEXT)} characters; first sentence: {split_sentences(TEXT)[0]!r}")
    tts = build_services(Settings()).tts
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), VOCALIS_PRELOAD="true")
        try:
            results = {engine: measure(server, tts, engine, args.rounds) for engine in TARGETS}
        finally:
            stop_server(server)

    print(f"\nfirst audio, s ({args.rounds} rounds)")
    print(f"{'engine':<8} {'path':<9} {'p50':>7} {'min':>7} {'max':>7}")
    for engine, times in results.items():
        for path in PATHS:
            runs = times[path]
            p50 = statistics.median(runs)
            print(f"{engine:<8} {path:<9} {p50:>7.3f} {min(runs):>7.3f} {max(runs):>7.3f}")
    print()
    for engine, times in results.items():
        p50 = statistics.median(times["sentence"])
        verdict = "met" if p50 <= TARGETS[engine] else "MISSED"
        http, alone = statistics.median(times["http"]), statistics.median(times["engine"])
        barge_in = statistics.median(times["barge-in"])
        print(
            f"{engine}: /ws/tts first audio {p50:.3f} s after the first sentence "
            f"(target {TARGETS[engine]:.2f} s: {verdict}); POST streaming {http:.3f} s; "
            f"interrupting another request {barge_in:.3f} s; the engine alone {alone:.3f} s"
        )
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
