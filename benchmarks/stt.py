"""Speech-to-text speed: the server end to end against faster-whisper called directly.

Three measurements, interleaved round by round so machine noise hits them all alike:
  plain   faster-whisper's plain sequential `WhisperModel.transcribe` (int8, beam 5), the
          call a user would write by hand;
  engine  the same engine path the server takes for this recording, called directly;
  server  HTTP upload to response through a live Vocalis server.
Run with `make bench` (or `python benchmarks/stt.py`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from faster_whisper import WhisperModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import eval_dir, start_server, stop_server, wer  # noqa: E402
from tests.recordings import short  # noqa: E402
from vocalis.audio.decode import stream  # noqa: E402
from vocalis.config import Settings  # noqa: E402
from vocalis.models.catalog import default_catalog  # noqa: E402
from vocalis.models.store import ModelStore  # noqa: E402
from vocalis.stt.base import TranscriptionOptions  # noqa: E402
from vocalis.stt.faster_whisper import FasterWhisperTranscriber  # noqa: E402
from vocalis.stt.service import SpeechToText  # noqa: E402
from vocalis.stt.windowed import transcribe_windows  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default="whisper-base")
    args = parser.parse_args()

    settings = Settings()
    store = ModelStore(default_catalog(), settings.models_dir, settings.local_models)
    model_dir = store.path(store.spec(args.model))
    wav, reference, seconds = short(eval_dir())
    threads = os.cpu_count() or 1
    print(f"recording: {seconds:.1f} s, model {args.model}, {threads} CPU threads, int8")

    plain_model = WhisperModel(
        str(model_dir), device="cpu", compute_type="int8", cpu_threads=threads
    )
    engine = FasterWhisperTranscriber(model_dir, cpu_threads=threads, beam_size=settings.beam_size)
    windowing = SpeechToText(settings, store).windowing
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.wav"
        path.write_bytes(wav)

        def plain() -> str:
            segments, _ = plain_model.transcribe(str(path), beam_size=5)
            return "".join(s.text for s in segments)

        def direct() -> str:
            with path.open("rb") as f:
                audio = stream(f, max_seconds=settings.max_audio_seconds)
                result = transcribe_windows(engine, audio, TranscriptionOptions(), windowing)
                return "".join(s.text for s in result.segments)

        server = start_server(
            Path(tmp), VOCALIS_PRELOAD="true", VOCALIS_DEFAULT_STT_MODEL=args.model
        )
        try:
            with server.client(timeout=600) as client:

                def http() -> str:
                    files = {"file": ("recording.wav", wav, "audio/wav")}
                    response = client.post("/v1/audio/transcriptions", files=files)
                    response.raise_for_status()
                    return str(response.json()["text"])

                runs = {"plain": plain, "engine": direct, "server": http}
                for fn in runs.values():  # warm-up: load, caches
                    fn()
                times: dict[str, list[float]] = {name: [] for name in runs}
                texts: dict[str, str] = {}
                for _ in range(args.rounds):
                    for name, fn in runs.items():
                        started = time.perf_counter()
                        texts[name] = fn()
                        times[name].append(time.perf_counter() - started)
        finally:
            stop_server(server)

    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{'path':<8} {'median s':>9} {'RTF':>7} {'WER':>7}")
    for name in runs:
        rtf = median[name] / seconds
        print(f"{name:<8} {median[name]:>9.2f} {rtf:>7.3f} {wer(reference, texts[name]):>7.3f}")
    ratio = median["server"] / median["plain"]
    print(f"\nserver / plain faster-whisper: {ratio:.2f}  (target <= 0.60)")
    overhead = median["server"] / median["engine"] - 1
    print(f"server overhead over the same engine path: {overhead * 100:+.1f}%  (target < 5%)")


if __name__ == "__main__":
    main()
