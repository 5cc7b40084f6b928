"""A finished transcription as JSON and back: what the store keeps, so that any format
can be rendered from it later, as often as asked."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from vocalis.stt.base import Segment, TranscriptionInfo, Word

Result = tuple[TranscriptionInfo, list[Segment]]


def encode(info: TranscriptionInfo, segments: list[Segment]) -> dict[str, Any]:
    return {"info": asdict(info), "segments": [asdict(s) for s in segments]}


def decode(record: dict[str, Any]) -> Result:
    info = TranscriptionInfo(**record["info"])
    return info, [_segment(s) for s in record["segments"]]


def _segment(fields: dict[str, Any]) -> Segment:
    words = [Word(**w) for w in fields.get("words", ())]
    return Segment(**{**fields, "words": words})
