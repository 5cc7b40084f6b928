"""A transcription stops between two engine calls once its job's flag is set, real model."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import EVAL_DIR, installed_model, wer
from tests.recordings import long
from vocalis.stt.base import TranscriptionOptions
from vocalis.stt.faster_whisper import FasterWhisperTranscriber
from vocalis.stt.stopping import Stopped, stops_when


@pytest.fixture(scope="module")
def transcriber() -> FasterWhisperTranscriber:
    return FasterWhisperTranscriber(installed_model("whisper-tiny.en"), cpu_threads=2)


def test_a_stopped_job_makes_no_further_engine_call(
    transcriber: FasterWhisperTranscriber,
) -> None:
    samples, _ = long(EVAL_DIR, 1.5)  # three of Whisper's 30-s chunks
    flag = threading.Event()
    engine = transcriber.model.model
    inner = engine._model  # CTranslate2's own Whisper, under the stop checks
    calls: list[str] = []

    class Recording:
        """Records each call that reaches CTranslate2; the client goes after the first
        chunk is decoded."""

        def __getattr__(self, name: str) -> object:
            attribute = getattr(inner, name)
            if name not in ("encode", "generate"):
                return attribute

            def call(*args: object, **kwargs: object) -> object:
                calls.append(name)
                result = attribute(*args, **kwargs)
                if name == "generate":
                    flag.set()
                return result

            return call

    engine._model = Recording()
    try:
        with stops_when(flag), pytest.raises(Stopped):
            result = transcriber.transcribe(samples, TranscriptionOptions(language="en"))
            list(result.segments)
    finally:
        engine._model = inner
    # The first chunk was encoded and decoded; the second chunk's encode never ran.
    assert calls == ["encode", "generate"]


def test_the_flag_belongs_to_its_own_thread(transcriber: FasterWhisperTranscriber) -> None:
    samples, reference = long(EVAL_DIR, 0.5)
    stopped = threading.Event()
    stopped.set()

    def other_job() -> str:
        result = transcriber.transcribe(samples, TranscriptionOptions(language="en"))
        return "".join(s.text for s in result.segments)

    with stops_when(stopped), ThreadPoolExecutor(1) as pool:
        text = pool.submit(other_job).result()  # another thread: not stopped
        with pytest.raises(Stopped):
            list(transcriber.transcribe(samples, TranscriptionOptions(language="en")).segments)
    assert wer(reference, text) < 0.1
    # Outside the block the same thread transcribes again.
    again = transcriber.transcribe(samples, TranscriptionOptions(language="en"))
    assert wer(reference, "".join(s.text for s in again.segments)) < 0.1
