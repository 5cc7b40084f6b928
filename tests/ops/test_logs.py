"""The one log format: text by default, JSON on request; request ids; keys masked."""

from __future__ import annotations

import json
import logging
import logging.config
import sys

import pytest

from vocalis.ops import request_id
from vocalis.ops.logs import (
    JsonFormatter,
    RequestIdFilter,
    TextFormatter,
    logging_config,
    redact,
)


def record(name: str, msg: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, msg, args, None)
    RequestIdFilter().filter(made)
    return made


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ('"GET /ws/stt?api_key=sk-1&model=x"', '"GET /ws/stt?api_key=***&model=x"'),
        ("Authorization: Bearer sk-123", "Authorization: Bearer ***"),
        ("offered: realtime, openai-insecure-api-key.sk-1, x", "offered: realtime, "
         "openai-insecure-api-key.***, x"),
    ],
)  # fmt: skip
def test_anything_shaped_like_a_key_is_masked(line: str, masked: str) -> None:
    assert redact(line) == masked


def test_a_text_line_carries_the_request_id_when_there_is_one() -> None:
    token = request_id.current.set("req-42")
    try:
        inside = TextFormatter().format(record("vocalis.access", '{"event": "speech"}'))
    finally:
        request_id.current.reset(token)
    outside = TextFormatter().format(record("vocalis.server", "started"))
    assert inside.endswith(' INFO vocalis.access [req-42] {"event": "speech"}')
    assert outside.endswith(" INFO vocalis.server started")


def test_a_json_line_merges_the_access_figures() -> None:
    figures = {"event": "transcribe", "model": "whisper-base", "audio_seconds": 11.0}
    token = request_id.current.set("req-7")
    try:
        line = json.loads(JsonFormatter().format(record("vocalis.access", json.dumps(figures))))
    finally:
        request_id.current.reset(token)
    assert line["request_id"] == "req-7"
    assert line["message"] == "transcribe"
    assert (line["model"], line["audio_seconds"], line["level"]) == ("whisper-base", 11.0, "INFO")


def test_a_json_line_splits_uvicorns_access_line_and_masks_the_query() -> None:
    access = record(
        "uvicorn.access",
        '%s - "%s %s HTTP/%s" %d',
        *("127.0.0.1:5000", "GET", "/v1/realtime?api_key=sk-secret", "1.1", 101),
    )
    text = JsonFormatter().format(access)
    line = json.loads(text)
    assert "sk-secret" not in text
    assert (line["method"], line["status"]) == ("GET", 101)
    assert line["path"] == "/v1/realtime?api_key=***"


def test_a_masked_key_before_a_quote_keeps_the_json_line_valid() -> None:
    websocket = record("uvicorn.error", '%s - "WebSocket %s" [accepted]', "c", "/ws?api_key=sk-9")
    line = json.loads(JsonFormatter().format(websocket))
    assert line["message"] == 'c - "WebSocket /ws?api_key=***" [accepted]'


def test_an_exception_stays_one_json_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    text = JsonFormatter().format(failed)
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]


def test_one_handler_on_the_root_for_every_logger() -> None:
    config = logging_config("json", "warning")
    assert config["root"] == {"handlers": ["default"], "level": "WARNING"}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        assert config["loggers"][name]["handlers"] == []
        assert config["loggers"][name]["propagate"] is True
    assert config["formatters"]["access"]["()"].endswith("JsonFormatter")
    assert logging_config("text", "info")["formatters"]["default"]["()"].endswith("TextFormatter")


def test_the_phonemizer_stays_as_quiet_as_kokoro_asks(capsys: pytest.CaptureFixture[str]) -> None:
    from phonemizer.logger import get_logger

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logging.config.dictConfig(logging_config("text", "info"))  # what `configure` applies
    try:
        get_logger()  # as phonemizer does for Kokoro: quiet, a null handler
        logging.getLogger("phonemizer").warning("words count mismatch on 100.0%% of the lines")
        logging.getLogger("vocalis.tts").warning("a line of ours")
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        logging.getLogger("phonemizer").propagate = True
    assert "a line of ours" in err and "words count mismatch" not in err
