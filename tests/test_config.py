"""Settings come from the environment and an optional TOML file; bad values are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from vocalis.config import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = Settings()
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.models_dir == tmp_path / "vocalis" / "models"
    assert settings.voices_path == tmp_path / "vocalis" / "voices"
    assert settings.max_upload_bytes == 500 * 1024 * 1024


def test_file_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "vocalis.toml"
    config.write_text('port = 9000\nmax_concurrent_jobs = 4\nvoice_map = { alloy = "af_sky" }\n')
    monkeypatch.setenv("VOCALIS_CONFIG_FILE", str(config))
    monkeypatch.setenv("VOCALIS_MAX_CONCURRENT_JOBS", "3")
    monkeypatch.setenv("VOCALIS_LOCAL_MODELS", '{"whisper-base": "/srv/whisper"}')
    settings = Settings()
    assert settings.port == 9000  # from the file
    assert settings.max_concurrent_jobs == 3  # the environment wins
    assert settings.voice_map == {"alloy": "af_sky"}
    assert settings.local_models == {"whisper-base": Path("/srv/whisper")}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VOCALIS_PORT", "0"),
        ("VOCALIS_MAX_CONCURRENT_JOBS", "0"),
        ("VOCALIS_MAX_UPLOAD_MB", "-1"),
        ("VOCALIS_STT_BACKEND", "whisper.cpp"),
        ("VOCALIS_DEVICE", "tpu"),
        ("VOCALIS_BEAM_SIZE", "50"),
    ],
)
def test_unsafe_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()
