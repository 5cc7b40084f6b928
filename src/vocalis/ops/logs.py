"""One log format for every line: Vocalis', uvicorn's (access lines too) and the model
libraries'. Human-readable by default; one JSON object a line with VOCALIS_LOG_FORMAT=json.

Every line written while a request runs carries its request id, and anything shaped like
an API key (a bearer token, an `api_key=` query, the key subprotocol) is masked, whoever
logged it.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from typing import Any, Literal

from vocalis.ops import request_id

LogFormat = Literal["text", "json"]
SECRET = re.compile(r"(?i)(api_key=|bearer\s+|openai-insecure-api-key\.)[^\s&\"',;\\]+")
# uvicorn's access line: '%s - "%s %s HTTP/%s" %d' with these arguments.
ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")


def redact(text: str) -> str:
    return SECRET.sub(lambda found: f"{found.group(1)}***", text)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the id of the request it was written in, if any."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.current.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(request_tag)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.request_tag = f" [{rid}]" if rid else ""
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # Masked field by field: masking the encoded line could eat a quote's escape.
        fields = {k: redact(v) if isinstance(v, str) else v for k, v in self.fields(record).items()}
        return json.dumps(fields, ensure_ascii=False, default=str)

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if rid := getattr(record, "request_id", None):
            line["request_id"] = rid
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            line |= dict(zip(ACCESS_FIELDS, record.args, strict=False))
        elif figures := _json_object(line["message"]):  # Vocalis' access and progress lines
            line |= {"message": figures.get("event", line["message"])}
            line |= {k: v for k, v in figures.items() if k not in line}
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return line


def _json_object(message: str) -> dict[str, Any] | None:
    if not message.startswith("{"):
        return None
    try:
        parsed = json.loads(message)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def logging_config(fmt: LogFormat, level: str) -> dict[str, Any]:
    """A dictConfig for the whole process: one handler on the root logger, which uvicorn's
    loggers propagate to instead of keeping their own."""
    formatter = {"()": f"{__name__}.{'JsonFormatter' if fmt == 'json' else 'TextFormatter'}"}
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": f"{__name__}.RequestIdFilter"}},
        # uvicorn looks these two names up when told to colour its output.
        "formatters": {"default": formatter, "access": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["request_id"],
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            **{
                name: {"handlers": [], "level": level, "propagate": True}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            # Kokoro runs the phonemizer "quiet" (a null handler), but its records reach the
            # root anyway: a "words count mismatch" warning for nearly every piece spoken.
            "phonemizer": {"handlers": [], "propagate": False},
        },
        "root": {"handlers": ["default"], "level": level},
    }


def configure(fmt: LogFormat, level: str) -> dict[str, Any]:
    """Apply the format now (so start-up lines have it) and return it for uvicorn: a fresh
    copy, since dictConfig consumes parts of the one it is given."""
    logging.config.dictConfig(logging_config(fmt, level))
    logging.captureWarnings(True)  # a library's warning is a line like any other
    return logging_config(fmt, level)
