"""Text-to-speech speed: time to first audio byte and total time, server against engine.

For each engine, interleaved round by round:
  direct   the engine called directly on the whole text (Piper's `PiperVoice.synthesize`,
           Kokoro's `Kokoro.create`), as a user would call the library;
  stream   a streaming HTTP request to a live Vocalis server (a short first piece, then
           sentences): time to the first audio byte and to the last;
  whole    the same request with `"stream": false` (the whole text in one engine call).
Run with `make bench` (or `python benchmarks/tts.py`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import start_server, stop_server  # noqa: E402
from vocalis.config import Settings  # noqa: E402
from vocalis.models.catalog import default_catalog  # noqa: E402
from vocalis.models.store import ModelStore  # noqa: E402
from vocalis.tts.service import KOKORO_MODEL, PIPER_MODEL  # noqa: E402

# Six sentences, 400 characters.
TEXT = (
    "The morning train was late again, so Clara walked to the old bakery on the corner. "
    "She ordered a coffee and a warm croissant. "
    "Outside, the rain had turned the street into a mirror of grey light. "
    "A cyclist rang his bell and waved as he passed. "
    "Clara smiled, opened her notebook, and began to write. "
    "By the time the train finally arrived at half past nine, she had finished the first page."
)


def direct_engines(store: ModelStore) -> dict[str, tuple[Callable[[str], float], int]]:
    """Engine name -> (synthesize the text and return audio seconds, sample rate)."""
    from kokoro_onnx import Kokoro
    from piper import PiperVoice

    piper_dir = store.path(store.spec(PIPER_MODEL))
    voice = PiperVoice.load(piper_dir / "en_US-joe-medium.onnx")

    def piper(text: str) -> float:
        samples = sum(len(chunk.audio_int16_array) for chunk in voice.synthesize(text))
        return samples / voice.config.sample_rate

    engines: dict[str, tuple[Callable[[str], float], int]] = {
        "piper": (piper, voice.config.sample_rate)
    }
    kokoro_spec = store.catalog.get(KOKORO_MODEL)
    if kokoro_spec is not None and store.status(kokoro_spec).installed:
        kokoro_dir = store.path(kokoro_spec)
        with tempfile.NamedTemporaryFile(suffix=".npz", delete=False) as f:
            styles = {
                p.stem: np.fromfile(p, dtype="<f4").reshape(-1, 1, 256)
                for p in (kokoro_dir / "voices").glob("*.bin")
            }
            np.savez(f, **styles)  # type: ignore[arg-type]
        model = Kokoro(str(kokoro_dir / "kokoro-v1.0.int8.onnx"), f.name)

        def kokoro(text: str) -> float:
            samples, rate = model.create(text, voice="af_alloy", speed=1.0, lang="en-us")
            return len(samples) / rate

        engines["kokoro"] = (kokoro, 24_000)
    return engines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    settings = Settings()
    store = ModelStore(default_catalog(), settings.models_dir, settings.local_models)
    engines = direct_engines(store)
    print(f"text: {len(TEXT)} characters, 6 sentences")
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp))
        try:
            results = {
                name: measure(server.url, name, fn, args.rounds)
                for name, (fn, _) in engines.items()
            }
        finally:
            stop_server(server)

    print(f"\n{'engine':<8} {'path':<8} {'first byte s':>12} {'total s':>8} {'RTF':>6}")
    for name, r in results.items():
        for path in ("direct", "stream", "whole"):
            first = f"{r[path + '_first']:.3f}" if path != "direct" else "-"
            rtf = r[path] / r["seconds"]
            print(f"{name:<8} {path:<8} {first:>12} {r[path]:>8.2f} {rtf:>6.3f}")
    print()
    for name, r in results.items():
        print(
            f"{name}: first audio after {r['stream_first']:.3f} s streaming; whole text "
            f"{(r['whole'] / r['direct'] - 1) * 100:+.1f}% against the engine called directly "
            f"(streamed: {(r['stream'] / r['direct'] - 1) * 100:+.1f}%)"
        )


def measure(url: str, engine: str, direct: Callable[[str], float], rounds: int) -> dict[str, float]:
    body = {"model": engine, "voice": "alloy", "input": TEXT, "response_format": "pcm"}
    with httpx.Client(base_url=url, timeout=600) as client:

        def server(stream: bool) -> tuple[float, float]:
            started = time.perf_counter()
            first = 0.0
            request = {**body, "stream": stream}
            with client.stream("POST", "/v1/audio/speech", json=request) as response:
                response.raise_for_status()
                for chunk in response.iter_raw():
                    if chunk and not first:
                        first = time.perf_counter() - started
            return first, time.perf_counter() - started

        direct(TEXT)  # warm-up: load, caches
        server(True)
        times: dict[str, list[float]] = {
            k: [] for k in ("direct", "stream", "stream_first", "whole", "whole_first")
        }
        seconds = 0.0
        for _ in range(rounds):
            started = time.perf_counter()
            seconds = direct(TEXT)
            times["direct"].append(time.perf_counter() - started)
            for path, stream in (("stream", True), ("whole", False)):
                first, total = server(stream)
                times[path].append(total)
                times[path + "_first"].append(first)
    return {k: statistics.median(v) for k, v in times.items()} | {"seconds": seconds}


if __name__ == "__main__":
    main()
