"""Long recordings: words kept, time, segment lengths and memory, against plain faster-whisper.

For each length (12 and 20 minutes by default; `--minutes 120` for two hours, which is
`make bench-2h`), on a recording stitched from the public clips with its transcript:
  plain   faster-whisper's sequential `WhisperModel.transcribe` on the whole array, as a
          user would call it (int8, beam 5, vad_filter=True), in this process;
  server  WAV upload to verbose_json through a live Vocalis server, a fresh one per length
          so its peak resident memory (VmHWM) over the warm server is this recording's.
Then a 3-s command is timed on the idle server, and again while the recording runs a
second time (that run is then abandoned, which also shows a gone client's job stopping).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jiwer
from faster_whisper import WhisperModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import (  # noqa: E402
    EVAL_DIR,
    LiveServer,
    installed_model,
    normalise,
    start_server,
    stop_server,
)
from tests.recordings import RATE, long, wav_bytes  # noqa: E402

COMMAND = EVAL_DIR / "turn_on_the_living_room_lamp.wav"


def score(
    reference: str, segments: list[tuple[float, float, str]], seconds: float
) -> dict[str, Any]:
    words = jiwer.process_words(normalise(reference), normalise("".join(t for *_, t in segments)))
    lengths = sorted(end - start for start, end, _ in segments)
    return {
        "wer": words.wer * 100,
        "deleted": words.deletions,
        "seconds": seconds,
        "segments": len(lengths),
        "median": statistics.median(lengths),
        "p95": lengths[int(0.95 * (len(lengths) - 1))],
        "max": lengths[-1],
    }


def command_seconds(server: LiveServer) -> float:
    with server.client() as client:
        started = time.perf_counter()
        client.post("/v1/audio/transcriptions", files={"file": COMMAND.open("rb")})
        return time.perf_counter() - started


def run_plain(model: WhisperModel, samples: Any, reference: str) -> dict[str, Any]:
    started = time.perf_counter()
    segments, _ = model.transcribe(samples, beam_size=5, vad_filter=True)
    found = [(s.start, s.end, s.text) for s in segments]
    return score(reference, found, time.perf_counter() - started)


def run_server(tmp: Path, wav: bytes, reference: str) -> tuple[dict[str, Any], float, float, float]:
    server = start_server(tmp, VOCALIS_PRELOAD="true", VOCALIS_MAX_UPLOAD_MB="1000")
    try:
        with ThreadPoolExecutor(2) as pool:  # warm: both of the model's workers have run
            list(pool.map(lambda _: command_seconds(server), range(2)))
        idle = statistics.median(command_seconds(server) for _ in range(3))
        warm = server.peak_memory_mib()
        files = {"file": ("long.wav", wav, "audio/wav")}
        with server.client(timeout=7200) as client:
            started = time.perf_counter()
            response = client.post(
                "/v1/audio/transcriptions", files=files, data={"response_format": "verbose_json"}
            )
            elapsed = time.perf_counter() - started
        response.raise_for_status()
        grown = server.peak_memory_mib() - warm
        found = [(s["start"], s["end"], s["text"]) for s in response.json()["segments"]]
        return score(reference, found, elapsed), grown, idle, busy_command(server, files)
    finally:
        stop_server(server)


def busy_command(server: LiveServer, files: dict[str, Any]) -> float:
    """A 3-s command's time while the recording runs again; then that client hangs up."""
    windows = server.log_text().count('"event": "window"')
    with server.hanging_up("/v1/audio/transcriptions", files):
        server.wait_for_log('"event": "window"', count=windows + 1)
        return statistics.median(command_seconds(server) for _ in range(3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, nargs="+", default=[12, 20])
    args = parser.parse_args()
    threads = os.cpu_count() or 1
    model = WhisperModel(
        str(installed_model("whisper-base")), compute_type="int8", cpu_threads=threads
    )
    print(f"model whisper-base, int8, {threads} CPU threads; plain = beam 5 with VAD")
    header = (
        f"{'minutes':>7} {'path':<6} {'WER %':>6} {'deleted':>7} {'seconds':>8} {'ratio':>6} "
        f"{'segs':>5} {'median':>6} {'p95':>5} {'max':>5} {'peak MiB':>9}"
    )
    print(header)
    for minutes in args.minutes:
        samples, reference = long(EVAL_DIR, minutes)
        plain = run_plain(model, samples, reference)
        wav = wav_bytes(samples)
        del samples
        with tempfile.TemporaryDirectory() as tmp:
            served, grown, idle, busy = run_server(Path(tmp), wav, reference)
        for name, row, extra in (("plain", plain, ""), ("server", served, f"{grown:>+9.0f}")):
            ratio = row["seconds"] / plain["seconds"]
            print(
                f"{minutes:>7g} {name:<6} {row['wer']:>6.2f} {row['deleted']:>7} "
                f"{row['seconds']:>8.1f} {ratio:>6.2f} {row['segments']:>5} "
                f"{row['median']:>6.1f} {row['p95']:>5.1f} {row['max']:>5.1f} {extra}",
                flush=True,
            )
        print(f"{'':>7} 3-s command: {idle:.2f} s idle, {busy:.2f} s while this one runs")
    print(f"recordings at {RATE} Hz; ratio = seconds / plain seconds")


if __name__ == "__main__":
    main()
