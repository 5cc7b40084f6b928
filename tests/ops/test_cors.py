"""CORS: off by default; with VOCALIS_CORS_ORIGINS a browser's preflight passes without a key
and a keyed request's answer (a 401 too) is readable by the page."""

from __future__ import annotations

from fastapi.testclient import TestClient

from vocalis.config import Settings
from vocalis.server.app import create_app

ORIGIN = "http://webui.home.arpa:8080"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def test_a_preflight_passes_without_a_key_and_names_the_origin() -> None:
    settings = Settings(api_keys="sk-x", cors_origins=f"{ORIGIN}, http://other")  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        response = client.options("/v1/audio/speech", headers=PREFLIGHT)
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == ORIGIN
        assert "authorization" in response.headers["access-control-allow-headers"].lower()
        refused = client.get("/v1/models", headers={"Origin": ORIGIN})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == ORIGIN
        assert "x-request-id" in refused.headers["access-control-expose-headers"].lower()
        stranger = client.options(
            "/v1/audio/speech", headers={**PREFLIGHT, "Origin": "http://evil"}
        )
        assert stranger.status_code == 400
        assert "access-control-allow-origin" not in stranger.headers


def test_cors_is_off_by_default() -> None:
    with TestClient(create_app(Settings())) as client:
        response = client.options("/v1/audio/speech", headers=PREFLIGHT)
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-origin" not in client.get("/health").headers
