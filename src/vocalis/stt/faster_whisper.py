"""The faster-whisper (CTranslate2) backend: int8 on CPU, float16 on CUDA."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, cast

import ctranslate2
import numpy as np
import numpy.typing as npt
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens
from faster_whisper.vad import VadOptions, get_speech_timestamps

from vocalis.stt import stopping
from vocalis.stt.base import Segment, Transcription, TranscriptionInfo, TranscriptionOptions, Word

SAMPLE_RATE = 16_000
# Whisper's fallback schedule when the caller leaves temperature unset.
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
# Language detection listens to this much speech, found in at most DETECT_SEARCH_SECONDS.
DETECT_SECONDS = 10
DETECT_SEARCH_SECONDS = 60
# Text-only decoding of short audio (a live utterance) encodes only the audio plus 10 s of
# padding, at least 15 s, instead of Whisper's 30 s: the encoder's cost falls steeply with its
# input (measured here, whisper-base int8 on 2 cores: 0.75 s for 30 s, 0.17 s for 15 s, 0.09 s
# for 10 s). With 5 s of padding and a 10-s floor, a 5.5-s sentence came back twice; with
# these, the public clips cut tight at their speech read as they do with 30 s.
SHORT_MAX_SECONDS = 20
SHORT_MIN_FRAMES = 1500
SHORT_PAD_FRAMES = 1000
# A result this repetitive (a loop) goes back to the full 30-s path.
SHORT_MAX_COMPRESSION = 2.4
NO_SPEECH = 0.6


class FasterWhisperTranscriber:
    def __init__(
        self,
        model_dir: Path | str,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        num_workers: int = 1,
        beam_size: int = 5,
    ):
        self.model = WhisperModel(
            str(model_dir),
            device=device,
            compute_type=compute_type,
            cpu_threads=cpu_threads,
            num_workers=num_workers,
        )
        # Each call into CTranslate2 checks first whether its job was stopped (stopping.py).
        self.model.model = cast(ctranslate2.models.Whisper, _Stoppable(self.model.model))
        self.beam_size = beam_size

    def transcribe(
        self, audio: npt.NDArray[np.float32], options: TranscriptionOptions
    ) -> Transcription:
        if _short(audio, options):
            short = self._transcribe_short(audio, options)
            if short is not None:
                return short
        language, probability = options.language, 1.0
        if language is None:
            language, probability = self.detect_language(audio)
        segments, info = self.model.transcribe(
            audio,
            language=language,
            vad_filter=options.vad_filter,
            beam_size=options.beam_size or self.beam_size,
            **_engine_options(options),
        )
        return Transcription(
            TranscriptionInfo(language, probability, info.duration), _convert(segments)
        )

    def detect_language(self, audio: npt.NDArray[np.float32]) -> tuple[str, float]:
        """Whisper's language detection on up to 10 s of speech.

        faster-whisper encodes a whole 30-s window only to pick the language, which costs as
        much as transcribing 30 s. The CTranslate2 encoder takes shorter input, and 10 s of
        speech is detected as confidently (measured here: 0.25 s instead of 1.1 s).
        """
        if not self.model.model.is_multilingual:
            return "en", 1.0
        clip = _first_speech(audio, DETECT_SECONDS * SAMPLE_RATE)
        clip = np.pad(clip, (0, DETECT_SECONDS * SAMPLE_RATE - len(clip)))
        frames = DETECT_SECONDS * SAMPLE_RATE // self.model.feature_extractor.hop_length
        features = self.model.feature_extractor(clip)[:, :frames]
        encoded = self.model.model.encode(
            ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])),
            to_cpu=False,
        )
        token, probability = self.model.model.detect_language(encoded)[0][0]
        return token.strip("<|>"), float(probability)

    def _transcribe_short(
        self, audio: npt.NDArray[np.float32], options: TranscriptionOptions
    ) -> Transcription | None:
        """One text-only decode over a shortened encoder context; None if it looped."""
        features = self.model.feature_extractor(audio)
        frames = min(3000, max(SHORT_MIN_FRAMES, features.shape[1] + SHORT_PAD_FRAMES))
        padded = np.zeros((features.shape[0], frames), dtype=np.float32)
        padded[:, : min(frames, features.shape[1])] = features[:, :frames]
        encoded = self.model.model.encode(
            ctranslate2.StorageView.from_array(padded[None]), to_cpu=False
        )
        language, probability = options.language, 1.0
        if language is None:
            if self.model.model.is_multilingual:
                token, probability = self.model.model.detect_language(encoded)[0][0]
                language = token.strip("<|>")
            else:
                language = "en"
        tokenizer = Tokenizer(
            self.model.hf_tokenizer, self.model.model.is_multilingual, options.task, language
        )
        previous = tokenizer.encode(" " + options.prompt.strip()) if options.prompt else []
        prompt = self.model.get_prompt(
            tokenizer, previous, without_timestamps=True, hotwords=options.hotwords or None
        )
        result = self.model.model.generate(
            encoded,
            [prompt],
            beam_size=options.beam_size or self.beam_size,
            max_length=self.model.max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, (-1,)),
        )[0]
        tokens = result.sequences_ids[0]
        text = tokenizer.decode(tokens)
        compression = get_compression_ratio(text.strip())
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        looped = compression > SHORT_MAX_COMPRESSION or repeats(text)
        if result.no_speech_prob > NO_SPEECH and (avg_logprob < -1 or looped):
            text, tokens = "", []  # silence, or a loop over it
        elif looped:
            return None
        seconds = len(audio) / SAMPLE_RATE
        segment = Segment(
            0, 0, 0.0, seconds, text, tokens, 0.0, avg_logprob, compression, result.no_speech_prob
        )
        info = TranscriptionInfo(language, float(probability), seconds)
        return Transcription(info, iter([segment] if text.strip() else []))


def repeats(text: str, shortest: int = 4) -> bool:
    """The text ends with a run of words said twice in a row: the decoder looped."""
    words = text.lower().split()
    return any(words[-n:] == words[-2 * n : -n] for n in range(len(words) // 2, shortest - 1, -1))


def _short(audio: npt.NDArray[np.float32], options: TranscriptionOptions) -> bool:
    return (
        not options.timestamps
        and not options.word_timestamps
        and len(audio) <= SHORT_MAX_SECONDS * SAMPLE_RATE
    )


def _first_speech(audio: npt.NDArray[np.float32], samples: int) -> npt.NDArray[np.float32]:
    """Up to `samples` of speech from the start, skipping silence and music (Silero VAD)."""
    if len(audio) <= samples:
        return audio
    head = audio[: DETECT_SEARCH_SECONDS * SAMPLE_RATE]
    chunks = get_speech_timestamps(head, VadOptions())
    if not chunks:
        return audio[:samples]
    speech = np.concatenate([head[c["start"] : c["end"]] for c in chunks])
    return speech[:samples]


class _Stoppable:
    """CTranslate2's Whisper, whose calls first check the calling job's stop flag."""

    CHECKED = frozenset({"encode", "generate", "detect_language", "align"})

    def __init__(self, model: ctranslate2.models.Whisper) -> None:
        self._model = model

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._model, name)
        if name not in self.CHECKED:
            return attribute

        def checked(*args: Any, **kwargs: Any) -> Any:
            stopping.check()
            return attribute(*args, **kwargs)

        return checked


def _engine_options(options: TranscriptionOptions) -> dict[str, Any]:
    temperature = FALLBACK_TEMPERATURES if options.temperature is None else options.temperature
    return {
        "task": options.task,
        "initial_prompt": options.prompt or None,
        "temperature": temperature,
        "word_timestamps": options.word_timestamps,
        "hotwords": options.hotwords or None,
        "condition_on_previous_text": options.condition_on_previous_text,
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
