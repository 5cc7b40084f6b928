"""API keys on every route, in-process: HTTP, SSE and each WebSocket route, with each of the
three ways a WebSocket client presents a key. No model is loaded here; the real server
with real models and the official SDK is tests/ops/test_server.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.conftest import EVAL_DIR
from vocalis.config import Settings
from vocalis.server.app import create_app

KEY = "sk-vocalis-test-0123456789"
OTHER = "sk-second-key"
WS_ROUTES = ("/ws/stt", "/ws/tts", "/v1/realtime")
KEY_PROTOCOLS = ["realtime", f"openai-insecure-api-key.{KEY}", "openai-beta.realtime-v1"]


@pytest.fixture(scope="module")
def keyed() -> Iterator[TestClient]:
    with TestClient(create_app(Settings(api_keys=f"{KEY}, {OTHER}"))) as client:  # type: ignore[arg-type]
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def assert_refused(response: Any, missing: bool) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_api_key"
    assert error["type"] == "invalid_request_error"
    assert ("Missing" in error["message"]) is missing
    assert KEY not in response.text
    assert response.headers["www-authenticate"] == "Bearer"


# -- HTTP and SSE -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/models", None),
        ("GET", "/v1/models/whisper-base", None),
        ("POST", "/v1/audio/speech", {"input": "hello", "voice": "alloy"}),
        ("POST", "/v1/audio/speech", {"input": "hello", "stream_format": "sse"}),
        ("GET", "/no/such/route", None),
        ("GET", "/v1/status", None),
        ("GET", "/v1/audio/jobs", None),
    ],
)
def test_every_http_route_needs_a_key(
    keyed: TestClient, method: str, path: str, body: dict[str, str] | None
) -> None:
    assert_refused(keyed.request(method, path, json=body), missing=True)
    assert_refused(keyed.request(method, path, json=body, headers=bearer("sk-wrong")), False)
    # A key in the query is for WebSockets only, not for HTTP.
    assert_refused(keyed.request(method, path, json=body, params={"api_key": KEY}), True)


def test_a_streamed_transcription_is_refused_before_any_work(keyed: TestClient) -> None:
    audio = (EVAL_DIR / "jfk.wav").read_bytes()
    response = keyed.post(
        "/v1/audio/transcriptions", files={"file": ("jfk.wav", audio)}, data={"stream": "true"}
    )
    assert_refused(response, missing=True)
    assert not keyed.app.state.services.stt.pool.loaded()  # type: ignore[attr-defined]


def test_either_key_is_accepted(keyed: TestClient) -> None:
    for key in (KEY, OTHER):
        response = keyed.get("/v1/models", headers=bearer(key))
        assert response.status_code == 200
        assert any(m["id"] == "whisper-base" for m in response.json()["data"])


def test_a_near_miss_or_a_prefix_is_refused(keyed: TestClient) -> None:
    for key in (KEY[:-1], KEY + "x", KEY.upper(), f"{KEY},{OTHER}"):
        assert_refused(keyed.get("/v1/models", headers=bearer(key)), missing=False)
    assert_refused(keyed.get("/v1/models", headers={"Authorization": KEY}), missing=True)


@pytest.mark.parametrize(
    "path", ["/health", "/healthz", "/ready", "/v1/audio/voices", "/v1/audio/models", "/docs"]
)
def test_health_readiness_discovery_and_docs_stay_open(keyed: TestClient, path: str) -> None:
    response = keyed.get(path)
    assert response.status_code in (200, 503), response.text  # /ready: 503 while loading
    assert "invalid_api_key" not in response.text


@pytest.mark.parametrize("path", ["/", "/web/app.js", "/web/style.css"])
def test_the_web_page_and_its_assets_stay_open_but_root_opens_nothing_else(
    keyed: TestClient, path: str
) -> None:
    response = keyed.get(path)
    assert response.status_code == 200
    assert len(response.content) > 500
    # "/" is an exact path: as a prefix it would open every route.
    assert_refused(keyed.get("/v1/status"), missing=True)


def test_voices_list_real_voices_without_a_key(keyed: TestClient) -> None:
    voices = keyed.get("/v1/audio/voices").json()["voices"]
    assert any(v["model"] == "piper" for v in voices)


def test_the_official_sdk_with_a_wrong_key_gets_authentication_error(keyed: TestClient) -> None:
    def sdk(key: str) -> openai.OpenAI:  # not closed: closing would close the test client
        return openai.OpenAI(
            base_url="http://testserver/v1", api_key=key, http_client=keyed, max_retries=0
        )

    with pytest.raises(openai.AuthenticationError) as refused:
        sdk("sk-wrong").models.list()
    assert refused.value.code == "invalid_api_key"
    assert "whisper-base" in [m.id for m in sdk(KEY).models.list()]


def test_the_health_paths_can_be_keyed_too() -> None:
    settings = Settings(api_keys=KEY, auth_open_paths="/healthz")  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        assert_refused(client.get("/health"), missing=True)
        assert_refused(client.get("/docs"), missing=True)
        # Discovery stays open whatever the setting: Open WebUI calls it without a key.
        assert client.get("/v1/audio/models").status_code == 200


def test_metrics_keyed_or_open_as_the_operator_chooses() -> None:
    for metrics_open in (False, True):
        settings = Settings(api_keys=KEY, metrics_open=metrics_open)  # type: ignore[arg-type]
        with TestClient(create_app(settings)) as client:
            response = client.get("/metrics")
            assert response.status_code == (200 if metrics_open else 401)
            assert client.get("/metrics", headers=bearer(KEY)).status_code == 200


def test_without_keys_everything_is_open() -> None:
    with TestClient(create_app(Settings())) as client:
        assert client.get("/v1/models").status_code == 200
        assert client.get("/metrics").status_code == 200


# -- WebSockets ---------------------------------------------------------------------------


def refusal(client: TestClient, path: str, **connect: Any) -> tuple[dict[str, Any], int]:
    """The error frame and close code a WebSocket gets."""
    with client.websocket_connect(path, **connect) as ws:
        frame = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    return frame, closed.value.code


@pytest.mark.parametrize("path", WS_ROUTES)
def test_every_websocket_without_a_valid_key_is_closed_with_1008(
    keyed: TestClient, path: str
) -> None:
    for connect, missing in [
        ({}, True),
        ({"headers": bearer("sk-wrong")}, False),
        ({"params": {"api_key": "sk-wrong"}}, False),
        ({"subprotocols": ["realtime", "openai-insecure-api-key.sk-wrong"]}, False),
    ]:
        frame, code = refusal(keyed, path, **connect)
        assert frame["type"] == "error"
        assert frame["error"]["code"] == "invalid_api_key"
        assert ("Missing" in frame["error"]["message"]) is missing
        assert code == 1008


def realtime_opens(client: TestClient, path: str = "/v1/realtime", **connect: Any) -> str | None:
    """The first event of a Realtime session, and the subprotocol the server chose."""
    with client.websocket_connect(path, **connect) as ws:
        assert ws.receive_json()["type"] == "session.created"
        return ws.accepted_subprotocol


def test_a_websocket_key_in_the_header_the_query_or_the_subprotocol(keyed: TestClient) -> None:
    assert realtime_opens(keyed, headers=bearer(KEY)) is None
    assert realtime_opens(keyed, params={"api_key": OTHER}) is None
    # The browser form: the server must choose one of the offered protocols, not the key.
    assert realtime_opens(keyed, subprotocols=KEY_PROTOCOLS) == "realtime"


def test_a_browser_without_the_realtime_protocol_still_gets_one_it_offered(
    keyed: TestClient,
) -> None:
    chosen = realtime_opens(keyed, subprotocols=[f"openai-insecure-api-key.{KEY}", "vocalis"])
    assert chosen == "vocalis"


def test_the_subprotocol_is_answered_when_keys_are_off() -> None:
    with TestClient(create_app(Settings())) as client:
        assert realtime_opens(client, subprotocols=KEY_PROTOCOLS) == "realtime"
        assert realtime_opens(client, subprotocols=["realtime"]) is None  # the route's choice


def test_a_keyed_websocket_reaches_its_route(keyed: TestClient) -> None:
    with keyed.websocket_connect("/ws/tts", headers=bearer(KEY)) as ws:
        ws.send_text("not json")
        frame = ws.receive_json()
    assert frame["type"] == "error"
    assert frame["error"]["code"] != "invalid_api_key", frame
