"""Text-only decoding of short audio over a shortened encoder context, with the real model."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import EVAL_DIR, installed_model, wer
from tests.recordings import _clips
from vocalis.stt.base import TranscriptionOptions
from vocalis.stt.faster_whisper import FasterWhisperTranscriber


@pytest.fixture(scope="module")
def transcriber() -> FasterWhisperTranscriber:
    return FasterWhisperTranscriber(installed_model("whisper-base"), cpu_threads=2)


@pytest.mark.parametrize("index", [1, 2, 3, 6])
def test_short_audio_reads_as_well_as_the_full_window(
    transcriber: FasterWhisperTranscriber, index: int
) -> None:
    samples, reference = _clips(EVAL_DIR)[index]
    full = transcriber.transcribe(samples, TranscriptionOptions(language="en"))
    short = transcriber.transcribe(samples, TranscriptionOptions(timestamps=False))
    segments = list(short.segments)
    assert len(segments) == 1 and segments[0].end == pytest.approx(len(samples) / 16_000)
    assert short.info.language == "en"  # detected on the same short encoding
    full_text = "".join(s.text for s in full.segments)
    assert wer(reference, segments[0].text) <= wer(reference, full_text) + 0.05


def test_silence_gives_no_text(transcriber: FasterWhisperTranscriber) -> None:
    silence = np.zeros(3 * 16_000, dtype=np.float32)
    result = transcriber.transcribe(silence, TranscriptionOptions(timestamps=False))
    assert list(result.segments) == []


def test_long_audio_keeps_the_full_path(transcriber: FasterWhisperTranscriber) -> None:
    samples, reference = _clips(EVAL_DIR)[0]
    long_enough = np.concatenate([samples, np.zeros(10 * 16_000, np.float32)])  # 21 s
    result = transcriber.transcribe(long_enough, TranscriptionOptions(timestamps=False))
    segments = list(result.segments)
    assert segments[-1].end < 15  # Whisper's own timestamps, not the whole 21 s
    assert wer(reference, "".join(s.text for s in segments)) < 0.05


def test_a_sentence_said_twice_counts_as_a_loop() -> None:
    from vocalis.stt.faster_whisper import repeats

    assert repeats("He began a confused complaint. He began a confused complaint.")
    assert repeats("turn on the light turn on the light")
    assert not repeats("Ask not what your country can do for you, ask what you can do")
    assert not repeats("no no no")  # too short to call a loop
