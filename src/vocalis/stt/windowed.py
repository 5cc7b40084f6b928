"""Transcription of a recording of any length, window by window, through any Transcriber.

The audio arrives as decoded pieces and is cut into windows at pauses (`windows.py`); each
window is one engine call. Timestamps are offset to the recording, segment ids run on, and
the language found in the first window holds for the rest.

A long recording is decoded greedily at temperature 0, with VAD, and without conditioning
each 30-s chunk on the text before it; no text is carried from one window to the next, and a
caller's prompt is given to every window. Measured on 12 minutes of read speech (`make
bench-candidates`): greedy decoding over the whole recording skipped passages (16.2% word
error rate, 13.8% without conditioning), carrying each window's text into the next made it
loop (27.8%), and independent windows kept every passage (1.2%, against 2.1% for plain beam
5) in 0.59x the time.

Between steps a `checkpoint` callback lets the caller log progress, give way to other
work, or stop a job whose client has gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import chain

from vocalis import memory
from vocalis.audio.decode import SAMPLE_RATE, Samples
from vocalis.audio.vad import speech_spans
from vocalis.stt.base import (
    Segment,
    Transcriber,
    Transcription,
    TranscriptionInfo,
    TranscriptionOptions,
    Word,
)
from vocalis.stt.windows import Window, windows

# A segment this long whose speech carries under this many words a second is decoded again
# with beam search (`sparse`).
SPARSE_MIN_SECONDS = 8.0
SPARSE_WORDS_PER_SECOND = 1.0
REDO_BEAM_SIZE = 5
# A stretch this long with no segment over it is decoded again, all but a margin at each
# end, where the neighbours' own words may run on past their timestamps.
GAP_MIN_SECONDS = 8.0
GAP_MARGIN_SECONDS = 1.0
REDO_MIN_SILENCE_MS = 300
REDO_PAD_MS = 200
# Greedy at temperature 0 only, for long recordings whose request sets no temperature.
# Whisper's fallback schedule (up to 1.0, sampled) measured in-process on this 2-core machine:
# 20 min 1.21% WER in 33.7 s against 1.25% in 29.9 s at 0; 2 h 3.10% in 240 s against 3.20%
# in 184 s; and on a 73-s stream of repeated phrases 2.8-16.7% WER from run to run in 8 s,
# against 2.78% every time in 1.5 s at 0.
LONG_TEMPERATURE = 0.0


@dataclass(frozen=True)
class Windowing:
    """How a recording is split, and what changes once it counts as long."""

    window_seconds: float = 120.0
    search_seconds: float = 20.0
    # From this length on: VAD always on, no conditioning on earlier text, and
    # `long_beam_size` unless the request sets one.
    long_seconds: float = 30.0
    long_beam_size: int = 1

    def options_for(self, options: TranscriptionOptions, long: bool) -> TranscriptionOptions:
        if not long:
            return options
        return replace(
            options,
            vad_filter=True,
            beam_size=options.beam_size or self.long_beam_size,
            condition_on_previous_text=False,
            # No fallback to sampling unless asked: it rarely finds more words here, costs
            # time and makes two runs differ (see LONG_TEMPERATURE).
            temperature=LONG_TEMPERATURE if options.temperature is None else options.temperature,
        )


@dataclass(frozen=True)
class Resume:
    """Where a transcription stopped part-way can go on: the windows before `offset`
    (samples of the recording) are done, and these are their segments."""

    offset: int
    info: TranscriptionInfo
    segments: list[Segment]


@dataclass(frozen=True)
class Progress:
    window: int  # counted from 0
    seconds: float  # of the recording, transcribed so far
    long: bool
    starting: bool  # True at the start of a window, False after a segment
    # At the start of every window but the first: what a later run may resume from.
    resume: Resume | None = None


Checkpoint = Callable[[Progress], None]


def transcribe_windows(
    transcriber: Transcriber,
    audio: Iterable[Samples],
    options: TranscriptionOptions,
    windowing: Windowing | None = None,
    checkpoint: Checkpoint | None = None,
    resume: Resume | None = None,
) -> Transcription:
    """Reads and transcribes the first window now (so bad audio fails here); the rest is
    transcribed as the segments are iterated. `info.duration` is the whole recording's
    once the segments are exhausted.

    With `resume`, the windows it covers are read (the audio must be the same) but not
    transcribed again: its segments come first, and the language it found holds."""
    plan = windowing or Windowing()
    rate = SAMPLE_RATE
    parts = windows(
        audio, int(plan.window_seconds * rate), int(plan.search_seconds * rate), speech_spans
    )
    first = next(parts)
    long = not first.last or len(first.samples) >= plan.long_seconds * rate
    run = _Run(transcriber, plan.options_for(options, long), long, checkpoint)
    if resume is not None:
        return run.resume(resume, chain([first], parts))
    return run.start(first, parts)


class _Run:
    def __init__(
        self,
        transcriber: Transcriber,
        options: TranscriptionOptions,
        long: bool,
        checkpoint: Checkpoint | None,
    ):
        self.transcriber = transcriber
        self.options = options
        self.long = long
        self.checkpoint = checkpoint or (lambda _: None)
        self.done: list[Segment] = []  # every segment given out so far

    def start(self, first: Window, rest: Iterator[Window]) -> Transcription:
        self.checkpoint(Progress(0, 0.0, self.long, starting=True))
        result = self.transcriber.transcribe(first.samples, self.options)
        self.options = replace(self.options, language=result.info.language)
        transcription = Transcription(result.info, iter(()))
        windows = chain([(first, result.segments)], ((w, None) for w in rest))
        transcription.segments = self._segments(transcription, windows, skip=0)
        return transcription

    def resume(self, resume: Resume, parts: Iterator[Window]) -> Transcription:
        if self.options.language is None:
            self.options = replace(self.options, language=resume.info.language)
        self.done = list(resume.segments)
        transcription = Transcription(resume.info, iter(()))
        windows = ((w, None) for w in parts)
        transcription.segments = chain(
            resume.segments, self._segments(transcription, windows, skip=resume.offset)
        )
        return transcription

    def _segments(
        self,
        transcription: Transcription,
        windows: Iterator[tuple[Window, Iterator[Segment] | None]],
        skip: int,
    ) -> Iterator[Segment]:
        """Each window's segments, the window transcribed when it is reached (the first
        may come transcribed); windows that end by `skip` samples are passed over."""
        end = skip
        for index, (window, segments) in enumerate(windows):
            end = window.offset + len(window.samples)
            if end <= skip:
                continue
            if segments is None:
                memory.release()  # what the last window freed, so memory stays flat
                at = max(window.offset, skip)
                done = Resume(at, transcription.info, list(self.done))
                self.checkpoint(Progress(index, at / SAMPLE_RATE, self.long, True, done))
                segments = self.transcriber.transcribe(window.samples, self.options).segments
            for segment in self._window(index, window, segments):
                # Cut elsewhere than the run resumed from: what it had already is kept.
                if segment.start * SAMPLE_RATE >= skip:
                    self.done.append(segment)
                    yield segment
        transcription.info = replace(transcription.info, duration=end / SAMPLE_RATE)

    def _window(self, index: int, window: Window, segments: Iterator[Segment]) -> Iterator[Segment]:
        """The segments placed in the recording, with a checkpoint after each: the engine
        decodes the next 30 s only when asked for the next segment."""
        offset = window.offset
        for segment in self._checked(window.samples, segments):
            placed = _shifted(segment, offset / SAMPLE_RATE, offset // 160)
            # Whisper may stamp past the window's end, where the next window starts.
            end = max(placed.start, min(placed.end, (offset + len(window.samples)) / SAMPLE_RATE))
            yield replace(placed, id=len(self.done), end=end)
            self.checkpoint(Progress(index, placed.end, self.long, starting=False))

    def _checked(self, audio: Samples, segments: Iterator[Segment]) -> Iterator[Segment]:
        """The window's segments, with speech Whisper jumped decoded again: a sparse segment
        (see `sparse`) is replaced, and a long stretch with no segment over it is filled."""
        if not self.long:
            yield from segments
            return
        covered = 0.0  # window seconds up to which segments have spoken
        for segment in segments:
            yield from self._redo(
                audio, covered + GAP_MARGIN_SECONDS, segment.start - GAP_MARGIN_SECONDS, gap=True
            )
            redone = self._redo(audio, segment.start, segment.end) if sparse(segment, audio) else []
            chosen = redone if sum(_words(s) for s in redone) > _words(segment) else [segment]
            yield from chosen
            covered = max(covered, chosen[-1].end)
        yield from self._redo(
            audio, covered + GAP_MARGIN_SECONDS, len(audio) / SAMPLE_RATE, gap=True
        )

    def _redo(
        self, audio: Samples, begin: float, finish: float, gap: bool = False
    ) -> list[Segment]:
        """The speech between `begin` and `finish` (window seconds) again, each stretch of it
        on its own, with beam search: a stretch decoded alone cannot be jumped over. A gap
        shorter than GAP_MIN_SECONDS is left alone: it is a pause."""
        if gap and finish - begin < GAP_MIN_SECONDS - 2 * GAP_MARGIN_SECONDS:
            return []
        start, stop = int(begin * SAMPLE_RATE), int(finish * SAMPLE_RATE)
        # A stretch is short, and its bounds are its segment's timestamps: the text alone
        # lets the backend encode a few seconds instead of Whisper's 30.
        options = replace(
            self.options, beam_size=REDO_BEAM_SIZE, vad_filter=False, timestamps=False
        )
        redone = []
        for a, b in speech_spans(audio[start:stop], REDO_MIN_SILENCE_MS, REDO_PAD_MS):
            result = self.transcriber.transcribe(audio[start + a : start + b], options)
            for part in result.segments:
                placed = _shifted(part, (start + a) / SAMPLE_RATE, (start + a) // 160)
                end = min(placed.end, (start + b) / SAMPLE_RATE)
                redone.append(replace(placed, end=max(placed.start, end)))
        return redone


def sparse(segment: Segment, audio: Samples) -> bool:
    """A long segment with far fewer words than the speech under it: Whisper jumped over a
    passage. On a two-hour recording it happened four times, an 11-s passage inside one
    21-s segment of six words; beam search over the same 21 s jumped it again. Read speech
    carries 2-3 words a second."""
    if segment.end - segment.start < SPARSE_MIN_SECONDS:
        return False
    start, stop = int(segment.start * SAMPLE_RATE), int(segment.end * SAMPLE_RATE)
    speech = sum(b - a for a, b in speech_spans(audio[start:stop])) / SAMPLE_RATE
    return speech >= SPARSE_MIN_SECONDS / 2 and _words(segment) < SPARSE_WORDS_PER_SECOND * speech


def _words(segment: Segment) -> int:
    return len(segment.text.split())


def _shifted(segment: Segment, seconds: float, frames: int) -> Segment:
    """The segment placed in the recording: `seconds` later, `frames` (10 ms) further."""
    if not seconds:
        return segment
    words = [Word(w.start + seconds, w.end + seconds, w.word, w.probability) for w in segment.words]
    return replace(
        segment,
        seek=segment.seek + frames,
        start=segment.start + seconds,
        end=segment.end + seconds,
        words=words,
    )
