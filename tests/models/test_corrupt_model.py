"""A damaged model file is refused at load with a clear message; the server goes on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import EVAL_DIR, installed_model
from vocalis.config import Settings
from vocalis.errors import ModelLoadFailed, ModelNotFound
from vocalis.models.pool import ModelPool
from vocalis.server.app import create_app


def test_an_engine_failure_becomes_a_clear_error_and_the_next_load_tries_again() -> None:
    attempts: list[str] = []

    def loader(key: str) -> object:
        attempts.append(key)
        if len(attempts) == 1:
            raise RuntimeError("Unsupported model binary version.\nmore detail")
        return object()

    pool: ModelPool[object] = ModelPool(loader)
    with pytest.raises(ModelLoadFailed) as failed:
        pool.load("m")
    assert failed.value.message.startswith("The model 'm' could not be loaded: Unsupported")
    assert "more detail" not in failed.value.message
    assert pool.load("m") is not None and attempts == ["m", "m"]


def test_the_servers_own_errors_pass_through() -> None:
    def loader(key: str) -> object:
        raise ModelNotFound("not here")

    with pytest.raises(ModelNotFound):
        ModelPool(loader).load("m")


def test_a_corrupt_whisper_file_is_refused_and_other_models_still_serve(tmp_path: Path) -> None:
    damaged = tmp_path / "tiny"
    shutil.copytree(installed_model("whisper-tiny.en"), damaged)
    size = (damaged / "model.bin").stat().st_size
    (damaged / "model.bin").write_bytes(b"\x13\x37" * (size // 2))
    settings = Settings(local_models={"whisper-tiny.en": damaged}, allow_download=False)
    audio = (EVAL_DIR / "jfk.wav").read_bytes()
    with TestClient(create_app(settings), raise_server_exceptions=False) as http:
        for _ in range(2):  # refused each time, never half-loaded
            refused = http.post(
                "/v1/audio/transcriptions",
                files={"file": ("jfk.wav", audio)},
                data={"model": "whisper-tiny.en"},
            )
            assert refused.status_code == 500
            error = refused.json()["error"]
            assert error["code"] == "model_load_failed" and error["param"] == "model"
            assert "'whisper-tiny.en' could not be loaded" in error["message"]
            assert "vocalis models pull" in error["message"]
        served = http.post(
            "/v1/audio/transcriptions",
            files={"file": ("jfk.wav", audio)},
            data={"model": "whisper-base"},
        )
        assert "country" in served.json()["text"]
