"""Renders a finished transcription in each OpenAI `response_format`, and in the outputs of
whisper-asr-webservice (`txt`, `tsv`, `json`; its `srt` and `vtt` are the same as OpenAI's)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from vocalis.stt.base import Segment, Task, TranscriptionInfo
from vocalis.stt.subtitles import layout

ResponseFormat = Literal["json", "text", "srt", "vtt", "verbose_json"]
RESPONSE_FORMATS: tuple[str, ...] = ("json", "text", "srt", "vtt", "verbose_json")

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "verbose_json": "application/json",
    "text": "text/plain; charset=utf-8",
    "srt": "text/plain; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}


class Timed(Protocol):
    """A stretch of text on the timeline: a segment, or a laid-out subtitle cue."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def text(self) -> str: ...


def full_text(segments: Sequence[Segment]) -> str:
    return "".join(s.text for s in segments).strip()


def timestamp(seconds: float, decimal: str) -> str:
    """HH:MM:SS,mmm for SRT (decimal=",") and HH:MM:SS.mmm for WebVTT (decimal=".")."""
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def to_srt(cues: Sequence[Timed]) -> str:
    blocks = [
        f"{i}\n{timestamp(c.start, ',')} --> {timestamp(c.end, ',')}\n{_cue_text(c)}\n"
        for i, c in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: Sequence[Timed]) -> str:
    blocks = [
        f"{timestamp(c.start, '.')} --> {timestamp(c.end, '.')}\n{_cue_text(c)}\n" for c in cues
    ]
    return "\n".join(["WEBVTT\n", *blocks])


def _cue_text(cue: Timed) -> str:
    # An arrow in the text would read as a timing line, and a blank line would end the cue.
    lines = (line.strip() for line in cue.text.strip().replace("-->", "->").splitlines())
    return "\n".join(line for line in lines if line)


def to_txt(segments: Sequence[Segment]) -> str:
    """whisper-asr-webservice's txt: each segment's text on its own line."""
    return "".join(f"{s.text.strip()}\n" for s in segments)


def to_tsv(segments: Sequence[Segment]) -> str:
    """whisper-asr-webservice's tsv: integer milliseconds, so no locale can misread a decimal."""
    rows = [
        f"{round(1000 * s.start)}\t{round(1000 * s.end)}\t{s.text.strip().replace(chr(9), ' ')}\n"
        for s in segments
    ]
    return "start\tend\ttext\n" + "".join(rows)


def to_asr_json(language: str, segments: Sequence[Segment]) -> dict[str, Any]:
    """whisper-asr-webservice's json: faster-whisper's own result, its segments' fields as
    faster-whisper names them (`words` null unless word timestamps were asked for)."""
    return {
        "language": language,
        "segments": [_faster_whisper_segment(s) for s in segments],
        "text": "".join(s.text for s in segments),
    }


def _faster_whisper_segment(s: Segment) -> dict[str, Any]:
    words = [
        {"start": w.start, "end": w.end, "word": w.word, "probability": w.probability}
        for w in s.words
    ]
    return {
        # faster-whisper counts its segments from 1.
        "id": s.id + 1,
        "seek": s.seek,
        "start": s.start,
        "end": s.end,
        "text": s.text,
        "tokens": s.tokens,
        "avg_logprob": s.avg_logprob,
        "compression_ratio": s.compression_ratio,
        "no_speech_prob": s.no_speech_prob,
        "words": words or None,
        "temperature": s.temperature,
    }


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
    subtitle_layout: bool = False,
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
    return render_text(fmt, segments, subtitle_layout=subtitle_layout)


def render_text(fmt: str, segments: Sequence[Segment], *, subtitle_layout: bool = False) -> str:
    """The plain-text formats; srt and vtt cue by cue from the words with `subtitle_layout`,
    else one cue a segment."""
    if fmt in ("srt", "vtt"):
        cues: Sequence[Timed] = layout(segments) if subtitle_layout else segments
        return to_srt(cues) if fmt == "srt" else to_vtt(cues)
    return full_text(segments) + "\n"


ASR_OUTPUTS: tuple[str, ...] = ("txt", "vtt", "srt", "tsv", "json", "jsonl")
ASR_MEDIA_TYPES: dict[str, str] = {
    "txt": "text/plain; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "srt": "text/plain; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
    "json": "application/json",
    "jsonl": "application/jsonl",
}


def render_asr(
    output: str, language: str, segments: Sequence[Segment], *, subtitle_layout: bool = True
) -> dict[str, Any] | str:
    """The body of a whisper-asr-webservice `output` (and jsonl, one segment a line)."""
    if output == "json":
        return to_asr_json(language, segments)
    if output == "jsonl":
        lines = to_asr_json(language, segments)["segments"]
        return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    if output == "txt":
        return to_txt(segments)
    if output == "tsv":
        return to_tsv(segments)
    return render_text(output, segments, subtitle_layout=subtitle_layout)
