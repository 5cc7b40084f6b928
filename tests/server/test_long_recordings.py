"""Recordings of ten and thirty minutes, end to end with the real model.

Every word kept (against plain faster-whisper on the same audio), segments a few seconds
long with timestamps across the whole recording, in every format, over HTTP, SSE and the
CLI; memory flat; a 3-s command answered promptly while a long job runs; a long job
stopped when its client goes.
"""

from __future__ import annotations

import io
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from faster_whisper import WhisperModel

from tests.conftest import (
    EVAL_DIR,
    LiveServer,
    installed_model,
    references,
    start_server,
    stop_server,
    wer,
)
from tests.recordings import RATE, long, ogg_opus, short, wav_bytes
from vocalis.audio.decode import decode

# No passage is lost: the recording's pauses are at most 1.5 s, so a longer stretch with
# no segment in it is speech that was dropped.
MAX_GAP_SECONDS = 5.0
COMMAND = "turn_on_the_living_room_lamp.wav"  # 3.0 s


@dataclass(frozen=True)
class Recording:
    upload: bytes
    samples: np.ndarray
    reference: str

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


@pytest.fixture(scope="module")
def ten_minutes() -> Recording:
    samples, reference = long(EVAL_DIR, 10)
    upload = ogg_opus(samples)
    # The plain library hears exactly what the server decodes.
    return Recording(upload, decode(io.BytesIO(upload), max_seconds=3600), reference)


@pytest.fixture(scope="module")
def plain_wer(ten_minutes: Recording) -> float:
    """Plain faster-whisper as a user would call it: beam 5, VAD, the whole array."""
    model = WhisperModel(str(installed_model("whisper-base")), compute_type="int8")
    segments, _ = model.transcribe(ten_minutes.samples, beam_size=5, vad_filter=True)
    return wer(ten_minutes.reference, "".join(s.text for s in segments))


Cue = tuple[float, float, str]


def check_segments(cues: list[Cue], seconds: float, max_gap: float = MAX_GAP_SECONDS) -> None:
    """A few seconds each, in order, across the whole recording, no passage missing."""
    lengths = [end - start for start, end, _ in cues]
    assert max(lengths) <= 30, max(lengths)
    assert statistics.median(lengths) <= 8, statistics.median(lengths)
    ends = [0.0] + [end for _, end, _ in cues]
    starts = [start for start, _, _ in cues] + [seconds]
    gaps = [b - a for a, b in zip(ends, starts, strict=True)]
    assert min(gaps) >= -0.05, "segments overlap or go back in time"
    assert max(gaps) <= max_gap, f"{max(gaps):.1f} s with no text"
    assert cues[-1][1] <= seconds + 0.5


def parse_cues(body: str) -> list[Cue]:
    """The cues of an SRT or WebVTT document."""
    stamp = r"(\d+):(\d\d):(\d\d)[,.](\d{3})"
    cues = []
    for block in re.split(r"\n\s*\n", body.strip()):
        match = re.search(f"{stamp} --> {stamp}", block)
        if match:
            h1, m1, s1, f1, h2, m2, s2, f2 = (int(g) for g in match.groups())
            text = block[match.end() :].strip()
            start = h1 * 3600 + m1 * 60 + s1 + f1 / 1000
            cues.append((start, h2 * 3600 + m2 * 60 + s2 + f2 / 1000, text))
    return cues


def cue_text(cues: list[Cue]) -> str:
    return " ".join(text for _, _, text in cues)


def test_ten_minutes_keep_every_word(
    http: httpx.Client, ten_minutes: Recording, plain_wer: float
) -> None:
    response = http.post(
        "/v1/audio/transcriptions",
        files={"file": ("ten.ogg", ten_minutes.upload, "audio/ogg")},
        data={"response_format": "verbose_json"},
        timeout=600,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["duration"] == pytest.approx(ten_minutes.seconds, abs=0.1)
    assert body["language"] == "en"
    assert wer(ten_minutes.reference, body["text"]) <= plain_wer + 0.01
    segments = body["segments"]
    assert [s["id"] for s in segments] == list(range(len(segments)))
    check_segments([(s["start"], s["end"], s["text"]) for s in segments], ten_minutes.seconds)


def test_ten_minutes_streamed_as_events(
    http: httpx.Client, ten_minutes: Recording, plain_wer: float
) -> None:
    events = []
    with http.stream(
        "POST",
        "/v1/audio/transcriptions",
        files={"file": ("ten.ogg", ten_minutes.upload, "audio/ogg")},
        data={"stream": "true"},
        timeout=600,
    ) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    deltas = [e for e in events if e["type"] == "transcript.text.delta"]
    done = events[-1]
    assert done["type"] == "transcript.text.done"
    assert len(deltas) > 50  # segment by segment, not one block at the end
    assert "".join(e["delta"] for e in deltas).strip() == done["text"]
    assert wer(ten_minutes.reference, done["text"]) <= plain_wer + 0.01
    assert done["usage"]["input_tokens"] == pytest.approx(ten_minutes.seconds * 50, abs=50)


def test_ten_minutes_through_the_cli(
    tmp_path: Path, ten_minutes: Recording, plain_wer: float
) -> None:
    path = tmp_path / "ten.ogg"
    path.write_bytes(ten_minutes.upload)
    result = subprocess.run(
        [sys.executable, "-m", "vocalis", "transcribe", str(path), "--format", "srt"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    cues = parse_cues(result.stdout)
    assert wer(ten_minutes.reference, cue_text(cues)) <= plain_wer + 0.01
    check_segments(cues, ten_minutes.seconds)


@pytest.mark.parametrize("fmt", ["srt", "vtt", "text"])
def test_a_minute_in_each_text_format(http: httpx.Client, fmt: str) -> None:
    wav, reference, seconds = short(EVAL_DIR)
    response = http.post(
        "/v1/audio/transcriptions",
        files={"file": ("minute.wav", wav)},
        data={"response_format": fmt},
    )
    assert response.status_code == 200, response.text
    if fmt == "text":
        assert wer(reference, response.text) < 0.05
        return
    cues = parse_cues(response.text)
    assert len(cues) >= 5
    assert wer(reference, cue_text(cues)) < 0.05
    check_segments(cues, seconds)


# --- a server of its own, so its peak memory is its own -------------------------------


@pytest.fixture(scope="module")
def long_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("long-server"),
        VOCALIS_PRELOAD="true",
        VOCALIS_MAX_UPLOAD_MB="200",
        VOCALIS_MAX_CONCURRENT_JOBS="2",
    )
    yield live
    stop_server(live)


def command(client: httpx.Client) -> tuple[float, str]:
    started = time.monotonic()
    with (EVAL_DIR / COMMAND).open("rb") as f:
        response = client.post("/v1/audio/transcriptions", files={"file": (COMMAND, f)})
    assert response.status_code == 200, response.text
    return time.monotonic() - started, response.json()["text"]


def test_thirty_minutes_flat_memory_and_short_requests_first(long_server: LiveServer) -> None:
    samples, reference = long(EVAL_DIR, 30, seed=30)
    upload = wav_bytes(samples)
    command_text = references()[COMMAND][1]
    with long_server.client(timeout=900) as client, ThreadPoolExecutor(2) as pool:
        # Warm: both of the model's workers have run (commands during the long job use the
        # second one).
        list(pool.map(lambda _: command(client), range(2)))
        idle = statistics.median(command(client)[0] for _ in range(3))
        before = long_server.peak_memory_mib()

        pending: Future[httpx.Response] = pool.submit(
            client.post,
            "/v1/audio/transcriptions",
            files={"file": ("thirty.wav", upload, "audio/wav")},
            data={"response_format": "srt"},
        )
        long_server.wait_for_log(r'"event": "window".*"window": 1')
        during = [command(client) for _ in range(3)]
        response = pending.result()

    assert response.status_code == 200, response.text
    grown = long_server.peak_memory_mib() - before
    assert grown <= 200, f"peak memory grew by {grown:.0f} MiB"
    for seconds, text in during:
        assert wer(command_text, text) < 0.2
        assert seconds <= idle + 1.5, f"{seconds:.2f} s while idle took {idle:.2f} s"
    cues = parse_cues(response.text)
    assert wer(reference, cue_text(cues)) < 0.05
    # Whisper now and then jumps a passage on 30 min (25.5 s with no segment over it in one
    # run); stretches from 8 s on are decoded again, so none as long is left.
    check_segments(cues, len(samples) / RATE, max_gap=8)
    windows = re.findall(r'"event": "window"', long_server.log_text())
    assert len(windows) >= 14  # progress logged window by window


def test_a_long_job_stops_when_its_client_goes(
    long_server: LiveServer, ten_minutes: Recording
) -> None:
    logged = long_server.log_text().count('"event": "cancelled"')
    windows = long_server.log_text().count('"event": "window"')
    files = {"file": ("ten.ogg", ten_minutes.upload, "audio/ogg")}
    with long_server.hanging_up("/v1/audio/transcriptions", files):
        long_server.wait_for_log('"event": "window"', count=windows + 1)
    # Gone after its first window: the job stops at its next step and never finishes.
    long_server.wait_for_log('"event": "cancelled"', 30, count=logged + 1)
    time.sleep(1)
    assert not re.search(r'"audio_seconds": 600\.', long_server.log_text())
    with long_server.client() as client:
        assert wer(references()[COMMAND][1], command(client)[1]) < 0.2
