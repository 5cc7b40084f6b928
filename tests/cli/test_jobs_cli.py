"""`vocalis jobs` run as a user would, against a real server process: submit a minute of
speech, follow it, cancel a queued job, wait for another, fetch results in any format, and
clear messages (exit status 1) for what cannot be done."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.batch.live import MODEL, JobsServer, jobs_server
from tests.cli.test_cli import vocalis
from tests.conftest import EVAL_DIR, references, wer
from tests.recordings import short

__all__ = ["jobs_server"]  # the session's jobs server, shared with tests/server/test_jobs_api.py
CUE = re.compile(r"^\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d$", re.MULTILINE)


def jobs(server: JobsServer, *args: str) -> tuple[int, str, str]:
    result = vocalis("jobs", *args, "--server", server.live.url)
    # rich wraps long lines on stderr: compare messages with the breaks undone.
    return result.returncode, result.stdout, " ".join(result.stderr.split())


@pytest.fixture(scope="module")
def minute(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    audio, reference, _ = short(EVAL_DIR)
    path = tmp_path_factory.mktemp("cli-jobs") / "minute.wav"
    path.write_bytes(audio)
    return path, reference


def test_submit_follow_cancel_and_fetch(jobs_server: JobsServer, minute: tuple[Path, str]) -> None:
    path, reference = minute
    jfk = str(EVAL_DIR / "jfk.wav")
    code, out, err = jobs(jobs_server, "submit", str(path), "--model", MODEL, "--format", "srt")
    assert code == 0, err
    first = out.strip()
    assert re.fullmatch(r"job_[0-9a-f]{24}", first), out
    # The runner takes one job at a time: this one waits behind the minute, and is cancelled.
    code, out, err = jobs(jobs_server, "submit", jfk, "--model", MODEL)
    second = out.strip()
    code, out, err = jobs(jobs_server, "cancel", second)
    assert (code, out) == (0, f"{second} cancelled\n"), err
    code, out, err = jobs(jobs_server, "status", first)
    assert code == 0 and re.fullmatch(
        rf"{first} (queued|running|completed) \d+/\d+ s \(\d+%\)\n", out
    )
    # --wait: queued behind the minute, then the transcript on stdout.
    code, out, err = jobs(jobs_server, "submit", jfk, "--model", MODEL, "--wait", "-f", "text")
    assert code == 0, err
    assert wer(references()["jfk.wav"][1], out) <= 0.1, out
    code, out, err = jobs(jobs_server, "status", first)
    assert code == 0 and re.fullmatch(rf"{first} completed (\d+)/\1 s \(100%\)\n", out), out
    # The job's own format by default, any other on request.
    code, srt, err = jobs(jobs_server, "result", first)
    assert code == 0 and len(CUE.findall(srt)) >= 5, srt
    code, text, err = jobs(jobs_server, "result", first, "--format", "text")
    assert code == 0 and wer(reference, text) <= 0.1, text  # measured 0.013
    code, out, err = jobs(jobs_server, "list", "--json", "--limit", "3")
    assert code == 0
    listed = [(j["id"], j["status"]) for j in json.loads(out)]
    assert listed[1:] == [(second, "cancelled"), (first, "completed")]


def test_what_cannot_be_done_says_why(jobs_server: JobsServer, tmp_path: Path) -> None:
    code, _, err = jobs(jobs_server, "status", "job_nope")
    assert code == 1 and "No job with id 'job_nope'" in err
    garbage = tmp_path / "notes.wav"
    garbage.write_text("not audio")
    code, _, err = jobs(jobs_server, "submit", str(garbage))
    assert code == 1 and "could not be decoded as audio" in err
    result = vocalis("jobs", "list", "--server", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach the server at http://127.0.0.1:9" in " ".join(result.stderr.split())
