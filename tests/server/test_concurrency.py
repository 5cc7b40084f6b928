"""Inference stays off the event loop; a full queue is refused with 429."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import EVAL_DIR, LiveServer, references, wer

JFK = (EVAL_DIR / "jfk.wav").read_bytes()


def transcribe(
    server: LiveServer, model: str = "whisper-base"
) -> tuple[float, float, httpx.Response]:
    with server.client() as client:
        started = time.monotonic()
        response = client.post(
            "/v1/audio/transcriptions", files={"file": ("jfk.wav", JFK)}, data={"model": model}
        )
        return started, time.monotonic(), response


def test_health_answers_while_four_transcriptions_run(server: LiveServer) -> None:
    answered: list[float] = []
    with ThreadPoolExecutor(4) as pool, server.client() as client:
        jobs = [pool.submit(transcribe, server) for _ in range(4)]
        while not all(job.done() for job in jobs):
            assert client.get("/health", timeout=5).status_code == 200
            answered.append(time.monotonic())
            time.sleep(0.05)
        results = [job.result() for job in jobs]
    first_start = min(start for start, _, _ in results)
    last_end = max(end for _, end, _ in results)
    during = [t for t in answered if first_start < t < last_end]
    # Health answered many times while the jobs were in flight, not only before or after.
    assert len(during) >= 10
    for _, _, response in results:
        assert wer(references()["jfk.wav"][1], response.json()["text"]) < 0.05


def test_full_queue_gets_429_with_retry_after(server: LiveServer) -> None:
    # The session server runs 2 jobs and queues 3: a burst of 9 must overflow.
    with ThreadPoolExecutor(9) as pool:
        results = list(pool.map(lambda _: transcribe(server, "whisper-tiny.en")[2], range(9)))
    refused = [r for r in results if r.status_code == 429]
    served = [r for r in results if r.status_code == 200]
    assert refused and served
    assert int(refused[0].headers["retry-after"]) > 0
    assert refused[0].json()["error"]["type"] == "rate_limit_error"
    assert all("ask not" in r.json()["text"].lower() for r in served)


def test_ready_after_preload(server: LiveServer) -> None:
    with server.client() as client:
        body = client.get("/ready").json()
    assert body == {"status": "ready", "default_model": "whisper-base", "loaded": True}
