"""Where the speech is: Silero VAD (the ONNX model that ships with faster-whisper)."""

from __future__ import annotations

from faster_whisper.vad import VadOptions, get_speech_timestamps

from vocalis.audio.decode import SAMPLE_RATE, Samples

Span = tuple[int, int]


def speech_spans(audio: Samples, min_silence_ms: int = 250, pad_ms: int = 0) -> list[Span]:
    """(start, end) sample indices of speech; pauses shorter than `min_silence_ms` are bridged."""
    options = VadOptions(min_silence_duration_ms=min_silence_ms, speech_pad_ms=pad_ms)
    spans = get_speech_timestamps(audio, options, sampling_rate=SAMPLE_RATE)
    return [(int(s["start"]), int(s["end"])) for s in spans]
