"""A finished transcription as JSON and back: what the store keeps, so that any format
can be rendered from it later, as often as asked; and a part-way one, to resume from."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from vocalis.audio.decode import SAMPLE_RATE
from vocalis.stt.base import Segment, TranscriptionInfo, Word
from vocalis.stt.windowed import Resume

Result = tuple[TranscriptionInfo, list[Segment]]


def encode(info: TranscriptionInfo, segments: list[Segment]) -> dict[str, Any]:
    return {"info": asdict(info), "segments": [asdict(s) for s in segments]}


def decode(record: dict[str, Any]) -> Result:
    info = TranscriptionInfo(**record["info"])
    return info, [_segment(s) for s in record["segments"]]


def _segment(fields: dict[str, Any]) -> Segment:
    words = [Word(**w) for w in fields.get("words", ())]
    return Segment(**{**fields, "words": words})


def encode_resume(resume: Resume, since: int = 0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A part-way transcription as a checkpoint: its head, and its segments from the
    `since`-th on (those before it are saved already)."""
    seconds = resume.offset / SAMPLE_RATE
    head = {"offset": resume.offset, "seconds": seconds, "info": asdict(resume.info)}
    return head, [asdict(s) for s in resume.segments[since:]]


def decode_resume(record: dict[str, Any]) -> Resume:
    info, segments = decode(record)
    return Resume(int(record["offset"]), info, segments)
