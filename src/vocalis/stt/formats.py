"""Renders a finished transcription in each OpenAI `response_format`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from vocalis.stt.base import Segment, Task, TranscriptionInfo

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
RESPONSE_FORMATS: tuple[str, ...] = ("json", "text", "srt", "vtt", "verbose_json")

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "verbose_json": "application/json",
    "text": "text/plain; charset=utf-8",
    "srt": "text/plain; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


def full_text(segments: Sequence[Segment]) -> str:
    return "".join(s.text for s in segments).strip()


def timestamp(seconds: float, decimal: str) -> str:
    """HH:MM:SS,mmm for SRT (decimal=",") and HH:MM:SS.mmm for WebVTT (decimal=".")."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def to_srt(segments: Sequence[Segment]) -> str:
    blocks = [
        f"{i}\n{timestamp(s.start, ',')} --> {timestamp(s.end, ',')}\n{s.text.strip()}\n"
        for i, s in enumerate(segments, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: Sequence[Segment]) -> str:
    cues = [
        f"{timestamp(s.start, '.')} --> {timestamp(s.end, '.')}\n{s.text.strip()}\n"
        for s in segments
    ]
    return "\n".join(["WEBVTT\n", *cues])


def duration_usage(info: TranscriptionInfo) -> dict[str, Any]:
    # Whisper-style models bill by audio length; OpenAI reports it in whole seconds.
    return {"type": "duration", "seconds": math.ceil(info.duration)}


def logprobs(segments: Sequence[Segment]) -> list[dict[str, Any]]:
    """Per-word log probabilities (the engine's word confidences)."""
    return [
        {
            "token": w.word,
            "logprob": math.log(max(w.probability, 1e-12)),
            "bytes": list(w.word.encode()),
        }
        for s in segments
        for w in s.words
    ]


def to_json(
    info: TranscriptionInfo, segments: Sequence[Segment], *, with_logprobs: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {"text": full_text(segments), "usage": duration_usage(info)}
    if with_logprobs:
        body["logprobs"] = logprobs(segments)
    return body


def to_verbose_json(
    info: TranscriptionInfo,
    segments: Sequence[Segment],
    *,
    task: Task,
    segment_level: bool = True,
    word_level: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": task,
        # A translation's language is its output's, as OpenAI reports it.
        "language": "en" if task == "translate" else info.language,
        "duration": info.duration,
        "text": full_text(segments),
    }
    if segment_level:
        body["segments"] = [_segment(s) for s in segments]
    if word_level:
        body["words"] = [
            {"word": w.word.strip(), "start": w.start, "end": w.end}
            for s in segments
            for w in s.words
        ]
    if task == "transcribe":
        body["usage"] = duration_usage(info)
    return body


def _segment(s: Segment) -> dict[str, Any]:
    return {
        "id": s.id,
        "seek": s.seek,
        "start": s.start,
        "end": s.end,
        "text": s.text,
        "tokens": s.tokens,
        "temperature": s.temperature,
        "avg_logprob": s.avg_logprob,
        "compression_ratio": s.compression_ratio,
        "no_speech_prob": s.no_speech_prob,
    }


def render(
    fmt: str,
    info: TranscriptionInfo,
    segments: Sequence[Segment],
    *,
    task: Task,
    granularities: frozenset[str] = frozenset({"segment"}),
    with_logprobs: bool = False,
) -> dict[str, Any] | str:
    """The response body: a JSON object for json and verbose_json, text for the others."""
    if fmt == "json":
        return to_json(info, segments, with_logprobs=with_logprobs)
    if fmt == "verbose_json":
        return to_verbose_json(
            info,
            segments,
            task=task,
            segment_level="segment" in granularities,
            word_level="word" in granularities,
        )
    return render_text(fmt, segments)


def render_text(fmt: str, segments: Sequence[Segment]) -> str:
    """The plain-text formats."""
    if fmt == "srt":
        return to_srt(segments)
    if fmt == "vtt":
        return to_vtt(segments)
    return full_text(segments) + "\n"
