"""Metrics in-process: route templates, errors by code, the queue, live and model gauges,
and one registry per app. The figures of real transcription and speech are measured on a
real server in test_server.py."""

from __future__ import annotations

import asyncio
import threading

from fastapi.testclient import TestClient

from tests.ops.scrape import sample
from vocalis.config import Settings
from vocalis.models.pool import ModelPool
from vocalis.ops.metrics import Metrics, record_audio
from vocalis.server.app import create_app
from vocalis.server.jobs import JobQueue
from vocalis.server.live import LiveSlots


def test_requests_and_errors_by_route_template_and_code() -> None:
    with TestClient(create_app(Settings())) as client:
        client.get("/v1/models/whisper-base")
        client.get("/v1/models/tiny.en")
        client.get("/v1/models/no-such-model")
        client.get("/not/a/route")
        client.post("/v1/audio/speech", json={"voice": "alloy"})  # no input: 400
        page = client.get("/metrics").text
    route = "/v1/models/{model_id:path}"
    assert sample(page, "vocalis_requests_total", route=route, status="200") == 2
    assert sample(page, "vocalis_requests_total", route=route, status="404") == 1
    assert sample(page, "vocalis_requests_total", route="<unmatched>", status="404") == 1
    assert sample(page, "vocalis_request_duration_seconds_count", route=route) == 3
    assert sample(page, "vocalis_errors_total", code="model_not_found") == 1
    assert sample(page, "vocalis_errors_total", code="invalid_value") == 1
    assert sample(page, "vocalis_errors_total", code="http_404") == 1
    assert "/v1/models/whisper-base" not in page  # paths never become labels


def test_each_app_has_its_own_registry() -> None:
    with TestClient(create_app(Settings())) as first, TestClient(create_app(Settings())) as second:
        for _ in range(3):
            first.get("/health")
        second.get("/health")
        assert sample(first.get("/metrics").text, "vocalis_requests_total", route="/health") == 3
        assert sample(second.get("/metrics").text, "vocalis_requests_total", route="/health") == 1


def test_gauges_follow_the_queue_and_the_live_sessions() -> None:
    queue, slots, metrics = JobQueue(max_running=1, max_queued=4), LiveSlots(4), Metrics()
    metrics.watch(queue, slots, {})
    release = threading.Event()

    async def busy() -> str:
        jobs = [asyncio.create_task(queue.run(release.wait, 5)) for _ in range(3)]
        await asyncio.sleep(0.1)
        with slots.hold(), slots.hold():
            page = metrics.render().decode()
        release.set()
        await asyncio.gather(*jobs)
        return page

    page = asyncio.run(busy())
    assert sample(page, "vocalis_jobs_running") == 1
    assert sample(page, "vocalis_jobs_queued") == 2
    assert sample(page, "vocalis_live_sessions") == 2
    idle = metrics.render().decode()
    assert sample(idle, "vocalis_jobs_running") == sample(idle, "vocalis_live_sessions") == 0


def test_model_loads_are_timed_and_counted() -> None:
    pool: ModelPool[str] = ModelPool(lambda key: key.upper(), idle_timeout=0.01)
    metrics = Metrics()
    metrics.watch(JobQueue(1, 1), LiveSlots(1), {"stt": pool})
    pool.load("whisper-tiny.en")
    pool.load("whisper-tiny.en")  # already loaded: no second load
    pool.load("whisper-base")
    page = metrics.render().decode()
    assert sample(page, "vocalis_models_loaded", kind="stt") == 2
    count = "vocalis_model_load_seconds_count"
    assert sample(page, count, kind="stt", model="whisper-tiny.en") == 1
    assert sample(page, count, kind="stt", model="whisper-base") == 1


def test_audio_figures_outside_a_request_go_nowhere() -> None:
    record_audio("speech", "piper", 2.0, 0.5)  # no app to count it in: no error either
