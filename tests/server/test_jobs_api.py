"""Durable jobs over HTTP against a real server process and the real tiny model: a minute
of speech from queued to completed in every format, progress that moves, a cancel that
stops the work and frees the slot, SIGKILLs mid-job that the next starts recover from,
a result that outlives the server, and bad input answered in the envelope."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from tests.batch.live import (
    MODEL,
    Job,
    JobsServer,
    finished,
    job,
    jobs_server,
    progressed,
    submit,
    wait_for,
)
from tests.conftest import EVAL_DIR, references, wer
from tests.recordings import RATE, long, ogg_opus, short, wav_bytes

__all__ = ["jobs_server"]  # the fixture, shared with the CLI's tests
CUE = re.compile(r"(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)")
# whisper-tiny.en on the stitched public clips: measured 0.013 (42 s) and 0.025 (45 s).
MAX_WER = 0.1


@pytest.fixture
def http(jobs_server: JobsServer) -> Iterator[httpx.Client]:
    with jobs_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def minute() -> tuple[bytes, str, float]:
    return short(EVAL_DIR)


@pytest.fixture(scope="module")
def completed(jobs_server: JobsServer, minute: tuple[bytes, str, float]) -> tuple[Job, Job, float]:
    """A minute of speech as a job: as queued, as completed, and how long the POST took."""
    with jobs_server.client() as http:
        started = time.monotonic()
        queued = submit(http, minute[0], response_format="srt")
        answered = time.monotonic() - started
        return queued, wait_for(http, queued["id"], finished), answered


def cues(srt: str) -> list[tuple[float, float]]:
    def seconds(h: str, m: str, s: str, ms: str) -> float:
        return int(h) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000

    return [(seconds(*m.groups()[:4]), seconds(*m.groups()[4:])) for m in CUE.finditer(srt)]


def error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    assert set(body) == {"message", "type", "param", "code"}
    message: str = body["message"]
    return message


def test_a_minute_of_speech_from_queued_to_every_format(
    http: httpx.Client, minute: tuple[bytes, str, float], completed: tuple[Job, Job, float]
) -> None:
    _, reference, seconds = minute
    queued, done, answered = completed
    assert answered < 2  # at once, not after the transcription
    assert queued["object"] == "audio.job" and queued["status"] == "queued"
    assert queued["progress"]["total_seconds"] == pytest.approx(seconds, abs=0.1)
    assert queued["model"] == MODEL and queued["filename"] == "talk.wav"
    assert done["status"] == "completed", done
    assert done["progress"]["seconds"] == pytest.approx(seconds, abs=0.5)
    assert done["progress"]["percent"] == pytest.approx(100, abs=1)
    # The job's own format by default: srt, with cues in order across the whole minute.
    srt = http.get(f"/v1/audio/jobs/{queued['id']}/result")
    assert srt.headers["content-type"].startswith("text/plain")
    spans = cues(srt.text)
    assert len(spans) >= 5
    assert spans[0][0] < 1.5 and seconds - 3 < spans[-1][1] <= seconds + 0.1
    assert all(a <= b for a, b in spans) and all(
        spans[i][1] <= spans[i + 1][0] + 0.01 for i in range(len(spans) - 1)
    )
    text = http.get(f"/v1/audio/jobs/{queued['id']}/result", params={"format": "text"}).text
    assert wer(reference, text) <= MAX_WER, text
    body = http.get(f"/v1/audio/jobs/{queued['id']}/result", params={"format": "json"}).json()
    assert body["text"] == text.strip()
    assert body["usage"] == {"type": "duration", "seconds": int(np.ceil(seconds))}
    verbose = http.get(
        f"/v1/audio/jobs/{queued['id']}/result", params={"format": "verbose_json"}
    ).json()
    assert verbose["duration"] == pytest.approx(seconds, abs=0.1)
    stamps = [t for s in verbose["segments"] for t in (s["start"], s["end"])]
    assert stamps == pytest.approx([t for span in spans for t in span], abs=1e-3)
    vtt = http.get(f"/v1/audio/jobs/{queued['id']}/result", params={"format": "vtt"}).text
    assert vtt.startswith("WEBVTT") and vtt.count(" --> ") == len(spans)
    listed = http.get("/v1/audio/jobs").json()
    assert listed["object"] == "list" and queued["id"] in [j["id"] for j in listed["data"]]


def test_a_cancelled_job_stops_and_frees_its_slot(
    http: httpx.Client, jobs_server: JobsServer
) -> None:
    # Eight minutes, so that the job is caught early however fast the machine (as opus: the
    # jobs' disk budget here is 12 MB).
    samples, _ = long(EVAL_DIR, 8)
    queued = submit(http, ogg_opus(samples), name="talk.ogg")
    message = error(http.get(f"/v1/audio/jobs/{queued['id']}/result"), 409, "job_not_finished")
    assert "its result is ready once it is completed" in message
    first = wait_for(http, queued["id"], progressed(0))
    moved = wait_for(http, queued["id"], progressed(first["progress"]["seconds"]))
    assert moved["progress"]["seconds"] < moved["progress"]["total_seconds"] / 2
    cancelled = http.delete(f"/v1/audio/jobs/{queued['id']}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # The transcription itself stops at its next step, and its upload goes.
    jobs_server.live.wait_for_log(rf"job {queued['id']} cancelled", timeout=5)
    uploads = jobs_server.data_dir / "uploads"
    assert not (uploads / f"{queued['id']}.upload").exists()
    started = time.monotonic()
    response = http.post(
        "/v1/audio/transcriptions",
        files={"file": (EVAL_DIR / "jfk.wav").read_bytes()},
        data={"model": MODEL},
    )
    assert response.status_code == 200
    assert time.monotonic() - started < 5
    assert wer(references()["jfk.wav"][1], response.json()["text"]) <= 0.1
    after = job(http, queued["id"])
    assert after["status"] == "cancelled"
    error(http.get(f"/v1/audio/jobs/{queued['id']}/result"), 409, "job_not_finished")


def test_a_sigkill_mid_job_resumes_after_the_restart(
    jobs_server: JobsServer, completed: tuple[Job, Job, float]
) -> None:
    samples, reference = long(EVAL_DIR, 4)  # 30-s windows: eight or more
    kept = completed[1]["id"]
    with jobs_server.client() as http:
        kept_srt = http.get(f"/v1/audio/jobs/{kept}/result").text
        interrupted = submit(http, wav_bytes(samples), name="long.wav")
        # Past 65 s, the third window (it starts by 60 s) has begun: its checkpoint is saved.
        wait_for(http, interrupted["id"], progressed(65), poll=0.02)
    jobs_server.kill_and_restart()
    with jobs_server.client() as http:  # killed again once the resumed run has saved its own
        wait_for(http, interrupted["id"], progressed(155), poll=0.02)
    jobs_server.kill_and_restart()
    with jobs_server.client() as http:
        done = wait_for(http, interrupted["id"], finished)
        assert (done["status"], done["attempts"]) == ("completed", 3), done
        assert done["progress"]["total_seconds"] == pytest.approx(len(samples) / RATE, abs=0.1)
        text = http.get(f"/v1/audio/jobs/{interrupted['id']}/result", params={"format": "text"})
        assert wer(reference, text.text) <= MAX_WER, text.text
        srt = http.get(f"/v1/audio/jobs/{interrupted['id']}/result", params={"format": "srt"})
        starts = [start for start, _ in cues(srt.text)]
        assert starts == sorted(set(starts))  # each segment once, in order
        # The job finished before the kill kept its result.
        assert http.get(f"/v1/audio/jobs/{kept}/result").text == kept_srt
    # The second run went on from its checkpoint: no window before it was decoded again.
    log = jobs_server.live.log_text()
    started = rf"job {interrupted['id']} started \(attempt 3, resuming at ([\d.]+) s"
    resumed = re.search(started, log)
    assert resumed, log[-3000:]
    windows = [float(at) for at in re.findall(r'"event": "window".*?"at": ([\d.]+)', log)]
    assert float(resumed[1]) >= 135 and windows
    assert min(windows) == pytest.approx(float(resumed[1]), abs=0.1)
    assert list((jobs_server.data_dir / "uploads").iterdir()) == []


def test_bad_input_is_answered_in_the_envelope(
    http: httpx.Client, minute: tuple[bytes, str, float], completed: tuple[Job, Job, float]
) -> None:
    before = len(http.get("/v1/audio/jobs", params={"limit": 100}).json()["data"])
    for method, path in [
        ("GET", "/v1/audio/jobs/job_nope"),
        ("DELETE", "/v1/audio/jobs/job_nope"),
        ("GET", "/v1/audio/jobs/job_nope/result"),
        ("GET", "/v1/audio/jobs/..%2F..%2Fjobs.sqlite3/result"),
    ]:
        response = http.request(method, path)
        assert response.status_code == 404 and "error" in response.json(), response.text
    error(http.get("/v1/audio/jobs/job_nope"), 404, "job_not_found")

    def post(audio: bytes, **fields: str) -> httpx.Response:
        return http.post("/v1/audio/jobs", files={"file": ("x.wav", audio)}, data=fields)

    error(post(b"not audio at all" * 100), 400, "invalid_file_format")
    error(post(b""), 400, "invalid_file_format")
    error(post(minute[0], response_format="docx"), 400, "invalid_value")
    error(post(minute[0], model="whisper-huge-v9"), 404, "model_not_found")
    too_big = wav_bytes(np.zeros(13 * 1024 * 1024 // 2, dtype=np.float32))
    message = error(post(too_big), 507, "insufficient_storage")
    assert "VOCALIS_JOBS_MAX_DISK_MB" in message
    error(http.get("/v1/audio/jobs", params={"limit": 0}), 400, "invalid_value")
    error(http.get("/v1/audio/jobs", params={"status": "lost"}), 400, "invalid_value")
    done = completed[1]["id"]
    bad_format = http.get(f"/v1/audio/jobs/{done}/result", params={"format": "docx"})
    assert "use one of json, text, srt, vtt" in error(bad_format, 400, "invalid_value")
    assert "completed already" in error(http.delete(f"/v1/audio/jobs/{done}"), 409, "job_finished")
    # Nothing was queued by any of it, and the server still answers.
    assert len(http.get("/v1/audio/jobs", params={"limit": 100}).json()["data"]) == before
    assert http.get("/health").status_code == 200
