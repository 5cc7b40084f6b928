"""In-process transcription for the CLI, with a progress bar for long files."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from vocalis.audio import decode
from vocalis.config import Settings
from vocalis.models.store import ModelStore
from vocalis.stt import formats
from vocalis.stt.base import Segment, Task, TranscriptionOptions
from vocalis.stt.languages import check_language
from vocalis.stt.service import SpeechToText

# Files shorter than this finish before a progress bar would help.
PROGRESS_MIN_SECONDS = 30.0


def run_transcription(
    settings: Settings,
    store: ModelStore,
    path: Path,
    model: str | None,
    language: str | None,
    fmt: str,
    translate: bool,
    console: Console,
) -> str:
    stt = SpeechToText(settings, store)
    spec = stt.resolve(model)
    language = check_language(language, spec)
    task: Task = "translate" if translate else "transcribe"
    options = TranscriptionOptions(
        task=task, language=language, word_timestamps=fmt == "verbose_json"
    )
    segments: list[Segment] = []
    with path.open("rb") as f:
        seconds = decode.declared_seconds(f)
        audio = decode.stream(f, max_seconds=settings.max_audio_seconds)
        with (
            stt.transcribe(spec, audio, options) as result,
            Progress(
                TextColumn(path.name),
                BarColumn(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
                disable=(seconds or 0) < PROGRESS_MIN_SECONDS,
            ) as bar,
        ):
            progress = bar.add_task(path.name, total=seconds)
            for segment in result.segments:
                segments.append(segment)
                bar.update(progress, completed=segment.end)
    words = frozenset({"segment", "word"})
    body = formats.render(fmt, result.info, segments, task=task, granularities=words)
    return body if isinstance(body, str) else json.dumps(body, ensure_ascii=False, indent=2)
