"""`vocalis ray-serve`: replicas of the whole server behind Ray Serve's HTTP proxy.

Alone, it starts a single-node Ray cluster of its own on this machine, deploys, and on
SIGTERM or Ctrl+C shuts down Serve and that cluster: no process it started is left. With
RAY_ADDRESS it joins that cluster instead, and on the signal removes only its own
application, leaving the cluster to whoever runs it. Ray is imported only here, and
only when the command runs (extra `ray`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from rich.console import Console

APP_NAME = "vocalis"
MISSING = "Ray Serve is not installed: pip install 'vocalis[ray]'."
# Every Ray process of a cluster started here keeps to the loopback: without this Ray
# resolves 127.0.0.1 to the machine's other address and announces that. Ray reads it when
# it is imported, and the processes it starts inherit it.
LOOPBACK_ONLY = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
QUIET = {"RAY_USAGE_STATS_ENABLED": "0"}
# What the replicas need from this environment wherever they run.
PASSED_ON = ("VOCALIS_", "HF_TOKEN", "MALLOC_")
FORCED_EXIT_STATUS = 1
# What Serve gets to stop its replicas (each has 30 s for its requests) before Ray is
# stopped regardless: a cluster whose processes were signalled too can wedge Serve.
SERVE_SHUTDOWN_SECONDS = 60.0
err = Console(stderr=True)


def ray_serve(
    replicas: Annotated[int, typer.Option(min=1, help="Replicas to start with.")] = 1,
    max_replicas: Annotated[
        int | None,
        typer.Option(help="Autoscale up to this many on the requests in progress."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address of Serve's HTTP proxy.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of Serve's HTTP proxy.")] = 8000,
    num_cpus: Annotated[float, typer.Option(min=0, help="CPUs per replica.")] = 1.0,
    num_gpus: Annotated[float, typer.Option(min=0, help="GPUs per replica.")] = 0.0,
) -> None:
    """Serve on Ray Serve: a Ray cluster of its own, or the one at RAY_ADDRESS."""
    address = os.environ.get("RAY_ADDRESS") or None
    for name, value in {**QUIET, **({} if address else LOOPBACK_ONLY)}.items():
        os.environ.setdefault(name, value)
    ray, serve, deploy = _import_ray()
    scale = deploy.Scale(replicas, max_replicas, num_cpus, num_gpus)
    stop = threading.Event()
    try:
        ray.init(**init_options(address))
        _on_signals(stop)  # after ray.init, which sets a SIGTERM handler of its own
        serve.start(http_options={"host": host, "port": port})
        serve.run(deploy.application(scale, passed_on(os.environ)), name=APP_NAME)
        cluster = ray.get_runtime_context().gcs_address
        err.print(f"Vocalis on Ray Serve at http://{host}:{port} ({_scale_text(scale)})")
        err.print(f"Ray cluster at {cluster}: ray.init(address=...) joins it")
        stop.wait()
        err.print("stopping: Serve's replicas finish their requests")
    except RuntimeError as exc:  # Ray or Serve could not start or deploy: it says why
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        _shut_down(ray, serve, joined=address is not None)


def init_options(address: str | None) -> dict[str, Any]:
    """A new single-node cluster ("local", never a stale one found in Ray's temp dir), or
    the given one; the dashboard only where we start the cluster, and then off."""
    if address:
        return {"address": address}
    return {"address": "local", "include_dashboard": False}


def passed_on(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k.startswith(PASSED_ON)}


def _import_ray() -> tuple[Any, Any, Any]:
    try:
        import ray
        from ray import serve

        from vocalis.deploy import ray as deploy
    except ImportError as exc:
        err.print(f"[red]error:[/red] {MISSING} ({exc})")
        raise typer.Exit(1) from exc
    return ray, serve, deploy


def _on_signals(stop: threading.Event) -> None:
    """The first signal stops gracefully; a second ends at once every process this one
    started (Ray's agents outlive a driver that merely exits)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            for pid in descendants(os.getpid()):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            os._exit(FORCED_EXIT_STATUS)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)


def descendants(root: int) -> set[int]:
    """The processes below `root`, from /proc (none where there is no /proc)."""
    children: dict[int, set[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, set()).add(int(stat.parent.name))
    found: set[int] = set()
    frontier = children.get(root, set())
    while frontier:
        found |= frontier
        frontier = set().union(*(children.get(pid, set()) for pid in frontier)) - found
    return found


def _shut_down(ray: Any, serve: Any, joined: bool) -> None:
    if not ray.is_initialized():
        return
    # Ours only, when joined: Serve and the cluster are someone else's. Else the
    # controller, the proxies and every replica.
    stop_serve = (lambda: serve.delete(APP_NAME)) if joined else serve.shutdown
    worker = threading.Thread(target=stop_serve, daemon=True)
    worker.start()
    worker.join(SERVE_SHUTDOWN_SECONDS)
    if worker.is_alive():
        err.print(f"Serve did not stop within {SERVE_SHUTDOWN_SECONDS:g} s: stopping Ray")
    ray.shutdown()  # and, when we started it, the cluster's processes


def _scale_text(scale: Any) -> str:
    if scale.max_replicas and scale.max_replicas > scale.replicas:
        return f"{scale.replicas} to {scale.max_replicas} replicas"
    return f"{scale.replicas} replica{'s' if scale.replicas > 1 else ''}"
