"""An OpenAI-compatible chat-completions endpoint, its reply streamed piece by piece.

`ChatClient.start` returns once the reply's first text has arrived, so everything that can
go wrong before then is still an error status: an LLM that cannot be reached (a connection
error, a 5xx, a stream that breaks before any text) is tried again after 1, 2 and 4 s, then
refused with 503 naming its URL; one that sends nothing for `timeout` seconds is a 504.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Any

import httpx

from vocalis.chat.errors import LLMFailed, LLMNotConfigured, LLMTimeout, LLMUnavailable
from vocalis.chat.protocol import (
    Done,
    completions_url,
    display_url,
    error_message,
    parse_line,
    request_body,
)
from vocalis.config import Settings

log = logging.getLogger(__name__)

# Seconds before each retry, times the client's retry_delay: 1, 2 and 4 s by default.
BACKOFF = (1, 2, 4)


class _Unreachable(Exception):
    """A failure worth another attempt: nothing of the reply has arrived yet."""


class _BrokenOff(Exception):
    """The connection failed in the middle of the stream."""


class ChatClient:
    """Streams chat replies from one endpoint. Use as `async with`: it holds a connection pool."""

    def __init__(
        self,
        url: str,
        model: str = "",
        api_key: str = "",
        timeout: float = 60.0,
        retry_delay: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = completions_url(url)
        self.model = model
        self.timeout = timeout
        self.delays = [step * retry_delay for step in BACKOFF]
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout), headers=headers, transport=transport
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatClient:
        if not settings.llm_url.strip():
            raise LLMNotConfigured(
                "No LLM is configured for the voice loop: set VOCALIS_LLM_URL to an "
                "OpenAI-compatible endpoint, e.g. Ollama's http://127.0.0.1:11434/v1, "
                "and VOCALIS_LLM_MODEL."
            )
        return cls(
            settings.llm_url,
            settings.llm_model,
            settings.llm_api_key,
            settings.llm_timeout,
            settings.llm_retry_delay,
        )

    @property
    def shown_url(self) -> str:
        return display_url(self.url)

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def start(self, messages: Sequence[dict[str, Any]]) -> Completion:
        """The reply to `messages`, its first text already received."""
        reason = ""
        for attempt, delay in enumerate([*self.delays, None], start=1):
            try:
                return await self._attempt(list(messages))
            except _Unreachable as exc:
                reason = str(exc)
            if delay is None:
                break
            log.warning(
                "LLM at %s: %s; attempt %d, retrying in %g s",
                self.shown_url,
                reason,
                attempt,
                delay,
            )
            await asyncio.sleep(delay)
        raise LLMUnavailable(
            f"The LLM at {self.shown_url} could not be reached after {len(self.delays) + 1} "
            f"attempts ({reason}). Check that it is running and VOCALIS_LLM_URL."
        )

    async def _attempt(self, messages: list[dict[str, Any]]) -> Completion:
        request = self._http.build_request(
            "POST", self.url, json=request_body(self.model, messages)
        )
        try:
            response = await self._http.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Unreachable(_describe(exc)) from None
        except httpx.TimeoutException:
            raise self._timed_out() from None
        except httpx.TransportError as exc:
            raise _Unreachable(_describe(exc)) from None
        try:
            await self._check_status(response)
            completion = Completion(self, response)
            await completion.prime()
            return completion
        except BaseException:
            await response.aclose()
            raise

    async def _check_status(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            await response.aread()
        except httpx.HTTPError:
            message = ""
        else:
            try:
                message = error_message(response.json())
            except ValueError:
                message = response.text[:200]
        if response.status_code >= 500:
            raise _Unreachable(f"HTTP {response.status_code} {message}".strip())
        raise LLMFailed(
            f"The LLM at {self.shown_url} refused the request "
            f"(HTTP {response.status_code}): {message or 'no reason given'}"
        )

    def _timed_out(self) -> LLMTimeout:
        return LLMTimeout(
            f"The LLM at {self.shown_url} sent nothing for {self.timeout:g} s "
            "(VOCALIS_LLM_TIMEOUT)."
        )


class Completion:
    """One reply as it streams in. `texts()` yields its pieces; `aclose()` hangs up early."""

    def __init__(self, client: ChatClient, response: httpx.Response) -> None:
        self._client = client
        self._response = response
        self._lines = response.aiter_lines()
        self._head: str | None = None
        self.finished = False

    async def prime(self) -> None:
        """Wait for the first text; a stream that breaks before it is worth a retry."""
        try:
            self._head = await self._next()
        except _BrokenOff as exc:
            raise _Unreachable(str(exc)) from None

    async def texts(self) -> AsyncIterator[str]:
        if self._head is None:
            return
        yield self._head
        try:
            while (text := await self._next()) is not None:
                yield text
        except _BrokenOff as exc:
            raise LLMFailed(
                f"The reply of the LLM at {self._client.shown_url} broke off: {exc}"
            ) from None

    async def _next(self) -> str | None:
        """The next piece of text; None at the end of the reply."""
        while not self.finished:
            try:
                line = await anext(self._lines)
            except StopAsyncIteration:
                self.finished = True
                break
            except httpx.TimeoutException:
                raise self._client._timed_out() from None
            except httpx.TransportError as exc:
                raise _BrokenOff(_describe(exc)) from None
            item = parse_line(line)
            if isinstance(item, Done):
                self.finished = True
            elif item:
                return item
        return None

    async def aclose(self) -> None:
        await self._response.aclose()


def _describe(exc: Exception) -> str:
    return str(exc) or exc.__class__.__name__
