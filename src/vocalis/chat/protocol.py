"""The OpenAI chat-completions wire format, as Ollama, llama.cpp, vLLM and OpenAI speak it.

Pure: the URL and body of a streaming request, and each Server-Sent Events line of the
answer read as a piece of the reply (`choices[0].delta.content`), the end, or an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vocalis.chat.errors import LLMFailed

COMPLETIONS_PATH = "/chat/completions"


@dataclass(frozen=True)
class Done:
    """`data: [DONE]`, or a choice with a finish_reason: the reply is complete."""


def completions_url(base: str) -> str:
    """`http://host:11434/v1` (or the full endpoint URL) -> `.../v1/chat/completions`."""
    base = base.strip().rstrip("/")
    return base if base.endswith(COMPLETIONS_PATH) else base + COMPLETIONS_PATH


def display_url(url: str) -> str:
    """The URL for messages and logs, without any user:password in it."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def request_body(model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """A streaming request; without a model name the server's own default answers
    (llama.cpp serves one model and ignores the name)."""
    body: dict[str, Any] = {"messages": messages, "stream": True}
    if model:
        body["model"] = model
    return body


def parse_line(line: str) -> str | Done | None:
    """One line of the event stream: reply text, Done, or None for anything else
    (blank lines, comments, `event:` lines, a role-only first chunk)."""
    if not line.startswith("data:"):
        return None
    data = line[len("data:") :].strip()
    if data == "[DONE]":
        return Done()
    try:
        chunk = json.loads(data)
    except ValueError:
        raise LLMFailed(f"The LLM sent an event that is not JSON: {data[:80]!r}.") from None
    if not isinstance(chunk, dict):
        raise LLMFailed(f"The LLM sent an event that is not an object: {data[:80]!r}.")
    if "error" in chunk:
        raise LLMFailed(f"The LLM failed while answering: {error_message(chunk)}")
    return _delta(chunk)


def _delta(chunk: dict[str, Any]) -> str | Done | None:
    choices = chunk.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None  # usage-only chunks, keep-alives
    choice = choices[0]
    delta = choice.get("delta")
    content = delta.get("content") if isinstance(delta, dict) else None
    if isinstance(content, str) and content:
        return content
    return Done() if choice.get("finish_reason") else None


def error_message(body: object) -> str:
    """The message of an error body in OpenAI's envelope (or Ollama's plain {"error": "..."})."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return str(error) if error else json.dumps(body)[:200]
