"""Vocalis on Ray Serve: the same FastAPI app, one copy in each replica.

`serve run vocalis.deploy.ray:app`, `serve deploy deploy/ray/serve.yaml` or `vocalis
ray-serve` deploy it. Each replica builds its own app with `create_app`, from the
VOCALIS_* settings in its environment, so the app's lifespan runs inside the replica:
the model preload and the durable-jobs runner start before Serve routes to it, and stop
(running jobs back in the queue) when Serve stops it. Replicas on one host share one
VOCALIS_DATA_DIR: a job submitted to one is run by whichever claims it and can be read
through any.

Serve's model multiplexing routes a request whose `serve_multiplexed_model_id` header
names a Whisper model to a replica that holds it (`vocalis.deploy.multiplex`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ray
from ray import serve
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from vocalis.config import Settings
from vocalis.deploy.multiplex import HoldRoutedModel
from vocalis.ops.logs import configure as configure_logging
from vocalis.server.app import build_services, create_app

NAME = "vocalis"
# The Whisper models Serve counts as held by one replica; past them it forgets the least
# recently routed one. What stays in memory is the model pool's business
# (VOCALIS_MODEL_MEMORY_MB, VOCALIS_MODEL_IDLE_TIMEOUT), as on a plain server.
MODELS_PER_REPLICA = 3
# Requests one replica takes at once, open WebSockets included; more wait in the proxy
# or go to another replica. Vocalis' own job queue runs VOCALIS_MAX_CONCURRENT_JOBS of
# them and queues the rest.
MAX_ONGOING_REQUESTS = 16
# Autoscaling adds a replica when each has more than this many requests in progress:
# the default of two transcriptions or syntheses running at once.
TARGET_ONGOING_REQUESTS = 2
# As VOCALIS_SHUTDOWN_GRACE: what a replica's running requests get when Serve stops it.
GRACEFUL_SHUTDOWN_SECONDS = 30.0


class Replica:
    """One replica: a whole Vocalis app on its share of the node's CPUs."""

    def __init__(self) -> None:
        settings = replica_settings(Settings(), _assigned("CPU"))
        configure_logging(settings.log_format, settings.log_level)
        self.services = build_services(settings)
        self.replica = serve.get_replica_context().replica_id.unique_id

    def __serve_build_asgi_app__(self) -> ASGIApp:
        """Serve's hook for an app made by a factory; it then runs the app's lifespan."""
        app = create_app(self.services.settings, self.services)
        app.add_middleware(HoldRoutedModel, hold=self.hold, replica=self.replica)
        return app

    @serve.multiplexed(max_num_models_per_replica=MODELS_PER_REPLICA)  # type: ignore[untyped-decorator]
    async def hold(self, model_id: str) -> str:
        """Loads the routed Whisper model, so that Serve sends its requests here."""
        spec = self.services.stt.resolve(model_id)
        await run_in_threadpool(self.services.stt.pool.load, spec.id)
        return spec.id


# The class as Serve's deployment: its app comes from `__serve_build_asgi_app__`.
Vocalis: serve.Deployment = serve.deployment(
    name=NAME,
    ray_actor_options={"num_cpus": 1},
    max_ongoing_requests=MAX_ONGOING_REQUESTS,
    graceful_shutdown_timeout_s=GRACEFUL_SHUTDOWN_SECONDS,
)(serve.ingress()(Replica))


def replica_settings(settings: Settings, cpus: float | None) -> Settings:
    """A replica given N CPUs by Ray decodes on N threads, not on every core of its node
    (two replicas on one machine would each take all of it). Set VOCALIS_CPU_THREADS to
    choose otherwise."""
    if settings.cpu_threads or not cpus:
        return settings
    return settings.model_copy(update={"cpu_threads": max(1, int(cpus))})


def _assigned(resource: str) -> float | None:
    context: Any = ray.get_runtime_context()  # untyped in Ray
    value = context.get_assigned_resources().get(resource)
    return float(value) if value is not None else None


@dataclass(frozen=True)
class Scale:
    """How many replicas, and what each gets: `vocalis ray-serve`'s options."""

    replicas: int = 1
    # Above `replicas`: autoscale between the two on the requests in progress.
    max_replicas: int | None = None
    num_cpus: float = 1.0
    num_gpus: float = 0.0


def deployment_options(scale: Scale, env: dict[str, str]) -> dict[str, Any]:
    """Serve's options for the deployment; `env` reaches every replica wherever it runs."""
    actor: dict[str, Any] = {"num_cpus": scale.num_cpus, "num_gpus": scale.num_gpus}
    if env:
        actor["runtime_env"] = {"env_vars": env}
    options: dict[str, Any] = {"ray_actor_options": actor}
    if scale.max_replicas and scale.max_replicas > scale.replicas:
        options["autoscaling_config"] = {
            "min_replicas": scale.replicas,
            "max_replicas": scale.max_replicas,
            "target_ongoing_requests": TARGET_ONGOING_REQUESTS,
        }
    else:
        options["num_replicas"] = scale.replicas
    return options


def application(scale: Scale, env: dict[str, str]) -> serve.Application:
    return Vocalis.options(**deployment_options(scale, env)).bind()


# What `serve run vocalis.deploy.ray:app` and the Serve config's import_path deploy.
app = Vocalis.bind()
