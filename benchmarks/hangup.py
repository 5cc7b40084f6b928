"""What a hang-up still costs: the server's CPU after a client abandons a transcription.

On one live Vocalis server (whisper-base, the default), a 45-s recording:
  whole     the CPU and wall time of the transcription seen through to its end;
  hang-up   `--tries` requests, each closed at a point spread evenly over that wall time: the
            server's CPU from the hang-up until it is idle again; for a whole response, and
            for one streamed as server-sent events (`stream=true`);
  speech    `--tries` / 8 times each, Kokoro speaking 40 sentences: a /ws/tts client that
            hangs up or cancels after its first audio, and POST /tts hung up after 1 s;
and in this process, what bounds the worst hang-up and what killing it would cost instead:
  encode    CTranslate2's encode of one 30-s chunk, which nothing can interrupt;
  load      loading the model again, as a killed worker process would have to.
Run with `make bench` (or `python benchmarks/hangup.py`).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.live import percentile  # noqa: E402
from tests.conftest import (  # noqa: E402
    EVAL_DIR,
    LiveServer,
    installed_model,
    start_server,
    stop_server,
)
from tests.recordings import long, wav_bytes  # noqa: E402
from tests.server.test_work_stops import (  # noqa: E402
    TEXT,
    cpu_after_hang_up,
    cpu_until_idle,
    live_speech_cpu_after,
    speak_and_hang_up,
    transcription_cpu,
)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_of(step: Callable[[], object], times: int) -> float:
    """The median CPU of `times` runs of `step` in this process, after one to warm up."""
    step()
    costs = []
    for _ in range(times):
        before = own_cpu()
        step()
        costs.append(own_cpu() - before)
    return statistics.median(costs)


def engine_costs(threads: int) -> tuple[float, float]:
    """CPU of one 30-s chunk's encode, and of loading the model, in this process."""
    path = str(installed_model("whisper-base"))
    model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=threads)
    features = ctranslate2.StorageView.from_array(np.zeros((1, 80, 3000), np.float32))
    encode = cpu_of(lambda: model.model.encode(features), 5)
    load = cpu_of(
        lambda: WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=threads), 3
    )
    return encode, load


def speech_costs(server: LiveServer, tries: int) -> dict[str, list[float]]:
    def seed_tts() -> float:
        speak_and_hang_up(server, {"text": TEXT, "voice": "af_heart"}, False, "/tts")
        return cpu_until_idle(server)

    steps: dict[str, Callable[[], float]] = {
        "/ws/tts hang-up": lambda: live_speech_cpu_after(server, "hang-up"),
        "/ws/tts cancel": lambda: live_speech_cpu_after(server, "cancel"),
        "POST /tts hang-up": seed_tts,
    }
    return {name: [step() for _ in range(tries)] for name, step in steps.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tries", type=int, default=40)
    args = parser.parse_args()

    samples, _ = long(EVAL_DIR, 0.75)
    files = {"file": ("talk.wav", wav_bytes(samples))}
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp), VOCALIS_PRELOAD="true")
        try:
            transcription_cpu(server, files)  # warm up
            started = time.perf_counter()
            whole = transcription_cpu(server, files)
            wall = time.perf_counter() - started
            spread = [0.1 + (wall - 0.1) * i / (args.tries - 1) for i in range(args.tries)]
            after = {
                name: [cpu_after_hang_up(server, files, delay, fields) for delay in spread]
                for name, fields in (("whole", {}), ("streamed", {"stream": "true"}))
            }
            speech = speech_costs(server, max(1, args.tries // 8))
        finally:
            stop_server(server)
    encode, load = engine_costs(os.cpu_count() or 1)
    print(f"45-s recording, whisper-base int8, {os.cpu_count()} cores")
    print(f"whole:   {wall:.2f} s, {whole:.2f} s of CPU")
    for name, costs in after.items():
        print(
            f"hang-up, {name} ({args.tries} tries from 0.1 to {wall:.2f} s): CPU after mean "
            f"{statistics.mean(costs):.2f} s, median {statistics.median(costs):.2f} s, "
            f"p90 {percentile(costs, 0.9):.2f} s, max {max(costs):.2f} s; "
            f"{sum(c >= 0.5 for c in costs)} at 0.5 s or more"
        )
    print(f"encode of one 30-s chunk: {encode:.2f} s of CPU; loading the model: {load:.2f} s")
    for name, costs in speech.items():
        print(
            f"speech, {name}: CPU after mean {statistics.mean(costs):.2f} s, max {max(costs):.2f} s"
        )


if __name__ == "__main__":
    main()
