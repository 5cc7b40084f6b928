"""What each way of decoding a long recording buys in words and seconds: the library alone.

`make bench-candidates`. One 12-minute recording stitched from the public clips; each
candidate is timed once, in this process, on the same array:
  plain-beam5           WhisperModel.transcribe, beam 5, VAD (the reference point)
  plain-greedy          the same, beam 1
  plain-greedy-nocond   beam 1, condition_on_previous_text=False
  batched               BatchedInferencePipeline, batch 8, beam 1 (Vocalis before 0.2)
  batched-timestamps    the same with without_timestamps=False
  batched-ts-15s        and chunk_length=15
  windows-beam5         Vocalis' windows, beam 5, conditioning on earlier text
  windows-greedy-carry  windows, beam 1, conditioning on, each window prompted with the text so far
  windows-greedy        windows, beam 1, no conditioning (what Vocalis does)
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from faster_whisper import BatchedInferencePipeline

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.long import score  # noqa: E402
from tests.conftest import EVAL_DIR, installed_model  # noqa: E402
from tests.recordings import long  # noqa: E402
from vocalis.stt.base import Transcription, TranscriptionOptions  # noqa: E402
from vocalis.stt.faster_whisper import FasterWhisperTranscriber  # noqa: E402
from vocalis.stt.windowed import Windowing, transcribe_windows  # noqa: E402

Found = list[tuple[float, float, str]]


class Carrying:
    """Prompts each call with the end of the text so far, as Whisper carries it internally."""

    def __init__(self, engine: FasterWhisperTranscriber):
        self.engine = engine
        self.text = ""

    def transcribe(self, audio: np.ndarray, options: TranscriptionOptions) -> Transcription:
        prompted = replace(options, prompt=self.text[-1000:] or None)
        result = self.engine.transcribe(audio, prompted)
        result.segments = self._keep(result.segments)
        return result

    def _keep(self, segments: Iterable[Any]) -> Any:
        for segment in segments:
            self.text += segment.text
            yield segment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=12)
    args = parser.parse_args()
    samples, reference = long(EVAL_DIR, args.minutes)
    engine = FasterWhisperTranscriber(
        installed_model("whisper-base"), cpu_threads=os.cpu_count() or 1
    )
    model = engine.model
    batched = BatchedInferencePipeline(model)

    def library(fn: Callable[..., Any], **kw: Any) -> Callable[[], Found]:
        return lambda: [(s.start, s.end, s.text) for s in fn(samples, language="en", **kw)[0]]

    def windowed(beam: int, condition: bool, carry: bool = False) -> Callable[[], Found]:
        plan = Windowing(long_beam_size=beam)
        options = TranscriptionOptions(language="en")

        def run() -> Found:
            used: Any = Carrying(engine) if carry else engine
            planned = replace(plan.options_for(options, True), condition_on_previous_text=condition)
            pieces = [samples[i : i + 4096] for i in range(0, len(samples), 4096)]
            result = transcribe_windows(used, pieces, planned, plan)
            return [(s.start, s.end, s.text) for s in result.segments]

        return run

    candidates: dict[str, Callable[[], Found]] = {
        "plain-beam5": library(model.transcribe, beam_size=5, vad_filter=True),
        "plain-greedy": library(model.transcribe, beam_size=1, vad_filter=True),
        "plain-greedy-nocond": library(
            model.transcribe, beam_size=1, vad_filter=True, condition_on_previous_text=False
        ),
        "batched": library(batched.transcribe, beam_size=1, batch_size=8),
        "batched-timestamps": library(
            batched.transcribe, beam_size=1, batch_size=8, without_timestamps=False
        ),
        "batched-ts-15s": library(
            batched.transcribe,
            beam_size=1,
            batch_size=8,
            without_timestamps=False,
            chunk_length=15,
        ),
        "windows-beam5": windowed(5, condition=True),
        "windows-greedy-carry": windowed(1, condition=True, carry=True),
        "windows-greedy": windowed(1, condition=False),
    }
    print(f"{args.minutes:g} min, whisper-base int8; ratio = seconds / plain-beam5 seconds")
    print(
        f"{'candidate':<22} {'WER %':>6} {'deleted':>7} {'seconds':>8} {'ratio':>6} "
        f"{'segs':>5} {'median':>6} {'max':>5}"
    )
    base = None
    for name, run in candidates.items():
        started = time.perf_counter()
        found = run()
        row = score(reference, found, time.perf_counter() - started)
        base = base or row["seconds"]
        print(
            f"{name:<22} {row['wer']:>6.2f} {row['deleted']:>7} {row['seconds']:>8.1f} "
            f"{row['seconds'] / base:>6.2f} {row['segments']:>5} {row['median']:>6.1f} "
            f"{row['max']:>5.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
