"""The MLX backend's conversion of mlx_whisper results, with a stand-in module.

MLX runs only on Apple Silicon; here a fake `mlx_whisper` module checks the adapter logic.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import numpy as np
import pytest

from vocalis.stt.base import TranscriptionOptions
from vocalis.stt.mlx import MLX_REPOS, MlxTranscriber


def test_results_become_openai_shaped_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def transcribe(audio: np.ndarray, **kwargs: Any) -> dict[str, Any]:
        calls.append(kwargs)
        return {
            "language": "de",
            "segments": [
                {"start": 0.0, "end": 1.5, "text": " Hallo", "tokens": [1, 2], "seek": 0,
                 "avg_logprob": -0.2, "compression_ratio": 1.1, "no_speech_prob": 0.01,
                 "words": [{"start": 0.1, "end": 0.6, "word": " Hallo", "probability": 0.9}]},
                {"start": 1.5, "end": 2.0, "text": " Welt", "tokens": [3]},
            ],
        }  # fmt: skip

    module = types.ModuleType("mlx_whisper")
    module.transcribe = transcribe  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mlx_whisper", module)

    transcriber = MlxTranscriber("whisper-base")
    options = TranscriptionOptions(language="de", word_timestamps=True, prompt="Grüße")
    result = transcriber.transcribe(np.zeros(32_000, dtype=np.float32), options)
    segments = list(result.segments)

    assert calls[0]["path_or_hf_repo"] == MLX_REPOS["whisper-base"]
    assert calls[0]["language"] == "de" and calls[0]["initial_prompt"] == "Grüße"
    assert result.info.language == "de" and result.info.duration == 2.0
    assert [s.id for s in segments] == [0, 1]
    assert [s.text for s in segments] == [" Hallo", " Welt"]
    assert segments[0].words[0].word == " Hallo" and segments[1].words == []


def test_missing_mlx_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlx_whisper", None)
    with pytest.raises(RuntimeError, match=r"vocalis\[mlx\]"):
        MlxTranscriber("whisper-base")
