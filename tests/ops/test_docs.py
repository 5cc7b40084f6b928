"""/docs and /redoc work offline: every asset they load is served here, with real content."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from vocalis.config import Settings
from vocalis.server.app import create_app

# What each asset must contain to be the real thing, not an empty or error page.
SIGNATURES = {
    "swagger-ui-bundle.js": "SwaggerUIBundle",
    "swagger-ui.css": ".swagger-ui",
    "redoc.standalone.js": "Redoc",
}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings())) as client:
        yield client


LOADS = re.compile(r"(?:src|href|spec-url)=\"([^\"]+)\"|url: '([^']+)'")


def loaded_urls(html: str) -> list[str]:
    """Everything a page would fetch: src and href attributes, and the spec's URL."""
    return [attribute or script for attribute, script in LOADS.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_pages_load_only_local_assets(client: TestClient, page: str) -> None:
    html = client.get(page).text
    urls = loaded_urls(html)
    assert "/openapi.json" in urls and len(urls) >= 3, urls
    assert "http://" not in html and "https://" not in html, html
    for url in urls:
        assert url.startswith("/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        name = url.rsplit("/", 1)[-1]
        if name in SIGNATURES:
            assert SIGNATURES[name] in response.text
            assert len(response.content) > 50_000, (url, len(response.content))
        if url == "/openapi.json":
            assert "/v1/audio/transcriptions" in response.json()["paths"]


def test_the_assets_are_not_in_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc", "/metrics"))]


def test_a_keyed_server_declares_bearer_keys_for_swagger_ui(client: TestClient) -> None:
    assert "security" not in client.get("/openapi.json").json()
    with TestClient(create_app(Settings(api_keys="sk-x"))) as keyed:  # type: ignore[arg-type]
        schema = keyed.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["apiKey"] == {
            "type": "http",
            "scheme": "bearer",
        }
        assert schema["security"] == [{"apiKey": []}]
        assert keyed.get("/openapi.json").json() == schema  # built once, the same each time
