"""Vocalis on a real local Ray cluster: `vocalis ray-serve --replicas 2` with the real small
models, every Ray process on the loopback and in a temp dir of its own.

Through Serve's HTTP proxy it answers as the plain server does; a routed Whisper model
goes to the replica that holds it; a durable job submitted to one replica is read through
the other and runs once; a replica killed mid-job is replaced while the OpenAI SDK's
requests keep succeeding and the job runs again elsewhere; the deployment scales back to
one replica; and SIGTERM leaves none of the processes the command started (a second
SIGTERM ends them all at once).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from openai import OpenAI

from tests.batch.live import finished, submit, wait_for
from tests.conftest import EVAL_DIR, LiveServer, references, start_server, stop_server, wer
from tests.deploy.ray_support import (
    RayServe,
    alive,
    cmdline,
    descendants,
    parents,
    start_ray_serve,
    stop_ray_serve,
    wait_until,
)
from tests.recordings import long, short, wav_bytes
from vocalis.cli_ray import passed_on

MODEL = "whisper-tiny.en"
OTHER_MODEL = "whisper-base"
# What both the cluster's replicas and the plain server run with.
SETTINGS = {
    "VOCALIS_DEFAULT_STT_MODEL": MODEL,
    "VOCALIS_PRELOAD": "true",
    "VOCALIS_WINDOW_SECONDS": "30",
}
ROUTE = "serve_multiplexed_model_id"
MAX_WER = 0.1
COMMAND = "Turn on the living room lamp."


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayServe]:
    serve = start_ray_serve(
        tmp_path_factory.mktemp("ray-serve"), "--replicas", "2", "--num-cpus", "1", **SETTINGS
    )
    serve.figures["start_seconds"] = round(serve.started_in, 1)
    yield serve
    stop_ray_serve(serve)  # when a test failed before the SIGTERM test
    print("\nRay Serve figures:", json.dumps(serve.figures))


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("plain"), **SETTINGS)
    yield live
    stop_server(live)


def sdk(url: str, **options: object) -> OpenAI:
    return OpenAI(base_url=f"{url}/v1", api_key="unused", **options)  # type: ignore[arg-type]


def test_transcription_and_speech_answer_as_the_plain_server(
    cluster: RayServe, plain: LiveServer
) -> None:
    refs = references()
    for name in ("jfk.wav", "turn_on_the_living_room_lamp.wav"):
        audio = (EVAL_DIR / name).read_bytes()
        texts = []
        for url in (cluster.url, plain.url):
            with sdk(url, _strict_response_validation=True, max_retries=0) as client:
                result = client.audio.transcriptions.create(model=MODEL, file=(name, audio))
            texts.append(result.text)
        assert texts[0] == texts[1]
        assert wer(refs[name][1], texts[0]) < MAX_WER
    with cluster.client() as served, plain.client() as local:
        for path in ("/v1/models", "/v1/audio/voices", "/v1/audio/models"):
            assert served.get(path).json() == local.get(path).json()
        said = {"model": "piper", "voice": "en_US-joe-medium", "response_format": "wav"}
        said["input"] = "Turn on the kitchen light, please."
        spoken = [client.post("/v1/audio/speech", json=said) for client in (served, local)]
        assert all(r.status_code == 200 for r in spoken)
        assert spoken[0].headers["content-type"] == spoken[1].headers["content-type"]
        lengths = [len(r.content) for r in spoken]
        assert abs(lengths[0] - lengths[1]) < 0.15 * lengths[1]
        heard = served.post(
            "/v1/audio/transcriptions",
            files={"file": ("hello.wav", spoken[0].content)},
            data={"model": MODEL},
        )
        assert wer(said["input"], heard.json()["text"]) < 0.2
        # One request id, from Serve's proxy; the replica that answered is named.
        response = served.get("/health", headers={"x-request-id": "check-1"})
        assert response.headers.get_list("x-request-id") == ["check-1"]
        assert response.headers["x-vocalis-replica"]


def routed(cluster: RayServe, model: str, path: str = "/health") -> str:
    with cluster.client(**{ROUTE: model}) as client:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return response.headers["x-vocalis-replica"]


def routes(cluster: RayServe) -> dict[str, str]:
    """Each model routed once, so that a replica holds it; the replica of each."""
    if not cluster.routes:
        for model in (MODEL, OTHER_MODEL):
            cluster.routes[model] = routed(cluster, model)
            time.sleep(2)  # the replica tells Serve's controller, which tells the proxy
    return cluster.routes


def test_a_routed_model_goes_to_the_replica_that_holds_it(cluster: RayServe) -> None:
    held = routes(cluster)
    first, other = held[MODEL], held[OTHER_MODEL]
    # A model no replica held went to the one holding fewest: the other one, which loaded it.
    assert other != first
    assert {routed(cluster, MODEL) for _ in range(6)} == {first}
    assert {routed(cluster, OTHER_MODEL) for _ in range(6)} == {other}
    # A transcription routed by its model lands there too, and uses the model it names.
    audio = (EVAL_DIR / "jfk.wav").read_bytes()
    with cluster.client(**{ROUTE: OTHER_MODEL}) as client:
        response = client.post(
            "/v1/audio/transcriptions",
            files={"file": ("a.wav", audio)},
            data={"model": OTHER_MODEL},
        )
        health = client.get("/health").json()
    assert response.headers["x-vocalis-replica"] == other
    assert OTHER_MODEL in health["stt_models_loaded"]
    with cluster.client(**{ROUTE: MODEL}) as client:
        assert OTHER_MODEL not in client.get("/health").json()["stt_models_loaded"]


def test_a_job_submitted_to_one_replica_is_read_through_the_other(cluster: RayServe) -> None:
    audio, reference, _ = short(EVAL_DIR)
    routes(cluster)
    with cluster.client(**{ROUTE: MODEL}) as first, cluster.client(**{ROUTE: OTHER_MODEL}) as other:
        submitted = first.post(
            "/v1/audio/jobs", files={"file": ("talk.wav", audio)}, data={"model": MODEL}
        )
        assert submitted.status_code == 200, submitted.text
        job_id = submitted.json()["id"]
        seen = other.get(f"/v1/audio/jobs/{job_id}")
        assert seen.status_code == 200
        assert seen.headers["x-vocalis-replica"] != submitted.headers["x-vocalis-replica"]
        done = wait_for(other, job_id, finished, timeout=120)
        text = first.get(f"/v1/audio/jobs/{job_id}/result", params={"format": "text"}).text
    assert (done["status"], done["attempts"]) == ("completed", 1)  # run once, by one replica
    assert wer(reference, text) < MAX_WER


def job_owner_pid(cluster: RayServe, job_id: str) -> int | None:
    with sqlite3.connect(cluster.data_dir / "jobs.sqlite3") as conn:
        row = conn.execute("SELECT owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return int(row[0].split()[1]) if row and row[0] else None


class Counting(httpx.Client):
    """The SDK's transport, counting the answers that were 5xx (the SDK retries them)."""

    def __init__(self) -> None:
        self.failed_attempts = 0
        super().__init__(timeout=120, event_hooks={"response": [self._count]})

    def _count(self, response: httpx.Response) -> None:
        if response.status_code >= 500:
            self.failed_attempts += 1


def test_a_killed_replica_is_replaced_while_requests_keep_succeeding(cluster: RayServe) -> None:
    samples, reference = long(EVAL_DIR, minutes=2)
    before = cluster.replica_pids()
    assert len(before) == 2
    known = set(routes(cluster).values())
    with cluster.client() as http:
        job_id = submit(http, wav_bytes(samples))["id"]
        wait_for(http, job_id, lambda found: found["progress"]["seconds"] > 0, timeout=120)
    victim = job_owner_pid(cluster, job_id)
    assert victim in before
    command = (EVAL_DIR / "turn_on_the_living_room_lamp.wav").read_bytes()
    answers: list[str] = []
    transports = [Counting() for _ in range(2)]

    def send(transport: Counting) -> None:
        # The SDK's defaults: two retries of a 5xx, as every OpenAI client does.
        with sdk(cluster.url, http_client=transport) as client:
            for _ in range(8):
                answers.append(
                    client.audio.transcriptions.create(model=MODEL, file=("c.wav", command)).text
                )

    senders = [threading.Thread(target=send, args=(t,)) for t in transports]
    for sender in senders:
        sender.start()
    time.sleep(1.0)
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    replaced = wait_until(
        lambda: len(cluster.replica_pids() - before) == 1 and len(cluster.replica_pids()) == 2,
        90,
        "replacement replica process",
    )
    with cluster.client() as http:

        def answered_by_a_new_replica() -> bool:
            response = http.get("/health")
            return (
                response.status_code == 200 and response.headers["x-vocalis-replica"] not in known
            )

        wait_until(answered_by_a_new_replica, 90, "an answer from the new replica")
        serving = time.monotonic() - killed
        for sender in senders:
            sender.join(180)
        done = wait_for(http, job_id, finished, timeout=240)
        text = http.get(f"/v1/audio/jobs/{job_id}/result", params={"format": "text"}).text
    assert len(answers) == 16 and all(wer(COMMAND, a) < 0.3 for a in answers)
    # The job was taken back from the dead replica and run again, whole, by a live one.
    assert (done["status"], done["attempts"]) == ("completed", 2)
    assert wer(reference, text) < MAX_WER
    cluster.figures["replacement"] = {
        "process_seconds": round(replaced, 1),
        "serving_seconds": round(serving, 1),
        "sdk_requests": len(answers),
        "failed_attempts_retried_by_the_sdk": sum(t.failed_attempts for t in transports),
    }


def test_the_deployment_scales_back_to_one_replica(cluster: RayServe) -> None:
    """`serve.run` again with one replica, from another driver, while requests go on.
    Serve 2.60 versions an imperative deployment itself, so this rolls the replicas over
    to one new one rather than stopping one in place."""
    assert len(cluster.replica_pids()) == 2
    script = (
        "import sys, ray\n"
        "from ray import serve\n"
        "from vocalis.deploy.ray import Scale, application\n"
        "ray.init(address=sys.argv[1], log_to_driver=False)\n"
        f"serve.run(application(Scale(replicas=1), {passed_on(cluster.env)!r}), name='vocalis')\n"
        "ray.shutdown()\n"
    )
    transport = Counting()
    answers: list[str] = []
    stop = threading.Event()

    def send() -> None:
        command = (EVAL_DIR / "turn_on_the_living_room_lamp.wav").read_bytes()
        with sdk(cluster.url, http_client=transport) as client:
            while not stop.is_set() and len(answers) < 60:
                file = ("c.wav", command)
                answers.append(client.audio.transcriptions.create(model=MODEL, file=file).text)

    sender = threading.Thread(target=send)
    sender.start()
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, cluster.gcs_address()],
            # The cluster's token, which starting it saved in ~/.ray, admits the driver.
            env={**cluster.env, "PYTHONWARNINGS": "ignore", "RAY_AUTH_MODE": "token"},
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        wait_until(lambda: len(cluster.replica_pids()) == 1, 90, "one replica")
    finally:
        stop.set()
        sender.join(120)
    cluster.figures["scale_back"] = {
        "seconds": round(time.monotonic() - started, 1),
        "sdk_requests": len(answers),
        "failed_attempts_retried_by_the_sdk": transport.failed_attempts,
    }
    assert answers and all(wer(COMMAND, a) < 0.3 for a in answers)
    with sdk(cluster.url, max_retries=0) as client:
        audio = (EVAL_DIR / "jfk.wav").read_bytes()
        text = client.audio.transcriptions.create(model=MODEL, file=("a.wav", audio)).text
    assert wer(references()["jfk.wav"][1], text) < MAX_WER


def test_sigterm_stops_everything_it_started(cluster: RayServe) -> None:
    started = descendants(cluster.process.pid)
    started |= {pid for pid in parents() if str(cluster.temp_dir) in cmdline(pid) and alive(pid)}
    assert len(started) >= 8  # Ray's own processes, Serve's controller and proxy, a replica
    cluster.process.send_signal(signal.SIGTERM)
    assert cluster.process.wait(timeout=90) == 0
    wait_until(lambda: not any(alive(pid) for pid in started), 30, "end of every process")
    assert "Vocalis on Ray Serve at" in cluster.log.read_text(errors="replace")


def test_a_second_signal_ends_every_process_at_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    serve = start_ray_serve(tmp_path_factory.mktemp("forced"), "--replicas", "1")
    try:
        started = descendants(serve.process.pid)
        assert len(serve.replica_pids()) == 1
        serve.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        serve.process.send_signal(signal.SIGTERM)
        assert serve.process.wait(timeout=30) == 1
        wait_until(lambda: not any(alive(pid) for pid in started), 10, "end of every process")
    finally:
        stop_ray_serve(serve)
