"""Speech out for live protocols: text as it arrives (an LLM's tokens) to sentences to audio.

`TextStream` is pure: text pieces in, each sentence out as soon as it is complete.
`Utterance` is one request's state on top of it: it keeps the sentences that are ready and
speaks them batch by batch through the job queue, as raw s16le PCM frames that a protocol
sends as they are made. Closing its frames stops the engine before the next piece.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator
from dataclasses import replace

from anyio import to_thread

from vocalis.audio.encode import StreamEncoder
from vocalis.tts.service import SpeechRequest, TextToSpeech
from vocalis.tts.stopping import StopSwitch
from vocalis.tts.text import chunk, split_sentences

# Text still waiting for its sentence to end is spoken anyway, cut at a clause or word break,
# once it grows past this: it bounds the memory and the wait for text that never ends a sentence.
MAX_PENDING_CHARS = 400
# A piece's audio leaves in frames of at most this long: a 300-character Kokoro piece is about
# 20 s, 1 MB of PCM, and WebSocket clients refuse messages over 1 MiB by default.
FRAME_SECONDS = 1.0
# Tokens are split on the event loop (microseconds); a pasted book would hold it for a while.
SPLIT_IN_THREAD_CHARS = 16_384

# Drives a blocking iterator from worker threads: `JobQueue.stream`.
Streamer = Callable[[Iterator[bytes]], AsyncIterator[bytes]]


class TextStream:
    """Text in pieces; each sentence comes out once the text after it shows that it is complete.

    The last sentence is always held back, since the next piece may go on with it ("3." then
    "5", "Wait..." then " what"), until text after it (or a line break) shows it has ended.
    """

    def __init__(self, max_chars: int = MAX_PENDING_CHARS) -> None:
        self.max_chars = max_chars
        self._pending = ""

    def push(self, text: str) -> list[str]:
        """The sentences that `text` completes, in order; the rest waits for more text."""
        self._pending += text
        sentences = split_sentences(self._pending)
        tail = self._pending[len(self._pending.rstrip()) :]
        if "\n" in tail:  # a line break always ends a sentence
            self._pending = ""
            return sentences
        if not sentences:  # only spaces or punctuation so far
            self._pending = self._pending[-self.max_chars :]
            return []
        *complete, last = sentences
        if len(last) > self.max_chars:
            *cut, last = chunk(last, self.max_chars)
            complete += cut
        self._pending = last + tail
        return complete

    def flush(self) -> list[str]:
        """Every sentence still pending, complete or not."""
        sentences = split_sentences(self._pending)
        self._pending = ""
        return sentences


class Utterance:
    """One request's speech: text in as it comes, s16le frames out as they are made.

    `request` says how to speak (engine, voice, speed); its text is replaced by each batch.
    """

    def __init__(self, tts: TextToSpeech, request: SpeechRequest, stream: Streamer) -> None:
        self._tts = tts
        # A switch of its own: stopping this utterance stops no other made from `request`.
        self._request = replace(request, switch=StopSwitch())
        self._stream = stream
        self._text = TextStream()
        self._ready: list[str] = []
        self._finished = False
        self._changed = asyncio.Event()

    @classmethod
    def whole(cls, tts: TextToSpeech, request: SpeechRequest, stream: Streamer) -> Utterance:
        """All of `request.text` at once, spoken exactly as POST /v1/audio/speech would."""
        utterance = cls(tts, request, stream)
        utterance._queue([request.text])
        utterance._finished = True
        return utterance

    async def add(self, text: str) -> None:
        """More text; the sentences it completes are spoken as soon as the engine is free."""
        if len(text) < SPLIT_IN_THREAD_CHARS:
            self._queue(self._text.push(text))
        else:
            self._queue(await to_thread.run_sync(self._text.push, text))

    def stop(self) -> None:
        """The piece being synthesized ends now, and no later one starts (its client has
        gone, or cancelled): its frames end. Without it, stopping waits for the piece."""
        self._request.switch.stop()

    def finish(self) -> None:
        """No more text: the rest is spoken, then the frames end."""
        self._queue(self._text.flush())
        self._finished = True
        self._changed.set()

    async def frames(self) -> AsyncGenerator[bytes, None]:
        """PCM frames until everything is spoken. Use with `aclosing`: closing stops synthesis."""
        while text := await self._next():
            pieces = _pcm(self._tts, replace(self._request, text=text))
            frames = self._stream(pieces)
            try:
                async for frame in frames:
                    yield frame
            finally:
                await _close(frames)
                # Still running when a native Task.cancel abandoned its thread (anyio cancel
                # scopes wait for it): then it is closed when collected, after its piece.
                with contextlib.suppress(ValueError):
                    pieces.close()

    def _queue(self, sentences: list[str]) -> None:
        if sentences:
            self._ready += sentences
            self._changed.set()

    async def _next(self) -> str:
        """Every sentence ready, as one text (the engine packs them); "" once all is spoken."""
        while not self._ready and not self._finished:
            self._changed.clear()
            await self._changed.wait()
        text = " ".join(self._ready)
        self._ready.clear()
        return text


async def _close(frames: AsyncIterator[bytes]) -> None:
    if isinstance(frames, AsyncGenerator):  # JobQueue.stream's: closing it frees the job slot
        await frames.aclose()


def _pcm(tts: TextToSpeech, request: SpeechRequest) -> Generator[bytes, None, None]:
    """The request's audio as s16le frames. Blocks: runs in worker threads."""
    rate = tts.sample_rate(request.engine)
    encoder = StreamEncoder("pcm", rate)
    size = 2 * int(rate * FRAME_SECONDS)
    pieces = tts.synthesize(request)
    try:
        for samples in pieces:
            data = encoder.write(samples)
            for start in range(0, len(data), size):
                yield data[start : start + size]
    finally:
        if isinstance(pieces, Generator):  # TextToSpeech.synthesize's: closing stops the engine
            pieces.close()
