"""One LLM reply spoken while it streams in: the voice loop's core, for every protocol.

The reply's text goes through `MarkdownSpeech` into an `Utterance` (the live core's sentence
splitting and synthesis), so each sentence is spoken as soon as it is complete while later
tokens are still arriving. `events()` hands back the reply's text deltas and its audio in
the order they are ready. Two tasks feed it: one reads the LLM, one speaks; the speaking one
is stopped through an anyio cancel scope, which waits for a piece a worker thread is
synthesizing, so the engine is closed only once idle and its job slot is never leaked.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

import anyio

from vocalis.chat.client import Completion
from vocalis.chat.markdown import MarkdownSpeech
from vocalis.live.speech import Streamer, Utterance
from vocalis.tts.service import SpeechRequest, TextToSpeech

# Audio frames (a second each at most) ready before the caller takes them: beyond this,
# synthesis waits, so a slow client does not pile up the whole reply in memory.
MAX_WAITING = 8


@dataclass(frozen=True)
class TextDelta:
    """A piece of the reply's text, as the LLM sent it (markdown and all)."""

    text: str


@dataclass(frozen=True)
class TextDone:
    """The LLM has finished; `text` is the whole reply."""

    text: str


@dataclass(frozen=True)
class Audio:
    """Mono s16le PCM at the engine's sample rate."""

    pcm: bytes


ReplyEvent = TextDelta | TextDone | Audio
_Item = ReplyEvent | Exception | None  # None: one of the two tasks has finished


class SpokenReply:
    """`completion` spoken with `request`'s engine, voice and speed (its text is ignored)."""

    def __init__(
        self,
        completion: Completion,
        tts: TextToSpeech,
        request: SpeechRequest,
        stream: Streamer,
        language: str = "en",
    ) -> None:
        self.completion = completion
        self.utterance = Utterance(tts, request, stream)
        self.markdown = MarkdownSpeech(language)
        self.text = ""  # the reply so far, as the LLM wrote it
        self.spoken = ""  # what of it is (or is being) said
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        self._taken = asyncio.Event()
        self._scope = anyio.CancelScope()

    async def events(self) -> AsyncGenerator[ReplyEvent, None]:
        """Text and audio until all is said. Use with `aclosing`: closing stops it all.

        Raises what the LLM or synthesis raised (LLMFailed, LLMTimeout, VocalisError).
        """
        reading = asyncio.create_task(self._read())
        speaking = asyncio.create_task(self._speak())
        try:
            running = 2
            while running:
                item = await self._queue.get()
                self._taken.set()
                if item is None:
                    running -= 1
                elif isinstance(item, Exception):
                    raise item
                else:
                    yield item
        finally:
            self.stop()
            self._scope.cancel()
            reading.cancel()
            await asyncio.gather(reading, speaking, return_exceptions=True)
            await self.completion.aclose()

    def stop(self) -> None:
        """The piece being spoken ends now, and no more are: for a client that has gone."""
        self.utterance.stop()

    async def _read(self) -> None:
        try:
            async for text in self.completion.texts():
                self.text += text
                await self._put(TextDelta(text))
                await self._say(self.markdown.push(text))
            await self._say(self.markdown.flush())
            await self._put(TextDone(self.text))
        except Exception as exc:
            self._queue.put_nowait(exc)
        finally:
            self.utterance.finish()
            self._queue.put_nowait(None)

    async def _say(self, text: str) -> None:
        if text:
            self.spoken += text
            await self.utterance.add(text)

    async def _speak(self) -> None:
        with self._scope:
            try:
                async with aclosing(self.utterance.frames()) as frames:
                    async for frame in frames:
                        await self._put(Audio(frame))
            except Exception as exc:
                self._queue.put_nowait(exc)
        self._queue.put_nowait(None)

    async def _put(self, item: ReplyEvent) -> None:
        while self._queue.qsize() >= MAX_WAITING:
            self._taken.clear()
            await self._taken.wait()
        self._queue.put_nowait(item)
