"""The Ray Serve deployment's files and decisions, without a cluster: the Serve config and
the KubeRay manifest valid against Serve's own schema and equal where they must be, the
options `vocalis ray-serve` gives Serve, and a replica's share of the CPUs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.deploy.ray_support import quietly
from vocalis.config import Settings

SERVE_CONFIG = ROOT / "deploy" / "ray" / "serve.yaml"
RAYSERVICE = ROOT / "deploy" / "kubernetes" / "ray" / "rayservice.yaml"

schema = quietly("ray.serve.schema")
deploy = quietly("vocalis.deploy.ray")
cli_ray = quietly("vocalis.cli_ray")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rayservice() -> dict[str, Any]:
    (service,) = [
        d for d in yaml.safe_load_all(RAYSERVICE.read_text()) if d["kind"] == "RayService"
    ]
    found: dict[str, Any] = service
    return found


def test_the_serve_config_is_valid_for_serve() -> None:
    config = schema.ServeDeploySchema.model_validate(load(SERVE_CONFIG))
    (application,) = config.applications
    assert application.import_path == "vocalis.deploy.ray:app"
    (deployment,) = application.deployments
    assert deployment.name == deploy.Vocalis.name == deploy.NAME
    assert deployment.autoscaling_config["target_ongoing_requests"] == 2
    assert (deployment.ray_actor_options.num_cpus, deployment.ray_actor_options.num_gpus) == (2, 0)


def test_the_import_path_names_the_application() -> None:
    module, _, name = load(SERVE_CONFIG)["applications"][0]["import_path"].partition(":")
    assert getattr(quietly(module), name) is deploy.app
    assert isinstance(deploy.app, quietly("ray.serve").Application)


def test_kuberay_runs_the_same_serve_config() -> None:
    service = rayservice()
    assert service["apiVersion"] == "ray.io/v1"
    embedded = yaml.safe_load(service["spec"]["serveConfigV2"])
    schema.ServeDeploySchema.model_validate(embedded)
    local = load(SERVE_CONFIG)
    assert embedded["applications"] == local["applications"]
    assert embedded["proxy_location"] == local["proxy_location"]
    # The proxy's address is the pod's, set by the cluster, not the loopback of the file.
    assert "http_options" not in embedded


def test_kuberay_keeps_the_replicas_and_their_jobs_in_one_pod() -> None:
    cluster = rayservice()["spec"]["rayClusterConfig"]
    assert cluster["rayVersion"].startswith("2.")
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    (workers,) = cluster["workerGroupSpecs"]
    assert workers["replicas"] == workers["maxReplicas"] == 1
    (container,) = workers["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    (mount,) = container["volumeMounts"]
    assert env["VOCALIS_DATA_DIR"] == mount["mountPath"]
    # Room for the most replicas autoscaling may start.
    deployment = yaml.safe_load(rayservice()["spec"]["serveConfigV2"])["applications"][0]
    per_replica = deployment["deployments"][0]["ray_actor_options"]["num_cpus"]
    most = deployment["deployments"][0]["autoscaling_config"]["max_replicas"]
    assert int(container["resources"]["requests"]["cpu"]) >= per_replica * most


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (
            {"replicas": 2},
            {"num_replicas": 2, "ray_actor_options": {"num_cpus": 1.0, "num_gpus": 0.0}},
        ),
        (
            {"replicas": 1, "max_replicas": 4, "num_cpus": 2, "num_gpus": 0.5},
            {
                "autoscaling_config": {
                    "min_replicas": 1,
                    "max_replicas": 4,
                    "target_ongoing_requests": 2,
                },
                "ray_actor_options": {"num_cpus": 2, "num_gpus": 0.5},
            },
        ),
        # A maximum that is not above the start is a fixed count.
        ({"replicas": 3, "max_replicas": 3}, {"num_replicas": 3}),
    ],
)
def test_the_scale_becomes_serves_options(scale: dict[str, Any], expected: dict[str, Any]) -> None:
    options = deploy.deployment_options(deploy.Scale(**scale), {})
    assert options | expected == options


def test_the_environment_reaches_every_replica() -> None:
    env = {"VOCALIS_DEFAULT_STT_MODEL": "whisper-tiny.en"}
    options = deploy.deployment_options(deploy.Scale(), env)
    assert options["ray_actor_options"]["runtime_env"] == {"env_vars": env}
    chosen = cli_ray.passed_on(
        {"VOCALIS_DATA_DIR": "/d", "HF_TOKEN": "t", "HOME": "/root", "RAY_ADDRESS": "x"}
    )
    assert chosen == {"VOCALIS_DATA_DIR": "/d", "HF_TOKEN": "t"}


def test_a_replica_decodes_on_the_cpus_ray_gave_it() -> None:
    assert deploy.replica_settings(Settings(), 2.0).cpu_threads == 2
    assert deploy.replica_settings(Settings(), 0.5).cpu_threads == 1
    assert deploy.replica_settings(Settings(), None).cpu_threads == 0  # every core
    assert deploy.replica_settings(Settings(cpu_threads=4), 2.0).cpu_threads == 4  # as set


def test_a_cluster_of_its_own_or_the_one_given() -> None:
    # "local": always a new cluster, never one named by a stale file in Ray's temp dir.
    assert cli_ray.init_options(None) == {"address": "local", "include_dashboard": False}
    assert cli_ray.init_options("ray://head:10001") == {"address": "ray://head:10001"}
