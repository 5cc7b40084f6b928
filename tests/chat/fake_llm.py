"""A real local HTTP server speaking the OpenAI chat-completions streaming protocol.

It streams its `reply` word by word with a delay, records every request (its time and
JSON body) and the time of each token sent, and can be told to misbehave for the next
requests: answer an error status, hang up without answering, or stall before the first token.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    at: float  # time.monotonic()
    body: dict[str, Any]
    authorization: str = ""

    @property
    def user_text(self) -> str:
        return str(self.body["messages"][-1]["content"])


@dataclass
class FakeLLM:
    url: str = ""
    reply: str = "Hello there. This is a test."
    token_delay: float = 0.05
    # (token index, seconds): the LLM stops to think before that token (negative: from the end)
    pause: tuple[int, float] | None = None
    requests: list[Received] = field(default_factory=list)
    token_times: list[float] = field(default_factory=list)
    # What the next requests get instead of a reply: ("status", 503), ("hang_up", 0),
    # ("stall", seconds before the first token), ("error_after", tokens before an error event)
    faults: deque[tuple[str, float]] = field(default_factory=deque)

    def tokens(self) -> list[str]:
        return re.findall(r"\s*\S+|\s+", self.reply)

    def reset(self, reply: str | None = None, token_delay: float = 0.05) -> None:
        self.requests.clear()
        self.token_times.clear()
        self.faults.clear()
        self.token_delay = token_delay
        self.pause = None
        if reply is not None:
            self.reply = reply


def _handler(fake: FakeLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # the body ends when the connection closes

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            auth = self.headers.get("Authorization", "")
            fake.requests.append(Received(time.monotonic(), body, auth))
            if not self.path.endswith("/chat/completions"):
                return self._status(404, "no such endpoint")
            fault = fake.faults.popleft() if fake.faults else None
            if fault and fault[0] == "status":
                return self._status(int(fault[1]), "the model is overloaded")
            if fault and fault[0] == "hang_up":
                self.close_connection = True
                return
            if fault and fault[0] == "error_after":
                return self._stream(0.0, fail_after=int(fault[1]))
            self._stream(fault[1] if fault else 0.0)

        def _status(self, status: int, message: str) -> None:
            data = json.dumps({"error": {"message": message, "type": "server_error"}}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, stall: float, fail_after: int | None = None) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self._send({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
            time.sleep(stall)
            try:
                tokens = fake.tokens()
                pause_at = fake.pause[0] % len(tokens) if fake.pause else None
                for n, token in enumerate(tokens):
                    if n == fail_after:
                        return self._send({"error": {"message": "the GPU fell over"}})
                    time.sleep(fake.token_delay)
                    if n == pause_at and fake.pause:
                        time.sleep(fake.pause[1])
                    self._send({"choices": [{"index": 0, "delta": {"content": token}}]})
                    fake.token_times.append(time.monotonic())
                self._send({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                self.wfile.write(b"data: [DONE]\n\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client hung up

        def _send(self, chunk: dict[str, Any]) -> None:
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

    return Handler


@contextmanager
def running() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
