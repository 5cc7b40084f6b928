"""The chat-completions wire format: URLs, the request, and the streamed answer's lines."""

from __future__ import annotations

import pytest

from vocalis.chat.errors import LLMFailed
from vocalis.chat.protocol import (
    Done,
    completions_url,
    display_url,
    error_message,
    parse_line,
    request_body,
)


@pytest.mark.parametrize(
    "base",
    [
        "http://127.0.0.1:11434/v1",
        "http://127.0.0.1:11434/v1/",
        " http://127.0.0.1:11434/v1/chat/completions ",
    ],
)
def test_completions_url(base: str) -> None:
    assert completions_url(base) == "http://127.0.0.1:11434/v1/chat/completions"


def test_display_url_hides_credentials() -> None:
    assert display_url("https://me:pw@llm.lan:8080/v1?x=1") == "https://llm.lan:8080/v1"


def test_request_body_streams_and_names_the_model_only_when_set() -> None:
    messages = [{"role": "user", "content": "Hi"}]
    assert request_body("llama3", messages) == {
        "messages": messages,
        "stream": True,
        "model": "llama3",
    }
    assert "model" not in request_body("", messages)


@pytest.mark.parametrize(
    ("line", "item"),
    [
        ('data: {"choices":[{"delta":{"content":"Hel"}}]}', "Hel"),
        ('data:{"choices":[{"delta":{"role":"assistant"}}]}', None),
        ('data: {"choices":[{"delta":{},"finish_reason":"stop"}]}', Done()),
        ('data: {"choices":[],"usage":{"total_tokens":3}}', None),
        ("data: [DONE]", Done()),
        ("", None),
        (": keep-alive", None),
        ("event: message", None),
    ],
)
def test_parse_line(line: str, item: object) -> None:
    assert parse_line(line) == item


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("data: {not json", "not JSON"),
        ("data: [1, 2]", "not an object"),
        ('data: {"error": {"message": "out of memory"}}', "out of memory"),
    ],
)
def test_parse_line_refuses_what_is_no_reply(line: str, message: str) -> None:
    with pytest.raises(LLMFailed, match=message):
        parse_line(line)


def test_error_message_reads_openai_and_ollama_bodies() -> None:
    assert error_message({"error": {"message": "no such model"}}) == "no such model"
    assert error_message({"error": "model 'x' not found"}) == "model 'x' not found"
    assert error_message({"detail": "x"}) == '{"detail": "x"}'
