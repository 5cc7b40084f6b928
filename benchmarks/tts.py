"""Text-to-speech speed: time to first audio byte and total time, server against engine.

For each engine, interleaved round by round:
  direct   the engine called directly on the whole text (Piper's `PiperVoice.synthesize`,
           Kokoro's `Kokoro.create`), as a user would call the library;
  server   a streaming HTTP request to a live Vocalis server: time to the first audio byte and
           to the last.
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
    "By the time the train arrived, she had finished the first page."
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
        direct_rtf = r["direct"] / r["seconds"]
        print(f"{name:<8} {'direct':<8} {'-':>12} {r['direct']:>8.2f} {direct_rtf:>6.3f}")
        print(
            f"{name:<8} {'server':<8} {r['first']:>12.3f} {r['server']:>8.2f} "
            f"{r['server'] / r['seconds']:>6.3f}"
        )
    print()
    for name, r in results.items():
        overhead = r["server"] / r["direct"] - 1
        print(
            f"{name}: first audio after {r['first']:.3f} s; whole text {overhead * 100:+.1f}% "
            f"against the engine called directly (target within 5%)"
        )


def measure(url: str, engine: str, direct: Callable[[str], float], rounds: int) -> dict[str, float]:
    body = {"model": engine, "voice": "alloy", "input": TEXT, "response_format": "pcm"}
    with httpx.Client(base_url=url, timeout=600) as client:

        def server() -> tuple[float, float]:
            started = time.perf_counter()
            first = 0.0
            with client.stream("POST", "/v1/audio/speech", json=body) as response:
                response.raise_for_status()
                for chunk in response.iter_raw():
                    if chunk and not first:
                        first = time.perf_counter() - started
            return first, time.perf_counter() - started

        direct(TEXT)  # warm-up: load, caches
        server()
        firsts, totals, directs = [], [], []
        seconds = 0.0
        for _ in range(rounds):
            started = time.perf_counter()
            seconds = direct(TEXT)
            directs.append(time.perf_counter() - started)
            first, total = server()
            firsts.append(first)
            totals.append(total)
    return {
        "first": statistics.median(firsts),
        "server": statistics.median(totals),
        "direct": statistics.median(directs),
        "seconds": seconds,
    }


if __name__ == "__main__":
    main()
