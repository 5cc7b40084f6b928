"""One Vocalis server for the voice-loop tests, its LLM a fake one on 127.0.0.1.

Imported by tests/server/test_chat.py and test_live_chat.py; pytest gives each module that
imports it its own server. Retries wait 0.2, 0.4 and 0.8 s instead of 1, 2 and 4.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.chat.fake_llm import FakeLLM, running
from tests.conftest import LiveServer, start_server, stop_server

SYSTEM_PROMPT = "You are a helpful voice assistant."
RETRY_DELAY = 0.2
LLM_TIMEOUT = 3.0


@dataclass
class ChatServer:
    server: LiveServer
    llm: FakeLLM


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    with running() as llm:
        server = start_server(
            tmp_path_factory.mktemp("chat"),
            VOCALIS_LLM_URL=llm.url,
            VOCALIS_LLM_MODEL="fake-model",
            VOCALIS_LLM_API_KEY="secret-key",
            VOCALIS_LLM_SYSTEM_PROMPT=SYSTEM_PROMPT,
            VOCALIS_LLM_RETRY_DELAY=str(RETRY_DELAY),
            VOCALIS_LLM_TIMEOUT=str(LLM_TIMEOUT),
            VOCALIS_LIVE_PARTIAL_INTERVAL="5",
            # One job at a time: a slot a reply failed to give back would block the next.
            VOCALIS_MAX_CONCURRENT_JOBS="1",
        )
        try:
            _warm_up(server)
            yield ChatServer(server, llm)
        finally:
            stop_server(server)


def _warm_up(server: LiveServer) -> None:
    """Piper's first sentence after loading is slow (seconds on a busy machine): say one, so
    the timing tests measure streaming, not a cold engine."""
    with server.client() as http:
        body = {"input": "Ready.", "model": "piper", "response_format": "pcm"}
        assert http.post("/v1/audio/speech", json=body).status_code == 200
