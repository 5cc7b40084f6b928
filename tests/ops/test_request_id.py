"""X-Request-ID: taken from the client when sane, generated otherwise, always returned."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from vocalis.config import Settings
from vocalis.ops.request_id import request_id
from vocalis.server.app import create_app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(api_keys="sk-x"))) as client:  # type: ignore[arg-type]
        yield client


def test_a_clients_id_is_echoed_on_success_and_on_refusal(client: TestClient) -> None:
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == (
        "abc-123"
    )
    refused = client.get("/v1/models", headers={"X-Request-ID": "trace:9/1"})
    assert refused.status_code == 401
    assert refused.headers["x-request-id"] == "trace:9/1"


def test_each_request_without_one_gets_a_new_id(client: TestClient) -> None:
    ids = {client.get("/health").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_an_id_that_could_forge_a_log_line_is_replaced() -> None:
    for bad in ("a\nINFO forged", "x" * 200, "", "a b", None):
        assert re.fullmatch(r"[0-9a-f]{32}", request_id(bad)), bad
    assert request_id("req_1.2@host") == "req_1.2@host"


def test_a_websocket_gets_its_id_in_the_handshake(client: TestClient) -> None:
    with client.websocket_connect("/ws/tts", headers={"X-Request-ID": "ws-1"}) as ws:
        assert ws.receive_json()["error"]["code"] == "invalid_api_key"
        # The accept carried the header: TestClient keeps the handshake's extra headers.
        assert dict(ws.extra_headers)[b"x-request-id"] == b"ws-1"
