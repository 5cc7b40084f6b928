"""One real server with keys (from the environment and a keys file) and JSON logs: the official
SDK, a real transcription and real speech, the metrics they move, SIGHUP, and the log itself.

The tests run in order: the last reads the whole log the others produced.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import EVAL_DIR, LiveServer, references, start_server, stop_server, wer
from tests.ops.scrape import sample, samples

ENV_KEY = "sk-env-5b1c0ffee"
FILE_KEY = "sk-file-7d2beef"
NEW_KEY = "sk-rotated-9e3d00d"
WRONG_KEY = "sk-wrong-1a2b3c"
SECRETS = (ENV_KEY, FILE_KEY, NEW_KEY, WRONG_KEY)
MODEL = "whisper-tiny.en"
PCM_BYTES_PER_SECOND = 24_000 * 2  # OpenAI's pcm: 16-bit mono at 24 kHz


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "keys.txt"
    path.write_text(f"# household\n{FILE_KEY}\n")
    return path


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory: pytest.TempPathFactory, keys_file: Path) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("ops-server"),
        VOCALIS_API_KEYS=ENV_KEY,
        VOCALIS_API_KEYS_FILE=str(keys_file),
        VOCALIS_LOG_FORMAT="json",
        VOCALIS_DEFAULT_STT_MODEL=MODEL,
    )
    yield live
    stop_server(live)


def sdk(server: LiveServer, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)


def metrics(server: LiveServer, key: str = ENV_KEY) -> str:
    response = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def moved(before: str, after: str, name: str, **labels: str) -> float:
    return sample(after, name, **labels) - sample(before, name, **labels)


def test_a_real_transcription_moves_the_metrics_by_its_figures(keyed_server: LiveServer) -> None:
    before = metrics(keyed_server)
    with sdk(keyed_server, ENV_KEY) as client, (EVAL_DIR / "jfk.wav").open("rb") as audio:
        text = client.audio.transcriptions.create(
            model=MODEL, file=audio, extra_headers={"X-Request-ID": "rid-jfk-1"}
        ).text
    assert wer(references()["jfk.wav"][1], text) < 0.2, text
    after = metrics(keyed_server)
    labels = {"task": "transcribe", "model": MODEL}
    assert moved(before, after, "vocalis_audio_seconds_total", **labels) == pytest.approx(
        11.0, 0.01
    )
    processing = moved(before, after, "vocalis_processing_seconds_total", **labels)
    assert 0 < processing < 30
    assert moved(before, after, "vocalis_real_time_factor_count", **labels) == 1
    assert moved(before, after, "vocalis_real_time_factor_sum", **labels) == pytest.approx(
        processing / 11.0, rel=0.01
    )
    route = {"route": "/v1/audio/transcriptions", "method": "POST"}
    assert moved(before, after, "vocalis_requests_total", **route, status="200") == 1
    assert moved(before, after, "vocalis_request_duration_seconds_count", **route) == 1
    assert sample(after, "vocalis_model_load_seconds_count", kind="stt", model=MODEL) == 1
    assert sample(after, "vocalis_models_loaded", kind="stt") == 1
    assert sample(after, "vocalis_jobs_running") == sample(after, "vocalis_jobs_queued") == 0


def test_a_streamed_transcription_is_counted_too(keyed_server: LiveServer) -> None:
    before = metrics(keyed_server)
    clip = "turn_on_the_living_room_lamp.wav"
    with sdk(keyed_server, ENV_KEY) as client, (EVAL_DIR / clip).open("rb") as audio:
        events = list(client.audio.transcriptions.create(model=MODEL, file=audio, stream=True))
    assert events[-1].type == "transcript.text.done"
    assert wer(references()[clip][1], events[-1].text) < 0.3, events[-1].text
    after = metrics(keyed_server)
    labels = {"task": "transcribe", "model": MODEL}
    assert moved(before, after, "vocalis_audio_seconds_total", **labels) == pytest.approx(3.0, 0.05)


def test_real_speech_counts_its_seconds_and_its_time_to_first_audio(
    keyed_server: LiveServer,
) -> None:
    before = metrics(keyed_server)
    started = time.perf_counter()
    with sdk(keyed_server, FILE_KEY) as client:
        audio = client.audio.speech.create(
            model="piper", voice="alloy", input="The lamp is on.", response_format="pcm"
        ).read()
    took = time.perf_counter() - started
    seconds = len(audio) / PCM_BYTES_PER_SECOND
    assert 0.5 < seconds < 5
    after = metrics(keyed_server)
    spoken = samples(after, "vocalis_audio_seconds_total", task="speech")
    assert len(spoken) == 1, spoken
    engine = spoken[0].labels["model"]
    labels = {"task": "speech", "model": engine}
    assert moved(before, after, "vocalis_audio_seconds_total", **labels) == pytest.approx(
        seconds, abs=0.05
    )
    first = "vocalis_speech_time_to_first_audio_seconds"
    assert moved(before, after, f"{first}_count", route="/v1/audio/speech") == 1
    waited = moved(before, after, f"{first}_sum", route="/v1/audio/speech")
    assert 0 < waited < took  # the first audio left before the last
    processing = moved(before, after, "vocalis_processing_seconds_total", **labels)
    assert 0 < processing < took


def test_a_wrong_key_is_refused_by_the_sdk_and_counted(keyed_server: LiveServer) -> None:
    before = metrics(keyed_server)
    with sdk(keyed_server, WRONG_KEY) as client, pytest.raises(openai.AuthenticationError):
        client.models.list()
    assert moved(before, metrics(keyed_server), "vocalis_errors_total", code="invalid_api_key") == 1
    assert httpx.get(f"{keyed_server.url}/metrics").status_code == 401  # keyed by default


def realtime(server: LiveServer, query: str = "", **connect_args: Any) -> Any:
    url = server.url.replace("http://", "ws://") + "/v1/realtime" + query
    return connect(url, open_timeout=10, **connect_args)


def test_the_browser_subprotocol_and_the_query_key_on_a_real_socket(
    keyed_server: LiveServer,
) -> None:
    protocols = ["realtime", f"openai-insecure-api-key.{FILE_KEY}", "openai-beta.realtime-v1"]
    with realtime(keyed_server, subprotocols=protocols) as ws:
        assert ws.subprotocol == "realtime"
        assert json.loads(ws.recv(timeout=10))["type"] == "session.created"
    with realtime(keyed_server, f"?api_key={ENV_KEY}") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "session.created"
    with realtime(keyed_server, f"?api_key={WRONG_KEY}") as ws:
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "invalid_api_key"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


def test_sighup_rereads_the_keys_file(keyed_server: LiveServer, keys_file: Path) -> None:
    def status(key: str) -> int:
        headers = {"Authorization": f"Bearer {key}"}
        return httpx.get(f"{keyed_server.url}/v1/models", headers=headers).status_code

    assert (status(FILE_KEY), status(NEW_KEY)) == (200, 401)
    keys_file.write_text(f"{NEW_KEY}\n")
    os.kill(keyed_server.process.pid, signal.SIGHUP)
    keyed_server.wait_for_log("reloaded API keys", timeout=10)
    assert (status(FILE_KEY), status(NEW_KEY), status(ENV_KEY)) == (401, 200, 200)
    assert keyed_server.process.poll() is None  # SIGHUP did not stop it


def test_every_log_line_is_json_with_request_ids_and_no_key(keyed_server: LiveServer) -> None:
    text = keyed_server.log_text()
    for secret in SECRETS:
        assert secret not in text, secret
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    loggers = {line["logger"] for line in lines}
    assert {"uvicorn.error", "uvicorn.access", "vocalis.access"} <= loggers, loggers
    traced = [line for line in lines if line.get("request_id") == "rid-jfk-1"]
    by_logger = {line["logger"]: line for line in traced}
    access = by_logger["uvicorn.access"]
    assert (access["path"], access["status"]) == ("/v1/audio/transcriptions", 200)
    figures = by_logger["vocalis.access"]
    assert figures["message"] == "transcribe" and figures["model"] == MODEL
    assert figures["audio_seconds"] == pytest.approx(11.0, 0.01)
    assert figures["real_time_factor"] == pytest.approx(
        figures["processing_seconds"] / figures["audio_seconds"], rel=0.05
    )
    requests = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert all(len(line.get("request_id", "")) >= 8 for line in requests)
    assert "api_key=***" in text  # the WebSocket lines, with the query masked
