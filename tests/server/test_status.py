"""GET /v1/status: what the page's Status panel reads, secrets left out."""

from __future__ import annotations

from fastapi.testclient import TestClient

from vocalis.config import Settings
from vocalis.ops.metrics import Metrics, counting, record_audio
from vocalis.server.app import create_app
from vocalis.server.routes.status import public_settings


def test_status_reports_queue_models_and_settings() -> None:
    settings = Settings(api_keys="sk-status-1", llm_url="http://127.0.0.1:9/v1")  # type: ignore[arg-type]
    with TestClient(create_app(settings)) as client:
        body = client.get("/v1/status", headers={"Authorization": "Bearer sk-status-1"}).json()
    assert body["status"] == "ok"
    assert body["ready"] == "loading"  # nothing preloaded
    assert body["queue"] == {"running": 0, "waiting": 0, "max_running": 2, "max_queued": 32}
    assert "whisper-base" in body["stt_models_installed"]
    assert "en" in body["languages"]
    assert body["llm_configured"] is True
    assert body["api_keys_required"] is True
    assert body["settings"]["api_keys"] == "(set)"
    assert "sk-status-1" not in str(body)


def test_secrets_are_replaced_by_whether_they_are_set() -> None:
    shown = public_settings(Settings(llm_api_key="llm-key-9"))
    assert shown["llm_api_key"] == "(set)"
    assert shown["api_keys"] == ""
    assert "llm-key-9" not in str(shown)


def test_recent_requests_are_kept_newest_last_and_bounded() -> None:
    metrics = Metrics()
    record_audio("speech", "piper", 2.0, 0.5)  # outside any app: not counted anywhere
    with counting(metrics):
        for n in range(25):
            record_audio("transcribe", "whisper-base", 10.0, float(n))
    assert len(metrics.recent) == 20
    assert metrics.recent[-1]["processing_seconds"] == 24.0
    assert metrics.recent[-1]["real_time_factor"] == 2.4
