"""The replica's side of Serve's model multiplexing, on a small app with a stand-in for the
multiplexer: the routed model is held before the request runs, a bad one never fails it,
and every answer names its replica and carries one request id."""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from vocalis.deploy.multiplex import HoldRoutedModel, routed_model
from vocalis.errors import ModelNotFound


class Multiplexer:
    """Records what it was asked to hold; refuses models named 'missing'."""

    def __init__(self) -> None:
        self.held: list[str] = []

    async def __call__(self, model_id: str) -> str:
        if model_id == "missing":
            raise ModelNotFound("The model 'missing' does not exist.")
        self.held.append(model_id)
        return model_id


async def echo(request: Request) -> JSONResponse:
    # What the app itself does: it answers with the request id it was given.
    return JSONResponse({"ok": True}, headers={"x-request-id": "from-the-app"})


async def live(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


@pytest.fixture
def multiplexer() -> Multiplexer:
    return Multiplexer()


@pytest.fixture
def client(multiplexer: Multiplexer) -> TestClient:
    app = Starlette(routes=[Route("/v1/x", echo, methods=["POST"]), WebSocketRoute("/ws", live)])
    app.add_middleware(HoldRoutedModel, hold=multiplexer, replica="replica-a")
    return TestClient(app)


@pytest.mark.parametrize("header", ["serve_multiplexed_model_id", "Serve-Multiplexed-Model-Id"])
def test_the_routed_model_is_held_before_the_request_runs(
    client: TestClient, multiplexer: Multiplexer, header: str
) -> None:
    response = client.post("/v1/x", headers={header: "whisper-tiny.en"})
    assert response.status_code == 200
    assert multiplexer.held == ["whisper-tiny.en"]
    assert response.headers["x-vocalis-replica"] == "replica-a"
    # Serve's proxy adds the request id to every answer; the replica's copy is left out.
    assert "x-request-id" not in response.headers


def test_without_the_header_nothing_is_held(client: TestClient, multiplexer: Multiplexer) -> None:
    response = client.post("/v1/x")
    assert response.status_code == 200 and multiplexer.held == []
    assert response.headers["x-vocalis-replica"] == "replica-a"


def test_a_model_that_cannot_be_held_is_logged_and_the_request_served(
    client: TestClient, multiplexer: Multiplexer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="vocalis.deploy.multiplex"):
        response = client.post("/v1/x", headers={"serve_multiplexed_model_id": "missing"})
    assert response.status_code == 200 and multiplexer.held == []
    assert "'missing'" in caplog.text


def test_a_websocket_holds_its_routed_model_too(
    client: TestClient, multiplexer: Multiplexer
) -> None:
    with client.websocket_connect("/ws", headers={"serve_multiplexed_model_id": "m"}) as ws:
        assert ws.receive_text() == "hello"
    assert multiplexer.held == ["m"]


def test_the_header_is_read_as_serve_reads_it() -> None:
    def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
        return {"type": "http", "headers": list(headers)}

    assert routed_model(scope((b"serve-multiplexed-model-id", b" base "))) == "base"
    assert routed_model(scope((b"serve_multiplexed_model_id", b""))) is None
    assert routed_model(scope((b"x-other", b"base"))) is None
