"""Speech out: incremental text to sentences (pure), and an utterance speaking them as they come."""

from __future__ import annotations

import random
from collections.abc import AsyncGenerator
from contextlib import aclosing
from pathlib import Path

import anyio
import pytest

from vocalis.config import Settings
from vocalis.live.speech import FRAME_SECONDS, TextStream, Utterance
from vocalis.models.catalog import default_catalog
from vocalis.models.store import ModelStore
from vocalis.server.jobs import JobQueue
from vocalis.tts.base import FakeSynthesizer, SynthesisOptions, Synthesizer
from vocalis.tts.service import SpeechRequest, TextToSpeech
from vocalis.tts.text import split_sentences

TRICKY = [
    "The quick brown fox jumps over the lazy dog. Please turn on the kitchen lights.",
    "It costs 3.5 dollars. Dr. Smith agreed, e.g. on Monday. Wait... what? Yes!",
    'Call J. R. R. Tolkien now. "Really?" she asked. (Yes.) No. 5 is here.',
    "One line\nand another line.\n\nThen a third! ... And more.",
    "Numbers like 1,000.25 and times like 10:30. Done.",
    "一つ目の文です。二つ目の文です\uff01三つ目\uff1f",  # fullwidth ! and ?
]


def pieces(text: str, rng: random.Random) -> list[str]:
    """text cut at random places, as an LLM's tokens would cut it."""
    cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, len(text) // 3)))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@pytest.mark.parametrize("text", TRICKY)
@pytest.mark.parametrize("seed", range(5))
def test_pieces_in_any_cut_give_the_sentences_of_the_whole(text: str, seed: int) -> None:
    stream = TextStream()
    said = [s for piece in pieces(text, random.Random(seed)) for s in stream.push(piece)]
    assert said + stream.flush() == split_sentences(text)


def test_a_sentence_comes_out_when_the_next_one_starts() -> None:
    stream = TextStream()
    assert stream.push("Hello there.") == []
    assert stream.push(" ") == []
    assert stream.push("How") == ["Hello there."]
    assert stream.push(" are you?") == []
    assert stream.flush() == ["How are you?"]
    assert stream.flush() == []


@pytest.mark.parametrize(
    ("first", "then", "sentence"),
    [
        ("It costs 3.", "5 dollars. And", "It costs 3.5 dollars."),
        ("Wait...", " what is it? So", "Wait... what is it?"),
        ("I met Dr.", " Smith today. He", "I met Dr. Smith today."),
    ],
)
def test_a_full_stop_waits_for_what_follows(first: str, then: str, sentence: str) -> None:
    stream = TextStream()
    assert stream.push(first) == []
    assert stream.push(then) == [sentence]


def test_a_line_break_ends_a_sentence_at_once() -> None:
    stream = TextStream()
    assert stream.push("A heading without a stop\n") == ["A heading without a stop"]
    assert stream.flush() == []


def test_text_that_never_ends_a_sentence_is_spoken_in_pieces() -> None:
    stream = TextStream(max_chars=50)
    words = [f"word{n}" for n in range(60)]
    said = [s for word in words for s in stream.push(word + " ")]
    assert said and all(len(s) <= 50 for s in said)
    assert " ".join(said + stream.flush()).split() == words


def test_punctuation_alone_is_held_and_bounded() -> None:
    stream = TextStream(max_chars=50)
    for _ in range(100):
        assert stream.push("... ") == []
    assert stream.flush() == []


# -- an utterance over a fake engine and the real job queue ------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Speaker:
    def __init__(self, tmp_path: Path) -> None:
        self.engine = FakeSynthesizer(seconds_per_char=0.02)
        settings = Settings(models_dir=tmp_path / "models", allow_download=False)
        store = ModelStore(default_catalog(), settings.models_dir, allow_download=False)

        def load() -> Synthesizer:
            return self.engine

        self.tts = TextToSpeech(settings, store, loaders={"fake": load})
        self.jobs = JobQueue(max_running=1, max_queued=1)

    def utterance(self, text: str = "", whole: bool = False) -> Utterance:
        request = SpeechRequest("fake", SynthesisOptions(voice="fake"), text)
        if whole:
            return Utterance.whole(self.tts, request, self.jobs.stream)
        return Utterance(self.tts, request, self.jobs.stream)


async def next_frame(frames: AsyncGenerator[bytes, None]) -> bytes:
    with anyio.fail_after(5):
        return await anext(frames)


@pytest.mark.anyio
async def test_each_sentence_is_spoken_once_complete(tmp_path: Path) -> None:
    speaker = Speaker(tmp_path)
    utterance = speaker.utterance()
    async with aclosing(utterance.frames()) as frames:
        await utterance.add("Hello there. Gen")
        assert await next_frame(frames)
        assert speaker.engine.calls == ["Hello there."]
        await utterance.add("eral Kenobi. You")
        await utterance.add(" are a bold one.")
        utterance.finish()
        rest = [frame async for frame in frames]
    assert speaker.engine.calls == ["Hello there.", "General Kenobi.", "You are a bold one."]
    spoken = sum(len(text) for text in speaker.engine.calls)
    samples = sum(map(len, rest)) // 2
    assert samples > 0.8 * (spoken - len("Hello there.")) * 0.02 * 24_000
    assert speaker.jobs.running == 0


@pytest.mark.anyio
async def test_sentences_ready_together_are_spoken_together(tmp_path: Path) -> None:
    speaker = Speaker(tmp_path)
    utterance = speaker.utterance()
    await utterance.add("One. Two. Three. Four")
    utterance.finish()
    async with aclosing(utterance.frames()) as frames:
        async for _ in frames:
            pass
    assert speaker.engine.calls == ["One.", "Two. Three. Four"]  # one request, packed


@pytest.mark.anyio
async def test_frames_are_at_most_a_second_long(tmp_path: Path) -> None:
    speaker = Speaker(tmp_path)
    utterance = speaker.utterance("Long enough for seconds of audio. " * 4, whole=True)
    async with aclosing(utterance.frames()) as frames:
        sizes = [len(frame) async for frame in frames]
    assert len(sizes) > 1 and max(sizes) <= 2 * 24_000 * FRAME_SECONDS


@pytest.mark.anyio
async def test_closing_the_frames_stops_the_engine_and_frees_the_slot(tmp_path: Path) -> None:
    speaker = Speaker(tmp_path)
    text = " ".join(f"This is sentence number {n}, one of many." for n in range(30))
    utterance = speaker.utterance(text, whole=True)
    async with aclosing(utterance.frames()) as frames:
        await next_frame(frames)
    assert 1 <= len(speaker.engine.calls) <= 2
    assert speaker.jobs.running == 0 and speaker.tts.pool.loaded() == ["fake"]
