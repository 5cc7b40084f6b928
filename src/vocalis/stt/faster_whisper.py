"""The faster-whisper (CTranslate2) backend: int8 on CPU, float16 on CUDA."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from faster_whisper import BatchedInferencePipeline, WhisperModel

from vocalis.stt.base import Segment, Transcription, TranscriptionInfo, TranscriptionOptions, Word

SAMPLE_RATE = 16_000
# Whisper's fallback schedule when the caller leaves temperature unset.
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


class FasterWhisperTranscriber:
    def __init__(
        self,
        model_dir: Path | str,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        num_workers: int = 1,
        batched_min_seconds: float = 30.0,
        batch_size: int = 8,
    ):
        self.model = WhisperModel(
            str(model_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
        )
        self.batched = BatchedInferencePipeline(self.model)
        self.batched_min_seconds = batched_min_seconds
        self.batch_size = batch_size

    def uses_batching(self, seconds: float) -> bool:
        return seconds >= self.batched_min_seconds > 0

    def transcribe(
        self, audio: npt.NDArray[np.float32], options: TranscriptionOptions
    ) -> Transcription:
        seconds = len(audio) / SAMPLE_RATE
        common = _engine_options(options)
        segments: Iterable[Any]
        if self.uses_batching(seconds):
            # Long audio: VAD cuts it into speech chunks that are decoded as one batch.
            segments, info = self.batched.transcribe(
                audio, batch_size=self.batch_size, vad_filter=True, **common
            )
        else:
            segments, info = self.model.transcribe(audio, vad_filter=options.vad_filter, **common)
        return Transcription(
            TranscriptionInfo(info.language, info.language_probability, info.duration),
            _convert(segments),
        )


def _engine_options(options: TranscriptionOptions) -> dict[str, Any]:
    temperature = FALLBACK_TEMPERATURES if options.temperature is None else options.temperature
    return {
        "language": options.language,
        "task": options.task,
        "initial_prompt": options.prompt or None,
        "temperature": temperature,
        "word_timestamps": options.word_timestamps,
        "hotwords": options.hotwords or None,
        "beam_size": options.beam_size,
    }


def _convert(segments: Iterable[Any]) -> Iterator[Segment]:
    # faster-whisper counts segments from 1; OpenAI from 0.
    for index, s in enumerate(segments):
        words = [Word(w.start, w.end, w.word, w.probability) for w in s.words or ()]
        yield Segment(
            id=index,
            seek=s.seek,
            start=s.start,
            end=s.end,
            text=s.text,
            tokens=list(s.tokens),
            temperature=s.temperature or 0.0,
            avg_logprob=s.avg_logprob,
            compression_ratio=s.compression_ratio,
            no_speech_prob=s.no_speech_prob,
            words=words,
        )
