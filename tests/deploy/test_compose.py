"""compose.yaml: valid against the Compose Specification's schema, and true to the image.

The schema is the compose-spec project's compose-spec.json as check-jsonschema vendors it
(`--builtin-schema vendor.compose-spec`, with its licence and checksum in that package).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT
from tests.deploy.test_dockerfile import STAGES
from tests.deploy.tools import run, tool
from vocalis.config import Settings
from vocalis.deploy.systemd import stop_timeout

COMPOSE = ROOT / "compose.yaml"
SERVICES: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]


def check_jsonschema(path: Path) -> Any:
    validator = tool("check-jsonschema", "pip install check-jsonschema (in the `test` extra)")
    return run(validator, "--builtin-schema", "vendor.compose-spec", str(path))


def test_valid_against_the_compose_spec() -> None:
    result = check_jsonschema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok -- validation done", result.stdout


def test_the_schema_catches_a_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  vocalis:\n    image: vocalis:cpu\n    stop_grace: 45s\n")
    assert check_jsonschema(bad).returncode != 0


def test_one_service_a_target_one_profile_each() -> None:
    assert set(SERVICES) == {"vocalis-cpu", "vocalis-cuda"}
    for target in ("cpu", "cuda"):
        service = SERVICES[f"vocalis-{target}"]
        assert service["profiles"] == [target]
        assert service["build"] == {"context": ".", "target": target}
        assert target in STAGES
        assert service["restart"] == "unless-stopped"  # from the shared x-vocalis block


def test_the_gpu_is_reserved_for_cuda_only() -> None:
    (device,) = SERVICES["vocalis-cuda"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "deploy" not in SERVICES["vocalis-cpu"]


def test_stop_waits_for_the_drain_and_volumes_match_the_image() -> None:
    env = STAGES["cpu"].env()
    for service in SERVICES.values():
        assert service["stop_signal"] == "SIGTERM"
        assert service["stop_grace_period"] == f"{stop_timeout(Settings().shutdown_grace)}s"
        mounts = {volume.split(":")[1] for volume in service["volumes"]}
        assert mounts == {env["VOCALIS_MODELS_DIR"], env["VOCALIS_DATA_DIR"]}
        published = {port.rsplit(":", 1)[1] for port in service["ports"]}
        assert published == {str(Settings().port), "10300"}  # HTTP, and Wyoming when enabled
        assert "VOCALIS_WYOMING_URI" in service["environment"]
