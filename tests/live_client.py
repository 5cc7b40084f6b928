"""A real WebSocket client for `/ws/stt`, for tests and benchmarks: it streams audio at a
chosen pace and records every frame the server sends with the time it arrived."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

RATE = 16_000


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


@dataclass
class Received:
    at: float  # time.monotonic()
    frame: dict[str, Any]


@dataclass
class LiveStream:
    """One connection: `send_audio` paces the audio, a thread collects what comes back."""

    ws: ClientConnection
    frames: list[Received] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str = ""
    started_at: float = 0.0  # time.monotonic() when the first audio of send_audio left
    sent_until: float = 0.0  # ... and when its last audio left

    @classmethod
    @contextmanager
    def open(cls, url: str, path: str = "/ws/stt", **query: str) -> Iterator[LiveStream]:
        address = f"{url.replace('http', 'ws', 1)}{path}"
        if query:
            address += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        with connect(address, max_size=None) as ws:
            stream = cls(ws)
            collector = threading.Thread(target=stream._collect, daemon=True)
            collector.start()
            yield stream
        collector.join(timeout=10)

    def _collect(self) -> None:
        try:
            for message in self.ws:
                if isinstance(message, str):
                    self.frames.append(Received(time.monotonic(), json.loads(message)))
        except ConnectionClosed:
            pass
        finally:
            if self.ws.close_code is not None:
                self.close_code = self.ws.close_code
                self.close_reason = self.ws.close_reason or ""

    def send_audio(self, samples: np.ndarray, pace: float = 1.0, chunk_ms: int = 20) -> None:
        """`pace` 1.0 is real time; 0 sends as fast as the socket takes it."""
        step = RATE * chunk_ms // 1000
        start = self.started_at = time.monotonic()
        for n, i in enumerate(range(0, len(samples), step)):
            self.ws.send(pcm16(samples[i : i + step]))
            if pace:
                delay = start + (n + 1) * chunk_ms / 1000 / pace - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        self.sent_until = time.monotonic()

    def send(self, message: dict[str, Any] | str | bytes) -> None:
        self.ws.send(json.dumps(message) if isinstance(message, dict) else message)

    def of_type(self, kind: str) -> list[Received]:
        return [r for r in self.frames if r.frame.get("type") == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.of_type(kind)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} {kind!r} frames expected, got {self.frames}")
            time.sleep(0.01)
        return self.of_type(kind)

    def finish(self, timeout: float = 30) -> None:
        """Ask the server to close, and wait until it has."""
        self.send({"type": "close"})
        self.wait_closed(timeout)

    def wait_closed(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.close_code is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not close; frames: {self.frames}")
            time.sleep(0.01)

    def transcripts(self) -> list[str]:
        return [r.frame["text"] for r in self.of_type("transcript")]
