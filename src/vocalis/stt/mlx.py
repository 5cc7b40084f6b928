"""The MLX Whisper backend for Apple Silicon: an optional extra, imported only when chosen."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import numpy.typing as npt

from vocalis.stt.base import Segment, Transcription, TranscriptionInfo, TranscriptionOptions, Word

# MLX reads its own weight format, published by mlx-community on the Hugging Face hub.
MLX_REPOS = {
    "whisper-base": "mlx-community/whisper-base-mlx",
    "whisper-tiny.en": "mlx-community/whisper-tiny.en-mlx",
}


class MlxTranscriber:
    def __init__(self, model_id: str):
        try:
            self._mlx_whisper: Any = importlib.import_module("mlx_whisper")
        except ImportError as exc:
            raise RuntimeError("MLX Whisper is not installed: pip install 'vocalis[mlx]'.") from exc
        self.repo = MLX_REPOS.get(model_id, model_id)

    def transcribe(
        self, audio: npt.NDArray[np.float32], options: TranscriptionOptions
    ) -> Transcription:
        result = self._mlx_whisper.transcribe(
            audio,
            path_or_hf_repo=self.repo,
            language=options.language,
            task=options.task,
            initial_prompt=options.prompt,
            word_timestamps=options.word_timestamps,
            condition_on_previous_text=options.condition_on_previous_text,
            temperature=options.temperature if options.temperature is not None else 0.0,
        )
        info = TranscriptionInfo(result.get("language", "en"), 1.0, len(audio) / 16_000)
        return Transcription(info, _segments(result.get("segments", [])))


def _segments(raw: list[dict[str, Any]]) -> Iterator[Segment]:
    for i, s in enumerate(raw):
        words = [
            Word(w["start"], w["end"], w["word"], w.get("probability", 1.0))
            for w in s.get("words", [])
        ]
        yield Segment(
            id=i,
            seek=int(s.get("seek", 0)),
            start=float(s["start"]),
            end=float(s["end"]),
            text=s["text"],
            tokens=list(s.get("tokens", [])),
            temperature=float(s.get("temperature", 0.0)),
            avg_logprob=float(s.get("avg_logprob", 0.0)),
            compression_ratio=float(s.get("compression_ratio", 0.0)),
            no_speech_prob=float(s.get("no_speech_prob", 0.0)),
            words=words,
        )
